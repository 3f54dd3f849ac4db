"""Signing in to the dashboard: `commitments dashboard` DMs a short-lived signed link, and the
page then keeps a signed session cookie. Standard library only (HMAC-SHA256).

A token is `<purpose>.<person id>.<expiry, unix seconds>.<signature>`, the signature being
HMAC-SHA256 over the first three parts with the deployment's secret, base64url. The purpose
("link", "session", or "state" for a Sign in with Slack round trip) keeps one from being
replayed as another. A link lives `LINK_MINUTES`; it is not single-use, because chat apps
fetch the links they show (Slack's unfurler would spend it before the person clicks).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

from handlers.commands import Query
from handlers.messages import Outgoing, Reply, ReplyKind
from handlers.org import Organisation
from handlers.turn import Turn, say
from storage.models import Person

LINK_MINUTES = 15
SESSION_HOURS = 8
PURPOSES = ("link", "session", "state")  # "state": a Sign in with Slack round trip


def sign(secret: bytes, purpose: str, person_id: int, expires: dt.datetime) -> str:
    body = f"{purpose}.{person_id}.{int(expires.timestamp())}"
    mac = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return f"{body}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def verify(secret: bytes, token: str, purpose: str, now: dt.datetime) -> int | None:
    """The person id a token was made for, if it is genuine, of this purpose and not expired."""
    parts = (token or "").split(".")
    if len(parts) != 4 or parts[0] != purpose or purpose not in PURPOSES:
        return None
    body = ".".join(parts[:3])
    mac = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    expected = base64.urlsafe_b64encode(mac).decode().rstrip("=")
    if not hmac.compare_digest(expected.encode(), parts[3].encode()):
        return None
    if not parts[1].isdigit() or not parts[2].isdigit():
        return None
    if int(parts[2]) <= now.timestamp():
        return None
    return int(parts[1])


def may_use_dashboard(org: Organisation, person: Person) -> bool:
    """Liaisons and admins, as for the IT and business figures (handlers.reports)."""
    return person.handle in org.admins or bool(org.liaison_units(person.handle))


def dashboard_units(org: Organisation, person: Person) -> list[str]:
    """The units whose dashboard a person sees: every unit for an admin, else theirs."""
    if person.handle in org.admins:
        return list(org.units)
    return org.liaison_units(person.handle)


def link_for(secret: bytes, public_url: str, person_id: int, now: dt.datetime) -> str:
    token = sign(secret, "link", person_id, now + dt.timedelta(minutes=LINK_MINUTES))
    return f"{public_url.rstrip('/')}/dashboard/signin?token={token}"


def dashboard_link(turn: Turn, command: Query | None = None) -> list[Outgoing]:
    """`commitments dashboard`: a sign-in link, as a DM to the person who asked."""
    me = turn.person
    if not may_use_dashboard(turn.bot.org, me):
        return say("The dashboard is for liaisons and admins.", private=True)
    url = link_for(turn.bot.dashboard_secret, turn.bot.public_url, me.id, turn.now())
    text = (
        f"Your dashboard: {url}\nThe link signs you in and works for {LINK_MINUTES} minutes; "
        "keep it to yourself."
    )
    dm = Outgoing(Reply(text, kind=ReplyKind.INFO), to_person=me.id)
    if turn.inbound.is_direct:
        return [dm]
    return [dm, *say("I've sent you a sign-in link in a direct message.", private=True)]
