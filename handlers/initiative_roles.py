"""The RASCI roles of a saved initiative: shown, and changed afterwards.

`commitments initiative 3 role security consulted @dana` names someone Consulted on the
security review; `... role security responsible it` gives it to IT with no one named yet;
`... role security consulted none` takes the Consulted away; `... role network none` drops the
role. The letter words are the intake's (handlers.intake_roles.LETTERS, LETTER_WORDS). A new
Responsible person makes the same commitment the intake would have made them make
(`commit_role`); the commitments of the Responsible people before stay as they are, and the
reply says which, so the people on them can hand them back.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from handlers import commitments
from handlers.intake_roles import LETTER_WORDS, LETTERS, party_label
from handlers.org import Organisation
from handlers.people import name_of, resolve_person
from handlers.playbooks import PARTIES, Role
from storage.models import OPEN_STATES, Initiative, Person, RoleAssignment

if TYPE_CHECKING:  # the turn imports the intake, which makes its commitments here
    from handlers.turn import Turn

NOBODY = ("none", "nobody", "no one", "drop", "remove")
USAGE = (
    "Change a role like 'initiative {id} role security consulted @dana', "
    "'initiative {id} role security responsible it' or 'initiative {id} role security none'."
)


@dataclass(frozen=True)
class RoleChange:
    """What a role edit did, for the initiative's history and its webhook."""

    key: str
    title: str
    before: str
    after: str
    cells: tuple[dict[str, Any], ...]  # the role's cells after: letter, party, person_id
    notes: tuple[str, ...] = ()  # sentences about the commitments it touched


def commit_role(
    session: Session,
    initiative: Initiative,
    role: Role,
    responsible: Iterable[int],
    *,
    requester: Person,
    today: dt.date,
    channel: str,
    now: dt.datetime,
    org: Organisation,
) -> list[int]:
    """The commitments the Responsible people of a role make on an initiative: to its
    business owner, due the role's lead days before the target date (never before today)."""
    due = None
    if initiative.target_date:
        due = max(initiative.target_date - dt.timedelta(days=role.lead_days), today)
    created = []
    for person_id in responsible:
        item = commitments.create(
            session,
            requester=requester,
            owner=session.get(Person, person_id),
            what=f"{role.title} for “{initiative.title}”",
            due=due,
            channel=channel,
            unit_id=initiative.unit_id,
            initiative_id=initiative.id,
            role_key=role.key,
            now=now,
            org=org,
        )
        created.append(item.id)
    return created


def role_rows(session: Session, initiative_id: int) -> list[RoleAssignment]:
    query = select(RoleAssignment).where(RoleAssignment.initiative_id == initiative_id)
    return list(session.exec(query.order_by(RoleAssignment.id)).all())


def summary(session: Session, rows: Iterable[RoleAssignment]) -> str:
    """'R: IT @sam · A: business @pat · S: vendor', in RASCI order."""
    rows = list(rows)
    return " · ".join(
        f"{row.letter}: {party_label(row.party, row.person_id, session)}"
        for letter in LETTERS
        for row in rows
        if row.letter == letter
    )


def role_lines(session: Session, initiative_id: int) -> list[str]:
    """One line per role of an initiative: its title and who holds each letter."""
    by_key: dict[str, list[RoleAssignment]] = {}
    for row in role_rows(session, initiative_id):
        by_key.setdefault(row.role_key, []).append(row)
    return [f"{rows[0].role_title} — {summary(session, rows)}" for rows in by_key.values()]


def change_role(turn: Turn, found: Initiative, text: str) -> RoleChange:
    """Apply `<role> <letter> <who>` or `<role> none` to a saved initiative; ValueError with
    a sentence to show when it can't."""
    words = text.split()
    rows = role_rows(turn.session, found.id)
    for at in range(len(words) - 1, 0, -1):  # the last letter word whose role part is a role
        letter = _letter(words[at])
        if not letter:
            continue
        role = _find_role(turn, found, rows, " ".join(words[:at]))
        if role is not None:
            return _change(turn, found, rows, role, letter, " ".join(words[at + 1 :]))
    if len(words) > 1 and _letter(words[-1]) == "":  # `network none`: the whole role
        role = _find_role(turn, found, rows, " ".join(words[:-1]))
        if role is not None:
            return _change(turn, found, rows, role, "", "")
    raise ValueError(_which_role(turn, found, rows, words))


def _letter(word: str) -> str | None:
    word = word.lower()
    if word in NOBODY:
        return ""  # the whole role
    if word.upper() in LETTERS:
        return word.upper()
    return LETTER_WORDS.get(word)


def _roles(turn: Turn, found: Initiative, rows: list[RoleAssignment]) -> list[Role]:
    """The roles of the initiative's playbook, and any others it was given."""
    playbook = turn.bot.catalogue.get(found.kind)
    roles = list(playbook.roles) if playbook else []
    known = {role.key for role in roles}
    for row in rows:
        if row.role_key not in known:
            roles.append(Role(key=row.role_key, title=row.role_title))
            known.add(row.role_key)
    return roles


