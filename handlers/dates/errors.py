"""What goes wrong reading a date, as sentences for the person who typed it."""

import datetime
from collections.abc import Sequence

from handlers.dates.days import format_day


class DateParseError(ValueError):
    """A due date that could not be used; str(err) is a friendly sentence for the person."""


class UncertainDateError(DateParseError):
    """A date was read, but not surely enough to store: the person confirms one in one step.

    `candidates` are the dates it may mean, the likeliest first; the sentence names them and
    the ISO form to type to confirm one, which always reads without a question.
    """

    def __init__(self, reason: str, candidates: Sequence[datetime.date]) -> None:
        self.reason = reason
        self.candidates = tuple(dict.fromkeys(candidates))
        shown = " or ".join(format_day(c) for c in self.candidates)
        typed = " or ".join(f"'by {c.isoformat()}'" for c in self.candidates)
        confirm = " to confirm" if len(self.candidates) == 1 else ""
        super().__init__(
            f"{reason} Did you mean {shown}? Say {typed}{confirm}, or give another date."
        )

    @property
    def candidate(self) -> datetime.date:
        """The likeliest date."""
        return self.candidates[0]
