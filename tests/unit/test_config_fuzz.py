"""Bad input for the organisation TOML and the playbooks: property-based tests.

An admin edits these files by hand, so every mistake must stop the bot with a located sentence,
never a traceback. For arbitrary text, for TOML that parses but has the wrong shape, for
playbook files in a `playbook_dir` and for inline `[playbooks.<kind>]` overrides:

- the only exception is `handlers.org.ConfigError`;
- its message names the file that holds the mistake;
- its line, when it has one, is a line of that file.

Valid generated configurations load, and their units, people and liaisons come back as written,
in the organisation and in the database.

Gaps found here were fixed and keep a test of their own at the end; the generators steer clear
of those inputs so that the properties test everything else.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tempfile
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, SQLModel, create_engine, select

from handlers.org import WEEKDAYS, ConfigError, Organisation, load_organisation
from handlers.people import sync_organisation
from handlers.playbooks import BUILT_IN_KINDS, load_catalogue
from storage.models import Person, Unit

FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
ZONES = ("UTC", "America/Chicago", "America/Denver", "Europe/Paris", "Asia/Tokyo")
PARTIES = ("business", "it", "vendor")


# --- writing TOML ------------------------------------------------------------------------


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _string(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(document: dict[str, Any], path: tuple[str, ...] = ()) -> str:
    """A document as TOML: plain keys first, then one [table] per nested dict."""
    lines = []
    if path:
        lines.append("[" + ".".join(_key(p) for p in path) + "]")
    tables = []
    for key, value in document.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    text = "\n".join(lines) + "\n" if lines else ""
    for key, value in tables:
        text += "\n" + to_toml(value, (*path, key))
    return text


# --- strategies --------------------------------------------------------------------------


def _is_zone_folder(text: str) -> bool:
    """Names like 'America' or 'US' that zoneinfo opens as a folder (tested on their own below)."""
    try:
        zoneinfo.ZoneInfo(text)
    except OSError:
        return True
    except Exception:
        return False
    return False


# U+0085, U+2028 and U+2029 are left out: TOML allows them in strings, and the product then
# counts lines differently from an editor (tested on their own below).
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x85\u2028\u2029")
_text = st.text(_chars, max_size=40)
_safe_text = _text.filter(lambda s: not _is_zone_folder(s))
_scalar = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    _safe_text,
    st.dates(),
)
JUNK = st.recursive(
    _scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(_safe_text, inner, max_size=3),
    ),
    max_leaves=6,
)
_handle = st.from_regex(r"[a-z][a-z0-9]{0,5}(?:[._-][a-z0-9]{1,3})?", fullmatch=True)
_unit_key = st.from_regex(r"[a-z][a-z0-9_-]{0,7}", fullmatch=True)
_kind = st.from_regex(r"[a-z][a-z0-9_]{1,12}", fullmatch=True)
_word = st.from_regex(r"[a-z]{3,9}", fullmatch=True)


@st.composite
def valid_orgs(draw) -> dict[str, Any]:
    """A correct organisation file, as a dict."""
    handles = draw(st.lists(_handle, min_size=1, max_size=5, unique=True))
    people = {}
    for handle in handles:
        person: dict[str, Any] = {"name": draw(_text.filter(str.strip))}
        if draw(st.booleans()):
            person["email"] = f"{handle}@example.org"
        if draw(st.booleans()):
            person["timezone"] = draw(st.sampled_from(ZONES))
        people[handle] = person
    keys = draw(st.lists(_unit_key, max_size=4, unique=True))
    units = {}
    for number, key in enumerate(keys):
        unit: dict[str, Any] = {"name": draw(_text.filter(str.strip))}
        for role in ("lead", "liaison"):
            if draw(st.booleans()):
                handle = draw(st.sampled_from(handles))
                # People may be named with an @ and in capitals; the file keeps them lowercase.
                unit[role] = draw(st.sampled_from([handle, f"@{handle}", handle.upper()]))
        unit["channels"] = [f"#{key}", f"T{number}.chat"][: draw(st.integers(0, 2))]
        if draw(st.booleans()):
            unit["timezone"] = draw(st.sampled_from(ZONES))
        unit["cycle_months"] = draw(st.lists(st.integers(1, 12), min_size=1, max_size=3))
        units[key] = unit
    days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True))
    return {
        "organisation": {
            "name": draw(_text),
            "timezone": draw(st.sampled_from(ZONES)),
            "admins": draw(st.lists(st.sampled_from(handles), max_size=2, unique=True)),
            "business_days": days,
        },
        "thresholds": {
            "stale_days": draw(st.integers(1, 365)),
            "unanswered_business_days": draw(st.integers(1, 60)),
            "nudge_hour": draw(st.integers(0, 23)),
        },
        "schedule": {"enabled": draw(st.booleans()), "sweep_minutes": draw(st.integers(1, 1440))},
        "people": people,
        "units": units,
    }


@st.composite
def valid_playbooks(draw, kind: str | None = None) -> dict[str, Any]:
    """A correct playbook file, as a dict."""
    roles = []
    for key in draw(st.lists(_word, min_size=1, max_size=3, unique=True)):
        role: dict[str, Any] = {"key": key, "title": draw(_text.filter(str.strip))}
        role["responsible"] = draw(st.sampled_from(PARTIES))
        role["accountable"] = draw(st.sampled_from(PARTIES))
        role["consulted"] = draw(st.lists(st.sampled_from(PARTIES), max_size=2))
        role["lead_days"] = draw(st.integers(0, 730))
        role["sensitive"] = draw(st.booleans())
        roles.append(role)
    book: dict[str, Any] = {
        "kind": kind or draw(_kind),
        "title": draw(_text.filter(str.strip)),
        "summary": draw(_text),
        "offer": draw(_text),
        "questions": [
            {"key": key, "prompt": draw(_text)}
            for key in draw(st.lists(_word, max_size=2, unique=True))
        ],
        "roles": roles,
    }
    if draw(st.booleans()):
        book["signal"] = {
            "actions": draw(st.lists(_word, max_size=2)),
            "objects": draw(st.lists(_word, min_size=1, max_size=3)),
        }
    return book


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every key path in nested dicts and lists, to pick one to break."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _containers(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    if isinstance(node, dict):
        yield prefix
        for key, value in node.items():
            yield from _containers(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _containers(value, (*prefix, index))


def _at(node: Any, path: tuple) -> Any:
    for step in path:
        node = node[step]
    return node


@st.composite
def broken(draw, documents: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A correct document with one to three mistakes: a wrong value, a missing key, an
    unknown key, a reference to someone who does not exist, or a list where a table was."""
    document = draw(documents)
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["replace", "delete", "add", "ghost", "swap"]))
        paths = list(_paths(document))
        if how == "add" or not paths:
            container = _at(document, draw(st.sampled_from(list(_containers(document)))))
            container[draw(_safe_text)] = draw(JUNK)
            continue
        path = draw(st.sampled_from(paths))
        parent, last = _at(document, path[:-1]), path[-1]
        if how == "replace":
            parent[last] = draw(JUNK)
        elif how == "delete":
            del parent[last]
        elif how == "ghost":
            parent[last] = draw(st.sampled_from(["ghost", "@nobody", "", "Bad Handle!"]))
        else:
            parent[last] = [parent[last]] if not isinstance(parent[last], list) else {}
    return document


@contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="liaison-config-") as name:
        yield Path(name)


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def load_all(config: Path) -> Organisation:
    """What the bot does at start: the organisation, then its playbook catalogue."""
    org = load_organisation(config)
    load_catalogue(org)
    return org


def assert_located(exc: ConfigError, path: Path) -> None:
    """The message names the file, and its line is one of the file's lines."""
    assert exc.source == str(path), (exc.source, path)
    assert str(path) in str(exc)
    assert exc.problem and str(exc).endswith(exc.problem)
    if exc.line is not None:
        lines = path.read_bytes().count(b"\n") + 1
        assert 1 <= exc.line <= lines, f"line {exc.line} of a {lines}-line file: {exc}"


def expect_ok_or_located(config: Path, culprit: Path | None = None) -> Organisation | None:
    """Load; any failure must be a ConfigError located in `culprit` (default: the config)."""
    try:
        org = load_all(config)
    except ConfigError as exc:
        event("refused with a ConfigError")
        assert_located(exc, culprit or config)
        return None
    event("loaded")
    return org


# --- the organisation file ---------------------------------------------------------------


@FUZZ
@given(text=st.text(_chars, max_size=300))
def test_arbitrary_text_as_the_organisation_file(text):
    with folder() as tmp:
        expect_ok_or_located(_write(tmp / "liaison.toml", text))


