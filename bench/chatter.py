"""Everyday channel chatter for the benchmarks: what a busy channel says that is not a signal.

Templates; `fill` puts in a number, a name and a month. Some are near misses on purpose ("I'm
buying lunch", "can we move the meeting").
"""

from __future__ import annotations

import random

MONTHS = ["January", "March", "May", "June", "September", "the spring", "the fall"]
NAMES = ["Tom", "Priya", "Sam", "Lee", "Ana", "Jo", "Marcus", "Keiko"]
CHATTER = [
    "Kickoff is on Friday, see you all there",
    "can someone send me the notes from yesterday?",
    "lol yes, that was a good one",
    "I think the report is mostly done but needs a review by {name}",
    "Running {n} minutes late to the standup",
    "Thanks everyone for the great work this week!",
    "Who has the key to the supply cupboard?",
    "The coffee machine on {n} is fixed again",
    "Happy birthday {name}! 🎂",
    "Is the {n}pm still on?",
    "ok, works for me",
    "Reminder: timesheets are due by noon",
    "Great presentation this morning, {name}",
    "Can we push the budget review to Thursday?",
    "I'm out tomorrow, {name} is covering the front desk",
    "Does anyone know where the extra chairs went?",
    "FYI the parking lot will be repainted this weekend",
    "Thanks, that fixed it",
    "Let's take this offline",
    "The quarterly numbers look good so far",
    "Who's bringing snacks for the all-hands?",
    "Sounds good 👍",
    "Please review the draft agenda before the meeting",
    "Shuttle leaves at 4:15 today because of the weather",
    "I'm buying lunch, anyone want a sandwich?",
    "can we move the meeting to {n}?",
    "Let's move on to the next item",
    "We moved here in 2015 and never looked back",
    "{name}, did you get my email about the invoices?",
    "The printer on the second floor is jammed again",
]


def fill(template: str, rng: random.Random) -> str:
    return template.format(n=rng.randint(2, 40), name=rng.choice(NAMES), month=rng.choice(MONTHS))


def plain(template: str) -> str:
    """A template filled the same way every time, for runs that must repeat exactly."""
    return template.format(n=3, name="Priya", month="March")
