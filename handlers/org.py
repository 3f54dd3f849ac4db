"""The organisation: units, people, admins, thresholds and playbook overrides, from TOML.

A bad file fails at start with the file, the line and what is wrong, because an admin edits
this by hand and deserves better than a traceback.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from handlers.config_files import (
    ConfigError,
    find_line,
    located_error,
    parse_toml,
    read_config_text,
)
from handlers.dates import DATE_ORDERS, BusinessDays, holiday_calendar
from handlers.webhook_config import WebhooksConfig

HANDLE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,119}$")
UNIT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
IT_CHANNELS = "(IT channels)"  # how `channel_names_wanted` names `detection.it_channels`


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:  # 'America' is a folder
        raise ValueError(
            f"'{value}' is not a time zone I know; use an IANA name such as 'America/Chicago'"
        ) from exc
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonConfig(_Strict):
    name: str | None = None
    email: str | None = None
    slack: str | None = None
    teams: str | None = None
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else _timezone(value)


class UnitConfig(_Strict):
    name: str
    lead: str | None = None
    liaison: str | None = None
    # The next level above the liaison (an IT lead or manager): escalations of items the
    # liaison owns, or leaves unanswered, go there; without it, to the organisation's admins.
    it_lead: str | None = None
    channels: list[str] = Field(default_factory=list)
    timezone: str | None = None
    cycle_months: list[int] = Field(default_factory=lambda: [3, 9])

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else _timezone(value)

    @field_validator("cycle_months")
    @classmethod
    def _months(cls, value: list[int]) -> list[int]:
        bad = [m for m in value if not 1 <= m <= 12]
        if bad:
            raise ValueError(f"cycle months must be between 1 and 12, not {bad}")
        return sorted(set(value))

    @field_validator("lead", "liaison", "it_lead")
    @classmethod
    def _handle(cls, value: str | None) -> str | None:
        return None if value is None else value.lstrip("@").lower()


class Thresholds(_Strict):
    stale_days: int = Field(default=7, ge=1, le=365)
    unanswered_business_days: int = Field(default=2, ge=1, le=60)
    escalate_after_nudges: int = Field(default=2, ge=1, le=20)
    nudge_hour: int = Field(default=9, ge=0, le=23)
    briefing_days_ahead: int = Field(default=14, ge=1, le=90)
    due_soon_days: int = Field(default=2, ge=0, le=30)
    intake_expiry_hours: int = Field(default=24, ge=1, le=24 * 30)  # an unfinished plan lapses
    # An unanswered look-ahead: the lead is reminded after this many business days, and the
    # liaison told after as many again.
    cycle_reminder_business_days: int = Field(default=5, ge=1, le=60)


class Schedule(_Strict):
    """How often the in-process scheduler sweeps (nudges, escalations, cycles, retries)."""

    enabled: bool = True
    sweep_minutes: int = Field(default=15, ge=1, le=1440)


class Retention(_Strict):
    """How long closed initiatives and commitments (with their history) are kept."""

    closed_days: int = Field(default=730, ge=30, le=36500)


class OrganisationSection(_Strict):
    name: str = "Our organisation"
    timezone: str = "UTC"
    admins: list[str] = Field(default_factory=list)
    business_days: list[str] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    playbook_dir: str | None = None
    # How people here write numeric dates ("DMY": 3/4 is 3 April; "MDY": 4 March); unset, a
    # date that reads both ways is asked about. Holidays (a country code, an optional region)
    # are not business days.
    date_order: str | None = None
    holidays_country: str | None = None
    holidays_subdiv: str | None = None

    @field_validator("date_order")
    @classmethod
    def _date_order(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in DATE_ORDERS:
            raise ValueError(f"date order must be one of {', '.join(DATE_ORDERS)}")
        return None if value is None else value.upper()

    @field_validator("holidays_country", "holidays_subdiv")
    @classmethod
    def _holidays(cls, value: str | None, info: ValidationInfo) -> str | None:
        country = (
            value if info.field_name == "holidays_country" else info.data.get("holidays_country")
        )
        if value is not None and country is None:
            raise ValueError("a holidays region needs holidays_country too")
        if value is not None:
            holiday_calendar(country, value if info.field_name == "holidays_subdiv" else None)
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _timezone(value)

    @field_validator("business_days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        days = [d.strip().lower()[:3] for d in value]
        bad = [d for d in days if d not in WEEKDAYS]
        if bad or not days:
            raise ValueError(f"business days must be some of {', '.join(WEEKDAYS)}")
        return days

    @field_validator("admins")
    @classmethod
    def _admins(cls, value: list[str]) -> list[str]:
        return [v.lstrip("@").lower() for v in value]


class Detection(_Strict):
    """Signal detection: who speaks for IT, the offer threshold, the organisation's model."""

    it_staff: list[str] = Field(default_factory=list)  # besides admins and unit liaisons
    it_channels: list[str] = Field(default_factory=list)  # ids or #names
    threshold: float = Field(default=0.5, ge=0.05, le=0.99)
    model: str = "signal-model.npz"  # written by `liaison-bot train`, beside this file

    @field_validator("it_staff")
    @classmethod
    def _staff(cls, value: list[str]) -> list[str]:
        return [v.lstrip("@").lower() for v in value]


