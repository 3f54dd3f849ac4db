"""One matcher decides which unit a channel belongs to; a channel adapter only tells it which
id a configured `#name` has."""

from __future__ import annotations

from handlers.org import load_organisation
from tests.conftest import EXAMPLE_CONFIG


def test_a_channel_named_in_the_config_matches_by_the_id_its_adapter_found() -> None:
    org = load_organisation(EXAMPLE_CONFIG)
    assert org.channel_names_wanted() == {"finance": ["finance"], "parks": ["parks"]}
    assert org.unit_for_channel("C0PARKS1") is None  # an event carries the id, not the name
    org.name_channel("C0PARKS1", "#parks")
    assert org.unit_for_channel("C0PARKS1") == "parks"
    assert org.unit_for_channel("C0FINANCE1") == "finance"  # ids in the config still match
    assert org.unit_for_channel("C0OTHER1") is None
