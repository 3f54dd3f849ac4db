"""Reading and forging the sealed state a client carries (bot.channels.interactions.seal), as
a test sees it: the JSON inside, and the same text with changes but the old signature, which is
what someone who changed a button's value or a form's state without the server key would send."""

from __future__ import annotations

import json
from typing import Any


def sealed_document(sealed: str) -> dict[str, Any]:
    """The JSON document inside a sealed value (not checked: a test reads what it was sent)."""
    text = sealed.split(".", 2)[2]
    return json.loads(text) if text else {}


def forged(sealed: str, **changes: Any) -> str:
    """`sealed` with `changes` made to its document and its old signature kept."""
    prefix, mac, text = sealed.split(".", 2)
    document = {**(json.loads(text) if text else {}), **changes}
    return f"{prefix}.{mac}.{json.dumps(document, separators=(',', ':'))}"
