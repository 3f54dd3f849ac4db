"""Playbooks: per initiative kind, the trigger cues, the hidden IT roles and the intake questions.

They ship as TOML files in handlers/playbooks/. An organisation overrides or adds kinds with a
`playbook_dir` of its own files, or inline under `[playbooks.<kind>]` in its TOML; an inline
table replaces the fields it names and keeps the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from handlers.config_files import (
    ConfigError,
    find_line,
    located_error,
    parse_toml,
    read_config_text,
)
from handlers.org import Organisation
from handlers.signals import SignalCues

KIND_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
PARTIES = ("business", "it", "vendor")
BUILT_IN_KINDS = (
    "software_purchase",
    "hardware_purchase",
    "office_move",
    "staffing_change",
    "event_or_launch",
    "data_project",
)


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str
    prompt: str


class Role(BaseModel):
    """A hidden IT role and its default RASCI, by party."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str
    title: str
    responsible: str = "it"
    accountable: str = "business"
    supporting: tuple[str, ...] = ()
    consulted: tuple[str, ...] = ()
    informed: tuple[str, ...] = ()
    lead_days: int = Field(default=0, ge=0, le=730)
    sensitive: bool = False

    @field_validator("responsible", "accountable")
    @classmethod
    def _party(cls, value: str) -> str:
        return _check_party(value)

    @field_validator("supporting", "consulted", "informed")
    @classmethod
    def _parties(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_party(v) for v in value)

    def letters(self) -> list[tuple[str, str]]:
        """(letter, party) pairs in RASCI order."""
        pairs = [("R", self.responsible), ("A", self.accountable)]
        pairs += [("S", p) for p in self.supporting]
        pairs += [("C", p) for p in self.consulted]
        pairs += [("I", p) for p in self.informed]
        return pairs


def _check_party(value: str) -> str:
    if value not in PARTIES:
        raise ValueError(f"'{value}' is not a party; use one of {', '.join(PARTIES)}")
    return value


class PlaybookFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str
    title: str
    summary: str = ""
    offer: str = ""
    questions: tuple[Question, ...] = ()
    roles: tuple[Role, ...] = Field(min_length=1)
    signal: dict[str, Any] | None = None

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if not KIND_RE.match(value):
            raise ValueError("a kind is lowercase letters, digits and '_', like 'office_move'")
        return value


@dataclass(frozen=True)
class Playbook:
    kind: str
    title: str
    summary: str
    offer: str
    questions: tuple[Question, ...]
    roles: tuple[Role, ...]
    cues: SignalCues | None

    def role(self, key: str) -> Role | None:
        return next((r for r in self.roles if r.key == key), None)


class Catalogue(dict[str, Playbook]):
    """Kind -> playbook, in a stable order (built-ins first)."""

    def cues(self) -> dict[str, SignalCues]:
        return {kind: pb.cues for kind, pb in self.items() if pb.cues is not None}


def _shipped() -> list[tuple[str, str]]:
    folder = resources.files("handlers") / "playbooks"
    return sorted(
        (f"playbooks/{entry.name}", entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    )


def load_catalogue(org: Organisation | None = None) -> Catalogue:
    """The shipped playbooks, then the organisation's directory, then its inline overrides."""
    raw: dict[str, tuple[dict[str, Any], str, str, tuple[str, ...]]] = {}
    for source, text in _shipped():
        data = parse_toml(text, source)
        raw[str(data.get("kind", source))] = (data, text, source, ())
    if org and org.playbook_dir:
        if not org.playbook_dir.is_dir():
            raise ConfigError(org.source, None, f"playbook_dir {org.playbook_dir} is not a folder")
        for path in sorted(org.playbook_dir.glob("*.toml")):
            text = read_config_text(path)
            data = parse_toml(text, str(path))
            kind = str(data.get("kind", path.stem))
            base = raw.get(kind, ({}, "", ""))[0]
            raw[kind] = ({**base, **data}, text, str(path), ())
    if org:
        org_text = (
            Path(org.source).read_text(encoding="utf-8") if Path(org.source).is_file() else ""
        )
        for kind, override in org.playbook_overrides.items():
            base = raw.get(kind, ({}, "", ""))[0]
            merged = {"kind": kind, **base, **override}
            raw[kind] = (merged, org_text, org.source, ("playbooks", kind))
    ordered = sorted(raw, key=lambda k: (k not in BUILT_IN_KINDS, _builtin_index(k), k))
    return Catalogue((kind, _build(*raw[kind])) for kind in ordered)


def _builtin_index(kind: str) -> int:
    return BUILT_IN_KINDS.index(kind) if kind in BUILT_IN_KINDS else 0


def _build(data: dict[str, Any], text: str, source: str, prefix: tuple[str, ...]) -> Playbook:
    try:
        parsed = PlaybookFile.model_validate(data)
    except ValidationError as exc:
        raise located_error(exc, text, source, prefix) from None
    keys = [r.key for r in parsed.roles]
    duplicate = next((k for k in keys if keys.count(k) > 1), None)
    if duplicate:
        raise ConfigError(
            source, find_line(text, [*prefix, "roles"]), f"role key '{duplicate}' appears twice"
        )
    cues = None
    if parsed.signal is not None:
        try:
            cues = SignalCues.from_table(parsed.signal)
        except ValueError as exc:
            raise ConfigError(source, find_line(text, [*prefix, "signal"]), str(exc)) from None
    return Playbook(
        kind=parsed.kind,
        title=parsed.title,
        summary=parsed.summary,
        offer=parsed.offer,
        questions=parsed.questions,
        roles=parsed.roles,
        cues=cues,
    )
