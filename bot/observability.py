"""Health, readiness, Prometheus metrics and structured logs.

Logs are JSON lines with request and event ids, never message bodies, and never a token: a
filter replaces every configured secret with "[redacted]" wherever it appears, and every email,
calendar key, response_url and token shape with a placeholder.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import func, text
from sqlmodel import select

from handlers import commitments
from storage.db import session_scope
from storage.models import OPEN_STATES, Commitment

log = logging.getLogger("liaison.http")
CHANNEL_OF_PATH = {"/slack/events": "slack", "/api/messages": "teams"}


# Logs


# What may never reach a log, secret or not configured: each pattern has bounded repetition, so
# it runs in linear time on any text a log line may carry.
REDACTED_PATTERNS = (  # (a literal every match contains, the pattern, its placeholder)
    ("/calendar/", re.compile(r"/calendar/[\w-]{8,100}\.ics"), "/calendar/[redacted].ics"),
    (
        "hooks.slack",
        re.compile(r"https://hooks\.slack(?:-gov)?\.com/[\w/.-]{1,300}"),
        "[response_url]",
    ),
    ("xox", re.compile(r"\bxox[abposr]-[\w-]{6,200}"), "[slack token]"),
    ("xapp-", re.compile(r"\bxapp-[\w-]{6,200}"), "[slack token]"),
    ("eyJ", re.compile(r"\beyJ[\w-]{4,2000}\.[\w-]{4,4000}\.[\w-]{0,2000}"), "[jwt]"),
    ("@", re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}"), "[email]"),
)
# SDKs that log whole requests (message text, emails, response_urls) at DEBUG. They stay at INFO
# even when the bot logs at DEBUG: the bot's own debug lines carry ids, not bodies.
CHATTY_LOGGERS = ("slack_sdk", "slack_bolt", "botbuilder", "msrest", "urllib3", "aiohttp.client")


def redact(message: str, secrets: Iterable[str] = ()) -> str:
    """A log message with configured secrets and personal or secret-bearing values removed."""
    for secret in secrets:
        message = message.replace(secret, "[redacted]")
    for literal, pattern, replacement in REDACTED_PATTERNS:
        if literal in message:  # a substring test first: most log lines hold none of them
            message = pattern.sub(replacement, message)
    return message


class RedactSecrets(logging.Filter):
    """Replace every configured secret, and every email, calendar key, response_url and token,
    in a record's message and arguments."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def configure_logging(level: str, fmt: str, secrets: Iterable[str | None]) -> None:
    """One line per event on stderr: JSON for servers, plain text for the terminal."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))


# Metrics


class Metrics:
    """The bot's Prometheus metrics, in a registry of its own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_received = Counter(
            "liaison_events_received",
            "Chat events and actions received, by channel.",
            ["channel"],
            registry=self.registry,
        )
        self.events_acted = Counter(
            "liaison_events_acted",
            "Events that led the bot to say or do something, by channel and reply kind.",
            ["channel", "kind"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "liaison_ack_seconds",
            "Time to acknowledge a webhook request, by channel.",
            ["channel"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.nudges = Counter(
            "liaison_nudges",
            "Messages from the sweeps, by kind and outcome (sent, failed, unreachable).",
            ["kind", "status"],
            registry=self.registry,
        )
        self.nudges_retried = Counter(
            "liaison_nudges_retried",
            "Sweep messages sent again after an earlier failure.",
            registry=self.registry,
        )
        self.funnel = Counter(
            "liaison_intake_funnel",
            "Intake funnel: offered, started, completed.",
            ["stage"],
            registry=self.registry,
        )
        self.promises = Counter(
            "liaison_promises",
            "Promises in chat: offered for tracking, tracked.",
            ["stage"],
            registry=self.registry,
        )
        self.up = Gauge("liaison_up", "1 while the bot runs.", registry=self.registry)
        self.spooled = Counter(
            "liaison_spool_events",
            "Acknowledged events not handled at once: spooled, replayed, dropped or shed.",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.dropped = Counter(
            "liaison_events_dropped",
            "Acknowledged events given up for good (no spool file could keep them).",
            ["channel"],
            registry=self.registry,
        )
        self.breaker_open = Gauge(
            "liaison_breaker_open",
            "1 while a platform's circuit breaker holds every send back.",
            ["platform"],
            registry=self.registry,
        )
        self.breaker_opened = Counter(
            "liaison_breaker_opened",
            "Times a platform's circuit breaker opened (429 or repeated 5xx).",
            ["platform"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "liaison_webhook_deliveries",
            "Webhook attempts by event and outcome (sent, failed, rejected, abandoned).",
            ["event", "outcome"],
            registry=self.registry,
        )
        self.up.set(1)

    def watch_commitments(self, engine, org, clock) -> None:
        """Open and stuck commitments per unit, computed when Prometheus scrapes."""
        self.registry.register(CommitmentCollector(engine, org, clock))

    def on_spool(self, channel: str, what: str) -> None:
        """An acknowledged event the database could not take: spooled, replayed, dropped."""
        self.spooled.labels(channel, what).inc()
        if what == "dropped":
            self.dropped.labels(channel).inc()

    def on_breaker(self, platform: str, is_open: bool) -> None:
        self.breaker_open.labels(platform).set(1 if is_open else 0)
        if is_open:
            self.breaker_opened.labels(platform).inc()

    def on_webhook(self, event: str, outcome: str) -> None:
        self.webhooks.labels(event, outcome).inc()

    def on_event(self, event: str, channel: str) -> None:
        """The core's events: 'acted.<reply kind>', 'funnel.<stage>', 'promise.<stage>'."""
        group, _, name = event.partition(".")
        if group == "acted":
            self.events_acted.labels(channel, name).inc()
        elif group == "funnel":
            self.funnel.labels(name).inc()
        elif group == "promise":
            self.promises.labels(name).inc()

    def on_line(self, line) -> None:
        """One message of a sweep."""
        self.nudges.labels(line.kind, line.status).inc()
        if line.retry and line.status == "sent":
            self.nudges_retried.inc()


class CommitmentCollector:
    """A scrape-time collector: cheap grouped counts, and the stuck items by range scans."""

    def __init__(self, engine, org, clock) -> None:
        self.engine, self.org, self.clock = engine, org, clock

    def collect(self):
        open_gauge = GaugeMetricFamily(
            "liaison_commitments_open", "Open commitments per unit.", labels=["unit"]
        )
        stuck_gauge = GaugeMetricFamily(
            "liaison_commitments_stuck", "Stuck commitments per unit.", labels=["unit"]
        )
        try:
            with session_scope(self.engine) as session:
                rows = session.exec(
                    select(Commitment.unit_id, func.count())
                    .where(Commitment.state.in_([s.value for s in OPEN_STATES]))
                    .group_by(Commitment.unit_id)
                ).all()
                stuck = commitments.stuck_counts(session, self.org, self.clock())
        except Exception:  # a scrape must never take the bot down; readiness reports the DB
            log.warning("metrics: the database did not answer")
            return
        for unit, count in rows:
            open_gauge.add_metric([unit or ""], count)
        for unit, count in stuck.items():
            stuck_gauge.add_metric([unit or ""], count)
        yield open_gauge
        yield stuck_gauge


# HTTP


def request_middleware(metrics: Metrics):
    """A request id on every request and response, the webhook ack time, one log line each."""
    channels = set(CHANNEL_OF_PATH.values())
    received = {c: metrics.events_received.labels(c) for c in channels}
    acked = {c: metrics.ack_seconds.labels(c) for c in channels}

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex[:16]
        channel = CHANNEL_OF_PATH.get(request.path)
        started = time.perf_counter()
        if channel:
            received[channel].inc()

        def finish(response: web.StreamResponse) -> None:
            elapsed = time.perf_counter() - started
            if channel:
                acked[channel].observe(elapsed)
            response.headers["X-Request-Id"] = request_id
            # Every refused or slow request is logged; a webhook answered 2xx in time is logged at
            # DEBUG only (most are everyday chat; the events acted on log a line of their own).
            quiet = channel is not None and response.status < 400 and elapsed < 1.0
            level = logging.DEBUG if quiet else logging.INFO
            if request.path not in ("/healthz", "/metrics", "/readyz") and log.isEnabledFor(level):
                log.log(
                    level,
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": request.method,
                        "path": request.path
                        if not request.path.startswith("/calendar/")
                        else "/calendar/…",
                        "status": response.status,
                        "ms": round(elapsed * 1000, 1),
                        "slack_retry": request.headers.get("X-Slack-Retry-Num"),
                    },
                )

        try:
            response = await handler(request)
        except web.HTTPException as exc:  # a 404 or 405 from the router: record it, re-raise
            finish(exc)
            raise
        finish(response)
        return response

    return middleware


async def metrics_view(request: web.Request) -> web.Response:
    metrics: Metrics = request.app[METRICS_KEY]
    body = await asyncio.to_thread(generate_latest, metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def readiness(engine, settings) -> dict:
    """Is the database answering, and is every configured channel completely configured?"""
    checks: dict[str, str] = {}
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
    if settings.has_slack:
        complete = bool(settings.slack_signing_secret or settings.slack_app_token)
        checks["slack"] = "ok" if complete else "missing signing secret or app token"
    checks["teams"] = "ok" if settings.has_teams else "local mode (no app id)"
    return checks


METRICS_KEY = web.AppKey("liaison_metrics", Metrics)
