"""resolve_person: the one rule for a typed person, however a channel wrote them."""

from __future__ import annotations

import pytest

from handlers.commands import Mention
from handlers.people import by_handle, resolve_person
from storage.db import session_scope


@pytest.mark.parametrize(
    ("typed", "channel", "expected"),
    [
        ("me", "shell", "pat"),
        ("Myself", "shell", "pat"),
        ("I", "shell", "pat"),
        ("@sam", "shell", "sam"),
        ("ask @sam and @lee", "shell", "sam"),
        ("<@U0SAMRIVRA>", "slack", "sam"),
        ("<@U0SAMRIVRA|sam>", "slack", "sam"),
        ("<at>Sam Rivera</at>", "teams", "sam"),
        ("@nobody", "shell", None),
        ("sam", "shell", None),  # a bare word is not a mention
        ("", "shell", None),
    ],
)
def test_a_typed_person_is_resolved_the_same_way_everywhere(liaison, typed, channel, expected):
    with session_scope(liaison.engine) as session:
        pat = by_handle(session, "pat")
        found = resolve_person(session, typed, pat, channel)
        assert (found.handle if found else None) == expected


def test_a_parsed_me_mention_is_the_person_typing(liaison):
    with session_scope(liaison.engine) as session:
        pat = by_handle(session, "pat")
        assert resolve_person(session, Mention.me(), pat) is pat
        assert resolve_person(session, Mention("lee", None, None), pat).handle == "lee"
