"""The readings of the last few messages, kept so that a message looked at in several places
(a channel's fast path, its listener, the core) is read once.

One event is looked at by the Slack fast path on arrival, and by the listener and the core
after up to a full backlog of other events (1,000 jobs, bot/channels/slack/backlog.py): its
reading must still be kept then. The least recently used reading is forgotten first, one at a
time, and a long text is kept by its digest, so that the readings hold a few megabytes at
most, not thousands of long pastes.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

_NOTHING = object()
RECENT = 2048  # readings kept, in each place that keeps them
LONG_KEY = 2000  # characters: a longer text is found by its digest, not kept whole


def text_key(text: str) -> str | bytes:
    """What a kept reading of a text is found by: the text, or the digest of a long one."""
    if len(text) <= LONG_KEY:
        return text
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class Recent:
    """Readings by key, shared by threads: at most `size`, the least recently used forgotten
    first."""

    def __init__(self, size: int = RECENT) -> None:
        self.size, self._lock = size, threading.Lock()
        self._found: OrderedDict[Hashable, object] = OrderedDict()

    def recall(self, key: Hashable, default: object = None):
        """The reading kept for `key`, or `default`."""
        with self._lock:
            found = self._found.get(key, _NOTHING)
            if found is _NOTHING:
                return default
            self._found.move_to_end(key)
            return found

    def remember(self, key: Hashable, value: object) -> None:
        with self._lock:
            self._found[key] = value
            self._found.move_to_end(key)
            while len(self._found) > self.size:
                self._found.popitem(last=False)

    def get(self, key: Hashable, compute: Callable[[], object]):
        """The reading kept for `key` (None too), else `compute`'s, kept."""
        found = self.recall(key, _NOTHING)
        if found is _NOTHING:
            found = compute()  # outside the lock: two threads may both read a new message
            self.remember(key, found)
        return found

    def clear(self) -> None:
        with self._lock:
            self._found.clear()

    def __len__(self) -> int:
        return len(self._found)
