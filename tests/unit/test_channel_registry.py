"""Bootstrap builds the configured channels from one registry, and the server mounts them."""

from __future__ import annotations

from pathlib import Path

from bot.bootstrap import bootstrap
from bot.channels import REGISTRY, factory
from bot.config import Settings
from bot.server import build_web_app
from tests.conftest import EXAMPLE_CONFIG


def settings(tmp_path: Path, **channels: str) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'liaison.db'}",
        config_path=str(EXAMPLE_CONFIG),
        **channels,
    )


def routes(app) -> set[str]:
    web_app = build_web_app(app, scheduler=False)
    return {r.resource.canonical for r in web_app.router.routes() if r.method == "POST"}


def test_every_registered_channel_has_a_factory() -> None:
    assert set(REGISTRY) == {"slack", "teams"}
    assert all(callable(factory(name)) for name in REGISTRY)


def test_no_channel_and_no_teams_endpoint_when_nothing_is_configured(tmp_path: Path) -> None:
    """A deployment without Teams settings has no unauthenticated /api/messages to find."""
    app = bootstrap(settings(tmp_path))
    assert app.channels == {} and app.slack is None and app.teams is None
    assert routes(app) == set()
    app.engine.dispose()


def test_teams_alone_with_the_emulator_setting(tmp_path: Path) -> None:
    app = bootstrap(settings(tmp_path, teams_emulator=True))
    assert list(app.channels) == ["teams"] and app.slack is None
    assert set(app.outboxes) == {"teams"} and app.teams is app.channels["teams"].adapter
    assert routes(app) == {"/api/messages"}
    app.engine.dispose()


def test_slack_is_built_and_mounted_when_configured(tmp_path: Path) -> None:
    slack = {"slack_bot_token": "xoxb-test", "slack_signing_secret": "s3cret"}
    app = bootstrap(settings(tmp_path, teams_emulator=True, **slack))
    assert list(app.channels) == ["slack", "teams"]
    for name, channel in app.channels.items():
        assert channel.name == name and app.outboxes[name].channel == name
        assert channel.retrier is channel.adapter.retrier
        assert channel.adapter.in_flight is app.in_flight  # one registry for the shutdown
    assert routes(app) == {"/slack/events", "/api/messages"}
    app.engine.dispose()


def test_dashboard_links_are_signed_with_a_key_every_replica_shares(tmp_path: Path) -> None:
    """With no DASHBOARD_SECRET, two replicas with the same Slack signing secret sign the
    dashboard's links alike (derived for that purpose only); with nothing shared, each
    process has its own key."""
    slack = {"slack_bot_token": "xoxb-test", "slack_signing_secret": "s3cret"}
    one, two = (bootstrap(settings(tmp_path / n, **slack)) for n in ("a", "b"))
    assert one.liaison.dashboard_secret == two.liaison.dashboard_secret
    assert one.liaison.dashboard_secret not in (b"s3cret", b"")
    lone, other = (bootstrap(settings(tmp_path / n)) for n in ("c", "d"))
    assert lone.liaison.dashboard_secret != other.liaison.dashboard_secret
    for app in (one, two, lone, other):
        app.engine.dispose()
