"""What a person wrote in Slack, as readable text for the core: read once, on the way in.

Slack sends message and command text with `&`, `<` and `>` escaped (`&amp;`, `&lt;`, `&gt;`)
and its own markup between angle brackets: people (`<@U123>`), channels (`<#C123|parks>`),
links (`<https://example.org|the plan>`) and special mentions (`<!here>`). The core wants the
words: this module cuts the text to Slack's own limit first, turns the markup into what a person
would read, and unescapes each entity once, in one linear pass. People's mentions stay as
`<@U123>`, the form the core reads commands (`ask <@U123> ...`) and strips from titles by.

The way out is `blockkit.escape`: the three characters again, once, and nothing else.
"""

from __future__ import annotations

import re

SLACK_TEXT_LIMIT = 40_000  # the longest message text Slack accepts; nothing longer is real

# One token: Slack markup (no "<" or ">" inside, so a scan stops at the next bracket and
# thousands of unclosed "<" cost one pass) or one of the three entities Slack escapes.
_TOKEN = re.compile(r"<([^<>]*)>|&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_PERSON = re.compile(r"@[UW][A-Z0-9]+")
_CHANNEL = re.compile(r"#[CG][A-Z0-9]+")


def readable_text(text: str) -> str:
    """Slack's message text as a person reads it: cut to Slack's limit, `&amp;` as `&`,
    `<#C1|parks>` as `#parks`, `<https://x|label>` as `label (https://x)`, `<!here>` as
    `@here`; people's mentions kept as `<@U123>` for the core."""
    if not isinstance(text, str):
        return ""
    return _TOKEN.sub(_readable, text[:SLACK_TEXT_LIMIT])


def _unescape(text: str) -> str:
    return _TOKEN.sub(lambda m: _ENTITIES[m[2]] if m[2] else m[0], text)


def _readable(match: re.Match[str]) -> str:
    if match[2]:
        return _ENTITIES[match[2]]
    inner = match[1]
    target, _, label = inner.partition("|")
    label = _unescape(label).strip()
    if _PERSON.fullmatch(target):
        return f"<{target}>"  # the core reads and strips people's mentions itself
    if _CHANNEL.fullmatch(target):
        return f"#{label.lstrip('#')}" if label else target
    if target.startswith("!"):
        special = target[1:]
        if special in ("here", "channel", "everyone"):
            return f"@{special}"
        return label or f"@{special.partition('^')[0]}"
    if not target:
        return label
    url = _unescape(target)
    shown = url.removeprefix("mailto:")
    if not label or label in (shown, url) or shown.endswith("//" + label):
        return shown
    return f"{label} ({shown})"
