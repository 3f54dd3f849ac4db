"""Settings from the environment and `.env`. The only module that reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from handlers.signals.second_opinion import DEFAULT_TIMEOUT, SecondOpinionSettings

DEFAULT_DATABASE_URL = "sqlite:///./liaison.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
VARIABLES = (
    "DATABASE_URL",
    "HOST",
    "PORT",
    "LIAISON_CONFIG",
    "LOG_LEVEL",
    "PUBLIC_URL",
    "LOG_FORMAT",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_SCOPES",
    "MICROSOFT_APP_ID",
    "MICROSOFT_APP_PASSWORD",
    "MICROSOFT_APP_TYPE",
    "MICROSOFT_APP_TENANT_ID",
    "TEAMS_EMULATOR",
    "TEAMS_SDK",
    "ADMIN_TOKEN",
    "ADMIN_PORT",
    "DATABASE_WAIT_SECONDS",
    "LIAISON_STATE_SECRET",
    "LIAISON_LLM_BASE_URL",
    "LIAISON_LLM_MODEL",
    "LIAISON_LLM_API_KEY",
    "LIAISON_LLM_TIMEOUT",
    "DASHBOARD_SECRET",
    "SPOOL_PATH",
)
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


class SettingsError(Exception):
    """A missing or inconsistent setting; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "0.0.0.0"
    port: int = 3000
    config_path: str = "./liaison.toml"
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    # Multi-workspace mode (Bolt's OAuth): installations are kept in the database instead of
    # one SLACK_BOT_TOKEN. SLACK_SCOPES overrides the manifest's bot scopes (comma-separated).
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_scopes: str | None = None
    microsoft_app_id: str | None = None
    microsoft_app_password: str | None = None
    microsoft_app_type: str = "SingleTenant"  # Azure creates no new multi-tenant bots
    microsoft_app_tenant_id: str | None = None
    teams_emulator: bool = False  # /api/messages without an app id: local development only
    teams_sdk: str = "botbuilder"  # or "agents": the Microsoft 365 Agents SDK (an optional extra)
    admin_token: str | None = None  # guards /metrics and /readyz on the public port
    admin_port: int | None = None  # or serves them on a port of their own
    database_wait_seconds: float = 60.0  # `serve` waits this long for a database that is away
    state_secret: str | None = None  # signs the state buttons and forms carry through clients
    spool_path: str = "./liaison-spool.jsonl"  # acknowledged events the database could not take
    log_level: str = "INFO"
    public_url: str = "http://localhost:3000"
    log_format: str | None = None  # json or text; default: text on a terminal, else JSON
    # Signs the dashboard's sign-in links and session cookies; unset, a random key per process
    # (links then work only on the replica that made them, until it restarts).
    dashboard_secret: str | None = None
    explicit: frozenset[str] = frozenset()  # the variables that were set, for defaults by mode
    # An OpenAI-compatible endpoint asked about borderline messages (LIAISON_LLM_*; off)
    second_opinion: SecondOpinionSettings = field(default_factory=SecondOpinionSettings)

    @property
    def has_slack(self) -> bool:
        return bool(self.slack_bot_token) or self.slack_multi_workspace

    @property
    def slack_multi_workspace(self) -> bool:
        """One deployment for many workspaces: each installs through /slack/install."""
        return bool(self.slack_client_id and self.slack_client_secret and not self.slack_bot_token)

    @property
    def has_teams(self) -> bool:
        return bool(self.microsoft_app_id)

    @property
    def serves_teams(self) -> bool:
        """Whether /api/messages answers at all: with Teams configured, or the emulator on."""
        return self.has_teams or self.teams_emulator

    def secrets(self) -> list[str]:
        """Values that must never reach a log."""
        values = (
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.slack_client_secret,
            self.microsoft_app_password,
            self.admin_token,
            self.state_secret,
            self.second_opinion.api_key,
            self.dashboard_secret,
        )
        return [v for v in values if v]

    def state_signing_secret(self) -> str | None:
        """What the state that travels through a client (button values, form state) is signed
        with: LIAISON_STATE_SECRET, else a secret each replica already shares (the Slack
        signing secret, the Socket Mode token, the Microsoft app password); None when there is
        none, and the state is then signed with a key that lives as long as the process."""
        candidates = (
            self.state_secret,
            self.slack_signing_secret,
            self.slack_app_token,
            self.microsoft_app_password,
        )
        return next((c for c in candidates if c), None)

    def channels(self) -> list[str]:
        """The chat channels configured; none means the terminal shell."""
        served = (("slack", self.has_slack), ("teams", self.serves_teams))
        return [name for name, on in served if on]


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv_path: str | Path | None = ".env"
) -> Settings:
    """Read settings: the real environment wins over `.env`, which wins over the defaults."""
    values: dict[str, str] = {}
    if dotenv_path and Path(dotenv_path).is_file():
        values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    get = lambda name: (values.get(name) or "").strip() or None  # noqa: E731

    port_text = get("PORT") or "3000"
    admin_port = get("ADMIN_PORT")
    for name, text in (("PORT", port_text), ("ADMIN_PORT", admin_port)):
        if text is not None and (not text.isdigit() or not 0 < int(text) < 65536):
            raise SettingsError(f"{name} must be a number between 1 and 65535, not '{text}'.")
    settings = Settings(
        database_url=get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        host=get("HOST") or "0.0.0.0",
        port=int(port_text),
        config_path=get("LIAISON_CONFIG") or "./liaison.toml",
        slack_bot_token=get("SLACK_BOT_TOKEN"),
        slack_signing_secret=get("SLACK_SIGNING_SECRET"),
        slack_app_token=get("SLACK_APP_TOKEN"),
        slack_api_url=_with_slash(get("SLACK_API_URL") or DEFAULT_SLACK_API_URL),
        slack_client_id=get("SLACK_CLIENT_ID"),
        slack_client_secret=get("SLACK_CLIENT_SECRET"),
        slack_scopes=get("SLACK_SCOPES"),
        microsoft_app_id=get("MICROSOFT_APP_ID"),
        microsoft_app_password=get("MICROSOFT_APP_PASSWORD"),
        microsoft_app_type=get("MICROSOFT_APP_TYPE") or "SingleTenant",
        microsoft_app_tenant_id=get("MICROSOFT_APP_TENANT_ID"),
        teams_emulator=(get("TEAMS_EMULATOR") or "").lower() in TRUE_WORDS,
        teams_sdk=(get("TEAMS_SDK") or "botbuilder").strip().lower(),
        admin_token=get("ADMIN_TOKEN"),
        admin_port=int(admin_port) if admin_port else None,
        database_wait_seconds=_seconds(get("DATABASE_WAIT_SECONDS"), "DATABASE_WAIT_SECONDS", 60),
        state_secret=get("LIAISON_STATE_SECRET"),
        spool_path=get("SPOOL_PATH") or _spool_beside(get("DATABASE_URL")),
        log_level=(get("LOG_LEVEL") or "INFO").upper(),
        public_url=(get("PUBLIC_URL") or f"http://localhost:{port_text}").rstrip("/"),
        log_format=(get("LOG_FORMAT") or "").lower() or None,
        dashboard_secret=get("DASHBOARD_SECRET"),
        explicit=frozenset(name for name in VARIABLES if get(name)),
        second_opinion=SecondOpinionSettings(
            base_url=get("LIAISON_LLM_BASE_URL"),
            model=get("LIAISON_LLM_MODEL"),
            api_key=get("LIAISON_LLM_API_KEY"),
            timeout=_seconds(get("LIAISON_LLM_TIMEOUT"), "LIAISON_LLM_TIMEOUT", DEFAULT_TIMEOUT),
        ),
    )
    _check(settings)
    if "LIAISON_CONFIG" in settings.explicit and not Path(settings.config_path).is_file():
        # Only the default path may be absent (the shipped defaults then apply): a file named
        # on purpose that is not there is a typo or a missing mount, never "no settings".
        raise SettingsError(
            f"LIAISON_CONFIG names {settings.config_path}, which does not exist. Check the path "
            "(relative paths start from the folder the bot runs in), or unset it to use "
            "./liaison.toml or the built-in defaults."
        )
    return settings


