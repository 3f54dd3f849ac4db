"""Export, forgetting a person, and retention, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from sqlmodel import select

from handlers import records
from handlers.people import by_handle
from storage.db import session_scope
from storage.models import (
    Address,
    Commitment,
    CommitmentEvent,
    Initiative,
    Ledger,
    Person,
    RoleAssignment,
)
from tests.integration.test_conversation import plan_move, say


def test_export_has_every_table_with_handles(liaison):
    plan_move(liaison)
    say(liaison, "sam", "commitments promise 1")
    with session_scope(liaison.engine) as session:
        tables = records.export_tables(session)
    assert set(tables) == {"initiatives", "rasci", "commitments", "history"}
    assert tables["initiatives"][0]["title"] == "Move to the Elm Street building"
    assert tables["commitments"][0]["owner"] == "sam"
    assert tables["commitments"][0]["requester"] == "pat"
    assert [h["act"] for h in tables["history"] if h["commitment_id"] == 1] == [
        "request",
        "promise",
    ]
    assert {"R", "A", "S", "I"} <= {r["letter"] for r in tables["rasci"]}
    rows = list(csv.DictReader(io.StringIO(records.to_csv(tables["commitments"]))))
    assert len(rows) == 8 and rows[0]["state"] == "promised"
    assert json.loads(records.to_json(tables))["initiatives"][0]["unit"] == "finance"
    assert records.to_csv([]) == "\r\n"  # an empty table is still a valid file


def test_an_empty_table_still_has_its_header_row(liaison):
    with session_scope(liaison.engine) as session:
        tables = records.export_tables(session)
    assert tables["commitments"] == []
    text = records.to_csv(tables["commitments"], records.columns_of("commitments"))
    assert text.splitlines() == [",".join(records.columns_of("commitments"))]
    assert text.startswith("id,what,owner,requester,")


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_a_cell_that_a_spreadsheet_would_run_is_neutralised(liaison, start):
    """OWASP's CSV injection rule: text cells starting with a formula character become text."""
    evil = f'{start}HYPERLINK("https://evil.example","click")'
    say(liaison, "pat", f"commitments ask @sam to {evil} by friday")
    with session_scope(liaison.engine) as session:
        [row] = records.export_tables(session)["commitments"]
    assert row["what"].startswith(start)  # stored as said; only the export neutralises it
    [read] = list(csv.DictReader(io.StringIO(records.to_csv([row]))))
    assert read["what"] == "'" + row["what"]
    assert read["id"] == str(row["id"])  # numbers are left alone


def test_every_formula_start_is_neutralised_and_nothing_else():
    rows = [{"note": start + "1+1"} for start in records.FORMULA_STARTS]
    rows.append({"note": "plain text, = inside"})
    read = list(csv.DictReader(io.StringIO(records.to_csv(rows), newline="")))
    assert [r["note"][0] for r in read[:-1]] == ["'"] * len(records.FORMULA_STARTS)
    assert read[-1]["note"] == "plain text, = inside"


def test_forgetting_a_person_keeps_others_records_readable(liaison):
    plan_move(liaison)
    with session_scope(liaison.engine) as session:
        pat = by_handle(session, "pat")
        done = records.forget(session, pat)
        pat_id = pat.id
    assert done.handle == "pat" and done.excerpts == 1 and done.addresses >= 1
    with session_scope(liaison.engine) as session:
        person = session.get(Person, pat_id)
        assert (person.handle, person.display_name, person.email) == (
            f"forgotten-{pat_id}",
            "a former colleague",
            None,
        )
        assert session.exec(select(Address).where(Address.person_id == pat_id)).all() == []
        initiative = session.exec(select(Initiative)).one()
        assert initiative.source_excerpt is None and initiative.source_link is None
        assert initiative.title == "Move to the Elm Street building"  # the shared record stays
        assert len(session.exec(select(Commitment)).all()) == 8
    mine = say(liaison, "sam", "commitments")[0].reply
    assert any(f"@forgotten-{pat_id}" in item.text for item in mine.items)


def test_retention_closes_finished_initiatives_then_deletes_old_ones(liaison, clock):
    plan_move(liaison)
    for cid in range(1, 9):
        say(liaison, "pat", f"commitments cancel {cid}")
    with session_scope(liaison.engine) as session:
        early = records.apply_retention(session, 730, clock.now)
        assert early.initiatives_closed == 0  # the target date has not passed yet
        later = clock.now + dt.timedelta(days=400)
        assert records.apply_retention(session, 730, later).initiatives_closed == 1
        assert session.exec(select(Initiative)).one().status == "done"
    with session_scope(liaison.engine) as session:
        much_later = clock.now + dt.timedelta(days=800)
        result = records.apply_retention(session, 730, much_later)
        assert (result.initiatives_deleted, result.commitments_deleted) == (1, 8)
    with session_scope(liaison.engine) as session:
        for model in (Initiative, Commitment, CommitmentEvent, RoleAssignment):
            assert session.exec(select(model)).all() == []
        assert session.exec(select(Ledger).where(Ledger.kind == "offer")).all()  # offers stay
