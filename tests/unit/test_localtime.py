"""The one rule for a person's local today: their zone, the unit's, their home unit's, the org's."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from handlers.localtime import latest_today, local_today, zone_name

# 20:05 UTC on Wednesday is already Thursday morning in Auckland.
NOW = dt.datetime(2026, 11, 25, 20, 5, tzinfo=dt.UTC)


def person(timezone=None, home_unit=None):
    return SimpleNamespace(timezone=timezone, home_unit=home_unit)


def test_the_persons_zone_then_the_units_then_their_home_units_then_the_orgs(org) -> None:
    auckland = org.__class__(**{**org.__dict__})
    units = {
        **org.units,
        "finance": org.units["finance"].model_copy(update={"timezone": "Pacific/Auckland"}),
    }
    object.__setattr__(auckland, "units", units)
    assert zone_name(auckland, person("Europe/Berlin"), "finance") == "Europe/Berlin"
    assert zone_name(auckland, person(), "finance") == "Pacific/Auckland"
    assert zone_name(auckland, person(home_unit="finance")) == "Pacific/Auckland"
    assert zone_name(auckland, person(home_unit="parks")) == "America/Denver"
    assert zone_name(auckland, None) == org.timezone
    assert local_today(auckland, NOW, person(home_unit="finance")) == NOW.date() + dt.timedelta(1)
    assert local_today(auckland, NOW, None) == NOW.date()


def test_no_ones_today_is_later_than_the_latest_today() -> None:
    kiritimati = local_today(
        SimpleNamespace(unit_timezone=lambda unit: "Pacific/Kiritimati"), NOW, None
    )
    assert kiritimati == latest_today(NOW)