def _spool_beside(database_url: str | None) -> str:
    """The spool's default: next to the SQLite file (on the container's /data volume), else in
    the folder the bot runs in."""
    url = database_url or DEFAULT_DATABASE_URL
    if url.startswith("sqlite:///") and ":memory:" not in url:
        database = Path(url.removeprefix("sqlite:///"))
        return str(database.with_name(f"{database.stem}-spool.jsonl"))
    return "./liaison-spool.jsonl"


def _seconds(text: str | None, name: str, default: float) -> float:
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise SettingsError(f"{name} must be a number of seconds from 0 to 3600, not '{text}'.")
    return value


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _check(s: Settings) -> None:
    """Half-filled channel settings fail at start, naming the variable, not at the first event."""
    _check_slack_oauth(s)
    if s.slack_bot_token and not (s.slack_signing_secret or s.slack_app_token):
        raise SettingsError(
            "SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not (or SLACK_APP_TOKEN for "
            "Socket Mode). Copy it from your Slack app's Basic Information page."
        )
    if (s.slack_signing_secret or s.slack_app_token) and not s.has_slack:
        raise SettingsError(
            "SLACK_BOT_TOKEN is missing. Copy the Bot User OAuth Token (xoxb-...) from your "
            "Slack app's OAuth & Permissions page."
        )
    if s.slack_app_token and not s.slack_app_token.startswith("xapp-"):
        raise SettingsError("SLACK_APP_TOKEN must be an app-level token starting with 'xapp-'.")
    if s.microsoft_app_password and not s.microsoft_app_id:
        raise SettingsError("MICROSOFT_APP_PASSWORD is set but MICROSOFT_APP_ID is not.")
    managed = s.microsoft_app_type == "UserAssignedMSI"
    if s.microsoft_app_id and not s.microsoft_app_password and not managed:
        raise SettingsError("MICROSOFT_APP_ID is set but MICROSOFT_APP_PASSWORD is not.")
    if managed and s.microsoft_app_id and not s.microsoft_app_tenant_id:
        raise SettingsError(
            "MICROSOFT_APP_TENANT_ID is required when MICROSOFT_APP_TYPE=UserAssignedMSI."
        )
    if s.teams_sdk not in ("botbuilder", "agents"):
        raise SettingsError(
            f"TEAMS_SDK must be botbuilder (the default) or agents, not '{s.teams_sdk}'."
        )
    if s.log_format not in (None, "json", "text"):
        raise SettingsError("LOG_FORMAT must be json or text.")
    if s.microsoft_app_type not in ("MultiTenant", "SingleTenant", "UserAssignedMSI"):
        raise SettingsError(
            "MICROSOFT_APP_TYPE must be MultiTenant, SingleTenant or UserAssignedMSI."
        )
    if s.microsoft_app_type == "SingleTenant" and s.has_teams and not s.microsoft_app_tenant_id:
        raise SettingsError(
            "MICROSOFT_APP_TENANT_ID is required when MICROSOFT_APP_TYPE=SingleTenant (the "
            "default: Azure creates only single-tenant bots). Copy the Directory (tenant) ID "
            "from the bot's app registration."
        )
    if s.microsoft_app_tenant_id and s.microsoft_app_type == "MultiTenant":
        raise SettingsError(
            "MICROSOFT_APP_TENANT_ID is set, but MICROSOFT_APP_TYPE=MultiTenant would accept "
            "every tenant and ignore it. Use MICROSOFT_APP_TYPE=SingleTenant."
        )
    if s.admin_port is not None and s.admin_port == s.port:
        raise SettingsError(
            "ADMIN_PORT must differ from PORT: it keeps /metrics off the public port."
        )