class TeamsAppConfig(_Strict):
    """What the Teams app package says about the app (read by teams/package.py, not the bot)."""

    version: str | None = None
    developer_name: str | None = None
    website_url: str | None = None
    privacy_url: str | None = None
    terms_url: str | None = None
    short_name: str | None = None
    full_name: str | None = None


class OrgFile(_Strict):
    organisation: OrganisationSection = Field(default_factory=OrganisationSection)
    detection: Detection = Field(default_factory=Detection)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    schedule: Schedule = Field(default_factory=Schedule)
    retention: Retention = Field(default_factory=Retention)
    people: dict[str, PersonConfig] = Field(default_factory=dict)
    units: dict[str, UnitConfig] = Field(default_factory=dict)
    playbooks: dict[str, dict[str, Any]] = Field(default_factory=dict)
    teams_app: TeamsAppConfig = Field(default_factory=TeamsAppConfig)
    webhooks: WebhooksConfig = Field(default_factory=WebhooksConfig)


@dataclass(frozen=True)
class Organisation:
    """The validated organisation, with lookups the core needs."""

    name: str
    timezone: str
    admins: frozenset[str]
    business_days: tuple[int, ...]
    thresholds: Thresholds
    people: dict[str, PersonConfig]
    units: dict[str, UnitConfig]
    playbook_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    playbook_dir: Path | None = None
    source: str = "(defaults)"
    schedule: Schedule = field(default_factory=Schedule)
    retention: Retention = field(default_factory=Retention)
    date_order: str | None = None
    # Chat channel ids a channel adapter found for the `#names` in units' channel lists (Slack
    # events carry ids, never names): id -> name, filled at start by `name_channel`.
    channel_names: dict[str, str] = field(default_factory=dict)

    @property
    def date_rules(self) -> dict[str, Any]:
        """How dates are read here, as `parse_due`'s keywords: day/month order, business days."""
        return {"date_order": self.date_order, "business_days": self.business_days}

    detection: Detection = field(default_factory=Detection)
    webhooks: WebhooksConfig = field(default_factory=WebhooksConfig)  # handlers.webhooks

    def is_it(self, handle: str | None, channel_ref: str | None = None) -> bool:
        """Whether someone speaks for IT: an admin, a unit's liaison, in ``it_staff``, or
        anyone writing in one of the ``it_channels``."""
        if channel_ref and self._names(self.detection.it_channels, channel_ref):
            return True
        if not handle:
            return False
        handle = handle.lstrip("@").lower()
        return (
            handle in self.admins
            or handle in self.detection.it_staff
            or any(unit.liaison == handle for unit in self.units.values())
        )

    def model_path(self) -> Path:
        """Where the organisation's own signal model lives (beside the config file)."""
        model = Path(self.detection.model)
        if model.is_absolute() or self.source == "(defaults)":
            return model
        return Path(self.source).parent / model

    def unit_for_channel(self, channel_ref: str | None) -> str | None:
        """The unit whose channel list names this chat channel: by id, by #name, or by the
        #name a channel adapter found this id to have (`name_channel`)."""
        if not channel_ref:
            return None
        for key, unit in self.units.items():
            if self._names(unit.channels, channel_ref):
                return key
        return None

    def _names(self, channels: list[str], channel_ref: str) -> bool:
        """Whether a channel list names this chat channel (as `unit_for_channel` says)."""
        wanted = {channel_ref.lower().lstrip("#")}
        if channel_ref in self.channel_names:
            wanted.add(self.channel_names[channel_ref].lower().lstrip("#"))
        return any(c.lower().lstrip("#") in wanted for c in channels)

    def channel_names_wanted(self) -> dict[str, list[str]]:
        """Each `#name` in the units' and IT's channel lists: name -> unit keys (or IT_CHANNELS)."""
        wanted: dict[str, list[str]] = {}
        lists = [(key, unit.channels) for key, unit in self.units.items()]
        for key, channels in [*lists, (IT_CHANNELS, self.detection.it_channels)]:
            for channel in channels:
                if channel.startswith("#") and channel.strip("#"):
                    wanted.setdefault(channel.lstrip("#").lower(), []).append(key)
        return wanted

    def name_channel(self, channel_id: str, name: str) -> None:
        """Record that the chat channel `channel_id` is the one the config calls `#name`, so
        `unit_for_channel` matches its events (which carry the id)."""
        self.channel_names[channel_id] = name.lstrip("#")

    def unit_key(self, text: str) -> str | None:
        """Find a unit by key or name, forgiving case and a leading '#'."""
        wanted = text.strip().lower().lstrip("#")
        for key, unit in self.units.items():
            if wanted in (key, unit.name.lower()):
                return key
        return None

    def unit_timezone(self, unit_key: str | None) -> str:
        unit = self.units.get(unit_key or "")
        return (unit.timezone if unit and unit.timezone else None) or self.timezone

    def liaison_units(self, handle: str) -> list[str]:
        return [k for k, u in self.units.items() if u.liaison == handle]


