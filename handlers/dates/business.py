"""Business days: the organisation's working weekdays, less its public holidays."""

import datetime
import functools
from collections.abc import Container, Iterable

from handlers.dates.days import as_date

DEFAULT_BUSINESS_DAYS: tuple[int, ...] = (0, 1, 2, 3, 4)


class BusinessDays(tuple[int, ...]):
    """The weekdays that are business days (Monday is 0), and the public holidays that are not.

    A tuple of weekday numbers, so code that only knows weekdays keeps working, with the
    organisation's holiday calendar (any container of dates, such as `holiday_calendar`'s)
    attached for `add_business_days`, `business_days_between` and `is_business_day`.
    """

    holidays: Container[datetime.date]

    def __new__(
        cls,
        weekdays: Iterable[int] = DEFAULT_BUSINESS_DAYS,
        holidays: Container[datetime.date] = frozenset(),
    ) -> "BusinessDays":
        made = super().__new__(cls, weekdays)
        made.holidays = holidays
        return made


@functools.lru_cache(maxsize=16)
def holiday_calendar(country: str, subdiv: str | None = None) -> Container[datetime.date]:
    """The public holidays of a country (ISO 3166 code) and optional subdivision ("US", "IL"),
    from the `holidays` library; raises ValueError with a sentence for the admin if unknown."""
    import holidays  # imported here: most organisations never need it

    try:
        calendar_ = holidays.country_holidays(country.upper(), subdiv=subdiv)
    except NotImplementedError:
        if subdiv:
            raise ValueError(
                f"'{subdiv}' is not a subdivision of '{country}' that I know holidays for"
            ) from None
        raise ValueError(
            f"'{country}' is not a country I know holidays for; use an ISO code such as 'US'"
        ) from None
    for year in range(2000, 2101):  # filled now, so reading it later never changes it
        datetime.date(year, 1, 1) in calendar_  # noqa: B015 - the lookup fills the year
    return calendar_


def is_business_day(
    day: datetime.datetime | datetime.date,
    business_days: Iterable[int] = DEFAULT_BUSINESS_DAYS,
) -> bool:
    """Whether work is expected on `day`: one of the business weekdays and not a holiday (when
    `business_days` is a `BusinessDays` that carries holidays)."""
    d = as_date(day)
    return d.weekday() in business_day_set(business_days) and d not in holidays_of(business_days)


def add_business_days(
    start: datetime.datetime | datetime.date,
    n: int,
    business_days: Iterable[int] = DEFAULT_BUSINESS_DAYS,
) -> datetime.datetime | datetime.date:
    """Step `n` business days from `start` (backwards if negative), keeping any time of day.

    Business days are weekday numbers, Monday being 0, less the holidays of a `BusinessDays`.
    Used for rules such as "a request nobody answered after 2 business days". Starting on a
    Saturday, one business day on is Monday.
    """
    days, holidays = business_day_set(business_days), holidays_of(business_days)
    step = datetime.timedelta(days=1 if n >= 0 else -1)
    moment = start
    for _ in range(abs(n)):
        moment += step
        while moment.weekday() not in days or as_date(moment) in holidays:
            moment += step
    return moment


def business_days_between(
    a: datetime.datetime | datetime.date,
    b: datetime.datetime | datetime.date,
    business_days: Iterable[int] = DEFAULT_BUSINESS_DAYS,
) -> int:
    """Count the business days after `a` up to and including `b`, by date (times are ignored).

    Negative when `b` is before `a`. `business_days_between(a, add_business_days(a, n)) == n`
    for any n >= 0. Holidays of a `BusinessDays` that fall on business weekdays don't count.
    """
    days = business_day_set(business_days)
    first, last = as_date(a), as_date(b)
    if last < first:
        return -business_days_between(last, first, business_days)
    span = (last - first).days
    full_weeks, rest = divmod(span, 7)
    count = full_weeks * len(days)
    for offset in range(1, rest + 1):
        if (first + datetime.timedelta(days=full_weeks * 7 + offset)).weekday() in days:
            count += 1
    return count - len(holidays_within(business_days, days, first, last))


def business_day_set(business_days: Iterable[int]) -> frozenset[int]:
    days = frozenset(business_days)
    if not days or not days <= set(range(7)):
        raise ValueError("business_days must name at least one weekday, 0 (Monday) to 6")
    return days


def holidays_of(business_days: Iterable[int]) -> Container[datetime.date]:
    return business_days.holidays if isinstance(business_days, BusinessDays) else frozenset()


def holidays_within(
    business_days: Iterable[int], days: frozenset[int], first: datetime.date, last: datetime.date
) -> list[datetime.date]:
    """The holidays after `first` up to and including `last` that fall on business weekdays."""
    holidays = holidays_of(business_days)
    if not isinstance(holidays, Iterable):
        return [
            first + datetime.timedelta(days=offset)
            for offset in range(1, (last - first).days + 1)
            if first + datetime.timedelta(days=offset) in holidays
            and (first + datetime.timedelta(days=offset)).weekday() in days
        ]
    for year in range(first.year, last.year + 1):
        datetime.date(year, 1, 1) in holidays  # noqa: B015 - a holidays calendar fills the year
    return [d for d in holidays if first < d <= last and d.weekday() in days]