def _find_role(
    turn: Turn, found: Initiative, rows: list[RoleAssignment], typed: str
) -> Role | None:
    """The one role whose key is `typed`, or whose key or title holds each of its words."""
    typed = typed.lower().strip()
    if not typed:
        return None
    roles = _roles(turn, found, rows)
    exact = [r for r in roles if r.key == typed.replace(" ", "_")]
    if exact:
        return exact[0]
    matches = [r for r in roles if _words_start(typed, f"{r.key} {r.title}")]
    return matches[0] if len(matches) == 1 else None


def _words_start(typed: str, name: str) -> bool:
    """Whether each typed word begins a word of `name` ("sec rev" for "Security review")."""
    words = re.findall(r"[a-z0-9]+", name.lower())
    return all(any(w.startswith(t) for w in words) for t in re.findall(r"[a-z0-9]+", typed.lower()))


def _which_role(turn: Turn, found: Initiative, rows: list[RoleAssignment], words) -> str:
    keys = ", ".join(r.key for r in _roles(turn, found, rows)) or "none"
    if len(words) < 2 or not any(_letter(w) is not None for w in words[1:]):
        return USAGE.format(id=found.id)
    return f"I couldn't tell which role of #{found.id} you mean. Its roles: {keys}."


def _change(
    turn: Turn,
    found: Initiative,
    rows: list[RoleAssignment],
    role: Role,
    letter: str,
    who: str,
) -> RoleChange:
    session = turn.session
    mine = [row for row in rows if row.role_key == role.key]
    before = summary(session, mine)
    responsible_before = {row.person_id for row in mine if row.letter == "R"}
    if letter == "":  # `role network none`: the role goes
        kept: list[RoleAssignment] = []
    elif who.lower() in NOBODY:
        kept = [row for row in mine if row.letter != letter]
    elif not who:
        raise ValueError(f"Who? Add an @name, 'it', 'business' or 'vendor' after '{letter}'.")
    else:
        kept = _assign(turn, found, role, mine, letter, who)
    if not mine and not kept:
        raise ValueError(f"#{found.id} has no “{role.title}” role.")
    for row in mine:
        if row not in kept:
            session.delete(row)
    for row in kept:
        session.add(row)
    session.flush()
    after = summary(session, kept)
    if after == before:
        raise ValueError(f"“{role.title}” of #{found.id} already stands like that.")
    responsible = [row.person_id for row in kept if row.letter == "R" and row.person_id]
    notes = _commitments(turn, found, role, responsible, responsible_before)
    cells = tuple(
        {"letter": row.letter, "party": row.party, "person_id": row.person_id} for row in kept
    )
    return RoleChange(role.key, role.title, before, after, cells, notes)


def _assign(
    turn: Turn,
    found: Initiative,
    role: Role,
    mine: list[RoleAssignment],
    letter: str,
    who: str,
) -> list[RoleAssignment]:
    """The role's rows with `who` (a person or a party) holding `letter`: R and A are held by
    one, so the first cell changes hands; S, C and I take one more (or fill an unnamed one)."""
    person: Person | None = None
    if who.lower() in PARTIES:
        party = who.lower()
    else:
        person = resolve_person(turn.session, who, turn.person, turn.channel)
        if person is None:
            raise ValueError("I don't know that person yet. Check the spelling.")
        party = "it" if turn.bot.org.is_it(person.handle) else "business"
    cells = [row for row in mine if row.letter == letter]
    person_id = person.id if person else None
    if any(
        row.person_id == person_id if person_id else (not row.person_id and row.party == party)
        for row in cells
    ):
        return mine  # already holds it
    if letter in "RA" and cells:
        target = cells[0]
    else:
        target = next((row for row in cells if row.person_id is None and person_id), None)
    if target is None:
        target = RoleAssignment(
            initiative_id=found.id,
            role_key=role.key,
            role_title=role.title,
            party=party,
            letter=letter,
        )
        mine = [*mine, target]
    if person is not None and party == "business" and target.party == "vendor":
        party = "vendor"  # someone named for the vendor's part stays on the vendor's side
    target.party, target.person_id = party, person_id
    return mine


def _commitments(
    turn: Turn,
    found: Initiative,
    role: Role,
    responsible: list[int],
    responsible_before: set[int | None],
) -> tuple[str, ...]:
    """A new Responsible person's commitment, and a sentence about those left to others."""
    session = turn.session
    open_items = [
        c
        for c in commitments.for_initiative(session, found.id)
        if c.role_key == role.key and c.state in OPEN_STATES
    ]
    owners = {c.owner_id for c in open_items}
    new = [p for p in responsible if p not in owners and p not in responsible_before]
    notes = []
    if new:
        requester = session.get(Person, found.owner_id or found.requester_id)
        created = commit_role(
            session,
            found,
            role,
            new,
            requester=requester,
            today=turn.today,
            channel=turn.channel,
            now=turn.now(),
            org=turn.bot.org,
        )
        notes.append("New: " + ", ".join(f"#{n}" for n in created) + ".")
    left = [c for c in open_items if c.owner_id not in responsible]
    if left:
        listed = ", ".join(f"#{c.id} ({name_of(session, c.owner_id)})" for c in left)
        notes.append(
            f"Still open: {listed}; its owner can say 'not mine {left[0].id}', or the "
            f"requester 'cancel {left[0].id}'."
        )
    return tuple(notes)
