"""Builds the object graph once: settings -> engine -> organisation -> playbooks -> core ->
channels (from bot.channels.REGISTRY) -> outboxes -> sweeper."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from bot.channels import Channel, build_channels
from bot.channels.interactions import use_state_secret
from bot.config import Settings, SettingsError, secret_named
from bot.lifecycle import InFlight
from bot.observability import Metrics
from bot.spool import Spool
from bot.webhooks import WebhookSender
from handlers import signals
from handlers.core import Liaison
from handlers.org import Organisation, load_organisation
from handlers.playbooks import Catalogue, load_catalogue
from schedules.outbox import Outbox
from schedules.sweep import Sweeper
from storage.db import make_engine, upgrade
from storage.models import utcnow

log = logging.getLogger("liaison")


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
    slack: Any = None  # the Slack adapter, when configured
    teams: Any = None  # the Teams adapter
    channels: dict[str, Channel] = field(default_factory=dict)  # every configured channel
    in_flight: InFlight = field(default_factory=InFlight)  # what a shutdown waits for
    spool: Spool = field(default_factory=lambda: Spool(None))  # events kept on local disk


def bootstrap(
    settings: Settings, *, migrate: bool = True, clock: Callable[[], dt.datetime] = utcnow
) -> App:
    """Load the config and playbooks (failing early on mistakes), migrate, sync the units,
    and build the configured channels with their outboxes."""
    org = load_organisation(settings.config_path)
    catalogue = load_catalogue(org)
    signals.configure(org.model_path(), threshold=org.detection.threshold)
    signals.configure_second_opinion(
        settings.second_opinion, {kind: pb.summary for kind, pb in catalogue.items()}
    )
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
        reachable_on=tuple(settings.channels()) or ("shell",),
    )
    if settings.dashboard_secret:
        liaison.dashboard_secret = settings.dashboard_secret.encode()
    elif settings.state_signing_secret():  # a secret every replica shares, for another purpose
        shared = settings.state_signing_secret().encode()
        liaison.dashboard_secret = hmac.new(shared, b"dashboard links", hashlib.sha256).digest()
    if migrate:
        liaison.sync()
    in_flight = InFlight()
    use_state_secret(settings.state_signing_secret())
    if settings.channels() and settings.state_signing_secret() is None:
        log.warning(
            "No LIAISON_STATE_SECRET (nor a Slack or Microsoft secret to derive one from): "
            "buttons and forms sent before a restart, or by another replica, will be refused."
        )
    channels = build_channels(liaison, settings, in_flight)
    outboxes: dict[str, Outbox] = {name: channel.outbox() for name, channel in channels.items()}
    spool = Spool(settings.spool_path)  # events acknowledged while the database was away
    spool.on_change = metrics.on_spool
    for name, channel in channels.items():
        breaker = getattr(channel, "breaker", None)  # each platform's breaker, as metrics
        if breaker is not None:
            breaker.on_change = metrics.on_breaker
        channel.retrier.spool = spool
        replay = getattr(channel, "replay", None)  # how it handles a spooled event again
        if replay is not None:
            spool.replayers[name] = replay
    sweeper = Sweeper(engine, org, outboxes, clock)
    sweeper.on_line = metrics.on_line
    sweeper.webhooks = _webhooks(engine, org)
    if sweeper.webhooks is not None:
        sweeper.webhooks.on_outcome = metrics.on_webhook
    metrics.watch_commitments(engine, org, clock)
    app = App(settings, engine, org, catalogue, liaison, sweeper, metrics, outboxes)
    app.channels, app.in_flight, app.spool = channels, in_flight, spool
    slack, teams = channels.get("slack"), channels.get("teams")
    app.slack = slack.adapter if slack is not None else None
    app.teams = teams.adapter if teams is not None else None
    return app


def _webhooks(engine: Engine, org: Organisation) -> WebhookSender | None:
    """The sender of the organisation's webhooks, signing with the secret its config names."""
    config = org.webhooks
    if not config.urls:
        return None
    secret = secret_named(config.secret_env)
    if secret is None:
        raise SettingsError(
            f"[webhooks] in {org.source} sends events, but {config.secret_env} (the HMAC secret "
            "the receivers check) is not set. Set it in the environment or in .env."
        )
    return WebhookSender(engine, secret.encode(), config.timeout_seconds)
