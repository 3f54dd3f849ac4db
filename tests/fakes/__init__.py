"""Hand-written fakes of the services the bot talks to, served over real HTTP on 127.0.0.1."""

from tests.fakes.slack_api import Call, FakeSlack

__all__ = ["Call", "FakeSlack"]