DEFAULT_ORG = Organisation(
    name="Our organisation",
    timezone="UTC",
    admins=frozenset(),
    business_days=(0, 1, 2, 3, 4),
    thresholds=Thresholds(),
    people={},
    units={},
)


def load_organisation(path: str | Path | None) -> Organisation:
    """Read and validate an organisation TOML; a missing file means the defaults."""
    if path is None or not Path(path).exists():
        return DEFAULT_ORG
    path = Path(path)
    text = read_config_text(path)
    data = parse_toml(text, str(path))
    try:
        parsed = OrgFile.model_validate(data)
    except ValidationError as exc:
        raise located_error(exc, text, str(path)) from None
    _check_references(parsed, text, str(path))
    org = parsed.organisation
    return Organisation(
        name=org.name,
        timezone=org.timezone,
        admins=frozenset(org.admins),
        business_days=BusinessDays(
            (WEEKDAYS.index(d) for d in org.business_days),
            holiday_calendar(org.holidays_country, org.holidays_subdiv)
            if org.holidays_country
            else frozenset(),
        ),
        date_order=org.date_order,
        thresholds=parsed.thresholds,
        people={k.lower(): v for k, v in parsed.people.items()},
        units=parsed.units,
        playbook_overrides=parsed.playbooks,
        playbook_dir=(path.parent / org.playbook_dir) if org.playbook_dir else None,
        source=str(path),
        schedule=parsed.schedule,
        retention=parsed.retention,
        detection=parsed.detection,
        webhooks=parsed.webhooks,
    )


def _check_references(parsed: OrgFile, text: str, source: str) -> None:
    """Handles and keys must be well formed, and units must name people who exist."""
    seen: dict[str, str] = {}
    for handle in parsed.people:
        if handle.lower() in seen:
            raise ConfigError(
                source,
                find_line(text, ["people", handle]),
                f"people.{handle}: the same person as people.{seen[handle.lower()]} "
                "(handles ignore case)",
            )
        seen[handle.lower()] = handle
        if not HANDLE_RE.match(handle.lower()):
            raise ConfigError(
                source,
                find_line(text, ["people", handle]),
                f"people.{handle}: a handle is lowercase letters, digits, '.', '_' or '-'",
            )
    known = {h.lower() for h in parsed.people}
    for key, unit in parsed.units.items():
        if not UNIT_RE.match(key):
            raise ConfigError(
                source,
                find_line(text, ["units", key]),
                f"units.{key}: a unit key is lowercase letters, digits, '_' or '-'",
            )
        for role in ("lead", "liaison", "it_lead"):
            handle = getattr(unit, role)
            if handle and handle not in known:
                raise ConfigError(
                    source,
                    find_line(text, ["units", key, role]),
                    f"units.{key}.{role}: '{handle}' is not in [people]; add [people.{handle}]",
                )
    for handle in parsed.organisation.admins:
        if handle not in known:
            raise ConfigError(
                source,
                find_line(text, ["organisation", "admins"]),
                f"organisation.admins: '{handle}' is not in [people]; add [people.{handle}]",
            )
    for handle in parsed.detection.it_staff:
        if handle not in known:
            raise ConfigError(
                source,
                find_line(text, ["detection", "it_staff"]),
                f"detection.it_staff: '{handle}' is not in [people]; add [people.{handle}]",
            )