def _check_slack_oauth(s: Settings) -> None:
    """Multi-workspace mode: both OAuth credentials, a signing secret, and no single token."""
    if bool(s.slack_client_id) != bool(s.slack_client_secret):
        missing = "SLACK_CLIENT_SECRET" if s.slack_client_id else "SLACK_CLIENT_ID"
        raise SettingsError(
            f"{missing} is missing: multi-workspace mode needs both SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET (Basic Information > App Credentials in your Slack app)."
        )
    if s.slack_client_id and s.slack_bot_token:
        raise SettingsError(
            "SLACK_BOT_TOKEN and SLACK_CLIENT_ID are both set. Choose one mode: SLACK_BOT_TOKEN "
            "for one workspace, or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (without "
            "SLACK_BOT_TOKEN) to let many workspaces install the app through /slack/install."
        )
    if s.slack_multi_workspace and not (s.slack_signing_secret or s.slack_app_token):
        raise SettingsError(
            "SLACK_SIGNING_SECRET is missing: multi-workspace mode receives events over HTTP "
            "unless SLACK_APP_TOKEN (xapp-...) turns on Socket Mode. Copy the signing secret "
            "from your Slack app's Basic Information page, or set SLACK_APP_TOKEN; the install "
            "pages (/slack/install, /slack/oauth_redirect) are served over HTTP either way."
        )


def secret_named(
    name: str, environ: Mapping[str, str] | None = None, dotenv_path: str | Path | None = ".env"
) -> str | None:
    """A secret whose variable the organisation's config names (the webhooks' HMAC key,
    `[webhooks] secret_env`): the environment wins over `.env`."""
    values: dict[str, str] = {}
    if dotenv_path and Path(dotenv_path).is_file():
        values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    return (values.get(name) or "").strip() or None