_HEADERS = st.sampled_from(
    [
        "[organisation]",
        "[thresholds]",
        "[schedule]",
        "[people.pat]",
        "[people.sam]",
        "[units.finance]",
        "[playbooks.office_move]",
        "[[units]]",
        "[organisation.admins]",
        "[units.finance.lead]",
    ]
)
_KEYS = st.sampled_from(
    [
        "name",
        "timezone",
        "admins",
        "business_days",
        "playbook_dir",
        "stale_days",
        "nudge_hour",
        "sweep_minutes",
        "enabled",
        "lead",
        "liaison",
        "channels",
        "cycle_months",
        "email",
        "roles",
        "signal",
        "kind",
        "title",
        "questions",
    ]
)
_TOKENS = st.one_of(
    st.sampled_from(['"pat"', '"sam"', '"ghost"', "[]", "{}", "[1, 2]", '["mon"]', "true"]),
    st.sampled_from(['"America/Chicago"', '"Mars/Olympus"', "-1", "0", "1e9", "nan", "1979-05-27"]),
    st.sampled_from(['"', "[", "{", "=", "'''", '"""', "# a comment"]),
    st.integers().map(str),
    _safe_text.map(_string),
)
_LINES = st.one_of(
    _HEADERS,
    st.builds(lambda k, v: f"{k} = {v}", _KEYS, _TOKENS),
    st.builds(lambda k, v, w: f"{k} = [{v}, {w}]", _KEYS, _TOKENS, _TOKENS),
    st.builds(lambda k, v: f"{k}.{v} = 1", _KEYS, _KEYS),
    _text.map(lambda t: "# " + t),
)


@FUZZ
@given(lines=st.lists(_LINES, max_size=14), newline=st.sampled_from(["\n", "\r\n"]))
def test_toml_like_lines_as_the_organisation_file(lines, newline):
    with folder() as tmp:
        expect_ok_or_located(_write(tmp / "liaison.toml", newline.join(lines) + newline))


@FUZZ
@given(document=broken(valid_orgs()))
def test_structured_but_wrong_organisation_files(document):
    with folder() as tmp:
        expect_ok_or_located(_write(tmp / "liaison.toml", to_toml(document)))


# --- playbooks ---------------------------------------------------------------------------


def _with_playbook_dir(tmp: Path, playbook_text: str, name: str = "custom.toml") -> Path:
    (tmp / "playbooks").mkdir()
    playbook = _write(tmp / "playbooks" / name, playbook_text)
    _write(tmp / "liaison.toml", '[organisation]\nplaybook_dir = "playbooks"\n')
    return playbook


@FUZZ
@given(text=st.text(_chars, max_size=300))
def test_arbitrary_text_as_a_playbook_file(text):
    with folder() as tmp:
        playbook = _with_playbook_dir(tmp, text)
        expect_ok_or_located(tmp / "liaison.toml", culprit=playbook)


@FUZZ
@given(
    document=broken(valid_playbooks()),
    name=st.sampled_from(["custom.toml", "office_move.toml", "Not A Kind.toml"]),
)
def test_structured_but_wrong_playbook_files(document, name):
    with folder() as tmp:
        playbook = _with_playbook_dir(tmp, to_toml(document), name)
        expect_ok_or_located(tmp / "liaison.toml", culprit=playbook)


@FUZZ
@given(document=valid_playbooks())
def test_valid_playbook_files_join_the_catalogue(document):
    with folder() as tmp:
        _with_playbook_dir(tmp, to_toml(document))
        catalogue = load_catalogue(load_organisation(tmp / "liaison.toml"))
    kind = document["kind"]
    assert set(BUILT_IN_KINDS) <= set(catalogue)
    assert catalogue[kind].title == document["title"]
    assert [r.key for r in catalogue[kind].roles] == [r["key"] for r in document["roles"]]


@FUZZ
@given(
    override=st.one_of(
        broken(valid_playbooks(kind="office_move")).map(
            lambda d: {k: v for k, v in d.items() if k != "kind"}
        ),
        st.dictionaries(_KEYS, JUNK, max_size=4),
    ),
    kind=st.sampled_from(["office_move", "software_purchase", "grant_application", "x"]),
)
def test_inline_playbook_overrides(override, kind):
    document = {"organisation": {"name": "Riverton"}, "playbooks": {kind: override}}
    with folder() as tmp:
        org = expect_ok_or_located(_write(tmp / "liaison.toml", to_toml(document)))
    if org is not None and isinstance(override.get("title"), str) and kind in BUILT_IN_KINDS:
        assert org.playbook_overrides[kind]["title"] == override["title"]


# --- valid configurations round-trip -----------------------------------------------------


def _normal(value: str | None) -> str | None:
    return None if value is None else value.lstrip("@").lower()


