"""Natural due dates: turn what a person typed ("by next Friday", "in ten months") into a date.

People say when something is due in many ways, and a wrong date is worse than a question, so
`parse_due` either returns a date that is today or later (unless past dates are allowed), or
raises `DateParseError` whose text is a friendly sentence for the person. How phrases are read:

- A leading "by", "on", "before", "due", "until", "no later than" or "in time for" is ignored.
- Numeric dates are ISO (2027-03-01) or US month/day order: "3/1/2027" and "3/1" are 1 March.
- A date without a year ("March 1", "3/1", "the 15th") is its next occurrence, today included.
- A weekday ("Friday", "next Friday") is the next such day after today; "this Friday" may be today.
- "mid-March" is the 15th.
- A period means its first day: "March" and "March 2027" (1 March), "next week" (Monday),
  "next month", "next quarter" and "Q3" (calendar quarters), "next year" (1 January), and the
  seasons, which start on the first of March, June, September and December (meteorological
  seasons, northern hemisphere). Said inside the period, "this summer" is the start already
  passed, while "summer" is next year's.
- "end of March", "end of next month", "end of the quarter", "end of the year", and "this
  week", "this month" or "this year", mean the period's last day; a week ends on its Friday.
- "in 10 months", "in two weeks", "3 business days", "a week from today" count from today.
- Anything else is handed to the dateparser library, preferring future dates.

The package: `reading` (parse_due and its readers), `refusals` (DateParseError and its
sentences), `spans` (business days, period ends, a date in words) and `words` (the vocabulary).
"""

from handlers.dates.reading import parse_due
from handlers.dates.refusals import DateParseError
from handlers.dates.spans import add_business_days, business_days_between, describe_date
from handlers.dates.words import DEFAULT_BUSINESS_DAYS, MAX_DATE_TEXT

__all__ = [
    "DEFAULT_BUSINESS_DAYS",
    "MAX_DATE_TEXT",
    "DateParseError",
    "add_business_days",
    "business_days_between",
    "describe_date",
    "parse_due",
]
