"""One matcher decides which unit a channel belongs to; a channel adapter only tells it which
id a configured `#name` has."""

from __future__ import annotations

import dataclasses

from handlers.org import IT_CHANNELS, load_organisation
from tests.conftest import EXAMPLE_CONFIG


def test_a_channel_named_in_the_config_matches_by_the_id_its_adapter_found() -> None:
    org = load_organisation(EXAMPLE_CONFIG)
    assert org.channel_names_wanted() == {"finance": ["finance"], "parks": ["parks"]}
    assert org.unit_for_channel("C0PARKS1") is None  # an event carries the id, not the name
    org.name_channel("C0PARKS1", "#parks")
    assert org.unit_for_channel("C0PARKS1") == "parks"
    assert org.unit_for_channel("C0FINANCE1") == "finance"  # ids in the config still match
    assert org.unit_for_channel("C0OTHER1") is None


def test_an_it_channel_named_in_the_config_speaks_for_it_by_the_id_its_adapter_found() -> None:
    org = load_organisation(EXAMPLE_CONFIG)
    it_channels = {"it_channels": ["#it-projects", "C0ITDESK1"]}
    org = dataclasses.replace(org, detection=org.detection.model_copy(update=it_channels))
    wanted = org.channel_names_wanted()
    assert wanted["it-projects"] == [IT_CHANNELS]  # read as an id like a unit's #name
    assert "c0itdesk1" not in wanted  # an id needs no reading
    assert not org.is_it("someone", "C0ITPROJ1")  # an event carries the id, not the name
    org.name_channel("C0ITPROJ1", "#it-projects")
    assert org.is_it("someone", "C0ITPROJ1")
    assert org.is_it("someone", "C0ITDESK1")  # ids in the config still match
    assert not org.is_it("someone", "C0PARKS1")
    assert org.unit_for_channel("C0ITPROJ1") is None  # an IT channel is no unit's
