"""Builds the object graph once: settings -> engine -> organisation -> playbooks -> core ->
channels -> outboxes -> sweeper."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from bot.config import Settings
from bot.observability import Metrics
from handlers import signals
from handlers.core import Liaison
from handlers.org import Organisation, load_organisation
from handlers.playbooks import Catalogue, load_catalogue
from schedules.outbox import Outbox
from schedules.sweep import Sweeper
from storage.db import make_engine, upgrade
from storage.models import utcnow


@dataclass
class App:
    settings: Settings
    engine: Engine
    org: Organisation
    catalogue: Catalogue
    liaison: Liaison
    sweeper: Sweeper
    metrics: Metrics
    outboxes: dict[str, Outbox] = field(default_factory=dict)
    slack: Any = None
    teams: Any = None


def bootstrap(
    settings: Settings, *, migrate: bool = True, clock: Callable[[], dt.datetime] = utcnow
) -> App:
    """Load the config and playbooks (failing early on mistakes), migrate, sync the units,
    and build the configured channels with their outboxes."""
    org = load_organisation(settings.config_path)
    catalogue = load_catalogue(org)
    signals.configure(org.model_path(), threshold=org.detection.threshold)
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    metrics = Metrics()
    liaison = Liaison(
        engine=engine,
        org=org,
        catalogue=catalogue,
        clock=clock,
        public_url=settings.public_url,
        on_event=metrics.on_event,
    )
    if migrate:
        liaison.sync()
    outboxes: dict[str, Outbox] = {}
    slack = None
    if settings.has_slack:
        from bot.channels.slack import SlackOutbox, build_slack

        slack = build_slack(
            liaison,
            token=settings.slack_bot_token,
            signing_secret=settings.slack_signing_secret,
            api_url=settings.slack_api_url,
            socket_mode=bool(settings.slack_app_token and not settings.slack_signing_secret),
        )
        outboxes["slack"] = SlackOutbox(slack)
    from bot.channels.teams import TeamsOutbox, build_teams

    # Teams is always served: with an app id it is authenticated; without one it runs in the
    # local/emulator mode, which answers only a connector on this machine.
    teams = build_teams(
        liaison,
        app_id=settings.microsoft_app_id,
        app_password=settings.microsoft_app_password,
        app_type=settings.microsoft_app_type,
        tenant_id=settings.microsoft_app_tenant_id,
    )
    outboxes["teams"] = TeamsOutbox(teams)
    sweeper = Sweeper(engine, org, outboxes, clock)
    sweeper.on_line = metrics.on_line
    metrics.watch_commitments(engine, org, clock)
    return App(settings, engine, org, catalogue, liaison, sweeper, metrics, outboxes, slack, teams)