@settings(FUZZ, max_examples=30)
@given(document=valid_orgs())
def test_valid_configurations_load_and_keep_units_people_and_liaisons(document):
    with folder() as tmp:
        config = _write(tmp / "liaison.toml", to_toml(document))
        org = load_organisation(config)
        catalogue = load_catalogue(org)
    assert list(catalogue)[: len(BUILT_IN_KINDS)] == list(BUILT_IN_KINDS)

    people, units = document["people"], document["units"]
    assert set(org.people) == set(people)
    for handle, person in people.items():
        assert org.people[handle].name == person["name"]
        assert org.people[handle].timezone == person.get("timezone")
    assert org.admins == frozenset(document["organisation"]["admins"])
    assert org.timezone == document["organisation"]["timezone"]
    days = document["organisation"]["business_days"]
    assert org.business_days == tuple(WEEKDAYS.index(d) for d in days)
    assert org.thresholds.stale_days == document["thresholds"]["stale_days"]
    assert set(org.units) == set(units)
    for key, unit in units.items():
        loaded = org.units[key]
        assert loaded.name == unit["name"]
        assert loaded.lead == _normal(unit.get("lead"))
        assert loaded.liaison == _normal(unit.get("liaison"))
        assert loaded.cycle_months == sorted(set(unit["cycle_months"]))
        assert org.unit_timezone(key) == unit.get("timezone", org.timezone)
        for channel in unit["channels"]:
            assert org.unit_for_channel(channel) == key
    for handle in people:
        liaised = [k for k, u in units.items() if _normal(u.get("liaison")) == handle]
        assert org.liaison_units(handle) == liaised

    # The same facts in the database, after the start-up sync.
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        sync_organisation(session, org, dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
        session.commit()
        stored = {p.id: p.handle for p in session.exec(select(Person)).all()}
        assert set(stored.values()) == set(people)
        for unit in session.exec(select(Unit)).all():
            assert unit.name == units[unit.id]["name"]
            assert stored.get(unit.lead_id) == _normal(units[unit.id].get("lead"))
            assert stored.get(unit.liaison_id) == _normal(units[unit.id].get("liaison"))
        assert {u.id for u in session.exec(select(Unit)).all()} == set(units)
    engine.dispose()


def test_the_example_organisation_round_trips():
    org = load_all(Path(__file__).resolve().parents[2] / "liaison.example.toml")
    assert org.admins == {"dana"}
    assert org.liaison_units("sam") == ["finance", "parks"]
    assert (org.units["finance"].lead, org.units["parks"].lead) == ("pat", "kim")


# --- once known gaps, now each a ConfigError naming the file -----------------------------


def _load_expecting_config_error(tmp: Path, data: bytes | str) -> None:
    config = tmp / "liaison.toml"
    config.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    with pytest.raises(ConfigError) as raised:
        load_all(config)
    assert_located(raised.value, config)


@pytest.mark.parametrize(
    "section", ['[organisation]\ntimezone = "America"\n', '[people.pat]\ntimezone = "US"\n']
)
def test_a_time_zone_that_names_a_folder_is_a_config_error(tmp_path, section):
    _load_expecting_config_error(tmp_path, section)


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path):
    _load_expecting_config_error(tmp_path, '[organisation]\nname = "Café"\n'.encode("cp1252"))


def test_a_playbook_file_that_is_not_utf8_is_a_config_error(tmp_path):
    playbook = _with_playbook_dir(tmp_path, "")
    playbook.write_bytes('kind = "caf"\ntitle = "Café"\n'.encode("cp1252"))
    with pytest.raises(ConfigError) as raised:
        load_all(tmp_path / "liaison.toml")
    assert_located(raised.value, playbook)


@pytest.mark.parametrize("nested", ["[" * 5000 + "]" * 5000, "{a=" * 3000 + "1" + "}" * 3000])
def test_deep_nesting_is_a_config_error(tmp_path, nested):
    _load_expecting_config_error(tmp_path, f"x = {nested}\n")


def test_a_config_path_that_is_a_folder_is_a_config_error(tmp_path):
    (tmp_path / "liaison.toml").mkdir()
    with pytest.raises(ConfigError) as raised:
        load_all(tmp_path / "liaison.toml")
    assert str(tmp_path / "liaison.toml") in str(raised.value)


@pytest.mark.parametrize("separator", ["\u2028", "\x85"])
def test_line_numbers_count_the_lines_an_editor_shows(tmp_path, separator):
    text = (
        f'[organisation]\nname = "a{separator}b{separator}c{separator}d"\n\n'
        '[people.pat]\nname = "Pat"\n\n[units.finance]\nname = "Finance"\nlead = "ghost"\n'
    )
    config = tmp_path / "liaison.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_all(config)
    assert raised.value.line == 9, raised.value  # the line of lead = "ghost"


def test_two_people_whose_handles_differ_only_in_case_are_a_config_error(tmp_path):
    _load_expecting_config_error(
        tmp_path, '[people.pat]\nname = "Pat Lee"\n\n[people.Pat]\nname = "Pat Other"\n'
    )
