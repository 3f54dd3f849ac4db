"""TEAMS_SDK chooses the SDK under the Teams channel: botbuilder (the default) or the
Microsoft 365 Agents SDK."""

from __future__ import annotations

import pytest

from bot.channels.teams import build_teams
from bot.channels.teams.host import BotbuilderHost
from bot.config import SettingsError, load_settings


def test_botbuilder_is_the_default_and_agents_is_chosen_by_name():
    assert load_settings({}, dotenv_path=None).teams_sdk == "botbuilder"
    assert load_settings({"TEAMS_SDK": "Agents "}, dotenv_path=None).teams_sdk == "agents"
    with pytest.raises(SettingsError, match="TEAMS_SDK"):
        load_settings({"TEAMS_SDK": "teams-ai"}, dotenv_path=None)


def test_each_setting_builds_its_own_host():
    from bot.channels.teams.agents import AgentsHost

    default = build_teams(None, app_id="", app_password="")  # type: ignore[arg-type]
    agents = build_teams(None, app_id="", app_password="", sdk="agents")  # type: ignore[arg-type]
    assert isinstance(default.host, BotbuilderHost) and default.host.name == "botbuilder"
    assert isinstance(agents.host, AgentsHost) and agents.host.name == "agents"
    # The SDK's default turn-error handler would post the exception's text into the chat.
    assert agents.host.adapter.on_turn_error is None
    with pytest.raises(ValueError, match="TEAMS_SDK"):
        build_teams(None, app_id="", app_password="", sdk="nope")  # type: ignore[arg-type]


def test_the_agents_sdk_gets_outgoing_tokens_from_the_bots_own_tenant():
    from bot.channels.teams.agents import msal_connections

    app_id = "11111111-2222-4333-8444-555555555555"
    single = msal_connections(app_id, "secret", "SingleTenant", "tenant-riverton")
    multi = msal_connections(app_id, "secret", "MultiTenant", None)
    for connections, tenant in ((single, "tenant-riverton"), (multi, "botframework.com")):
        config = connections.get_default_connection_configuration()
        assert (
            app_id,
            tenant,
            "secret",
        ) == (config.CLIENT_ID, config.TENANT_ID, config.CLIENT_SECRET)
