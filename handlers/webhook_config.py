"""The `[webhooks]` table of the organisation TOML: a URL per event, and the name of the
environment variable holding the HMAC secret (never the secret itself). Read by handlers.org."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

EVENTS = (
    "initiative.saved",
    "initiative.changed",
    "commitment.created",
    "commitment.changed",
    "escalation",
)


class WebhooksConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # event name -> URL, e.g. {"commitment.changed" = "https://example.org/hook"}
    urls: dict[str, str] = Field(default_factory=dict)
    secret_env: str = "LIAISON_WEBHOOK_SECRET"
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("urls")
    @classmethod
    def _urls(cls, value: dict[str, str]) -> dict[str, str]:
        for event, url in value.items():
            if event not in EVENTS:
                raise ValueError(f"unknown event {event!r}; the events are {', '.join(EVENTS)}")
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"the URL for {event} must start with https:// or http://")
        return value

    def url_for(self, event: str) -> str | None:
        return self.urls.get(event)
