"""Charts drawn on the server as inline SVG: no JavaScript, no charting library to ship or
keep up to date, and the numbers are in the page itself (each bar carries its month and rate),
so the page works with scripts off and a test can read what a person sees."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from markupsafe import Markup, escape

from handlers.dashboard import MonthFigure, Planned

BAR_WIDTH, GAP, HEIGHT, TOP, BOTTOM = 44, 14, 120, 18, 34


def on_time_bars(label: str, months: Sequence[MonthFigure]) -> Markup:
    """One bar per month, as tall as the on-time rate; a month with nothing due has no bar."""
    width = len(months) * (BAR_WIDTH + GAP) + GAP
    total = HEIGHT + TOP + BOTTOM
    parts = [
        f'<svg class="bars" role="img" viewBox="0 0 {width} {total}" width="{width}" '
        f'height="{total}" data-scope="{escape(label)}" aria-label="On time per month, '
        f'{escape(label)}">',
        f'<line x1="0" y1="{TOP + HEIGHT}" x2="{width}" y2="{TOP + HEIGHT}" class="axis"/>',
    ]
    for index, month in enumerate(months):
        x = GAP + index * (BAR_WIDTH + GAP)
        name = dt.date.fromisoformat(f"{month.month}-01").strftime("%b")
        parts.append(
            f'<text x="{x + BAR_WIDTH / 2}" y="{TOP + HEIGHT + 14}" class="tick">{name}</text>'
        )
        if month.rate is None:
            parts.append(
                f'<text x="{x + BAR_WIDTH / 2}" y="{TOP + HEIGHT - 4}" class="none">–</text>'
            )
            continue
        tall = max(round(HEIGHT * month.rate / 100), 1)
        parts.append(
            f'<rect class="bar" x="{x}" y="{TOP + HEIGHT - tall}" width="{BAR_WIDTH}" '
            f'height="{tall}" data-month="{month.month}" data-rate="{month.rate}" '
            f'data-due="{month.due}" data-kept="{month.kept}">'
            f"<title>{name}: {month.kept} of {month.due} on time</title></rect>"
        )
        parts.append(
            f'<text x="{x + BAR_WIDTH / 2}" y="{TOP + HEIGHT - tall - 4}" class="value">'
            f"{month.rate}%</text>"
        )
        parts.append(
            f'<text x="{x + BAR_WIDTH / 2}" y="{TOP + HEIGHT + 28}" class="count">'
            f"{month.kept}/{month.due}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def timeline(items: Sequence[Planned], today: dt.date) -> Markup:
    """The initiatives on one axis of target dates, today marked; one row each."""
    dated = [i for i in items if i.target]
    if not dated:
        return Markup('<p class="empty">No open initiative has a target date yet.</p>')
    start = min(min(i.target for i in dated), today) - dt.timedelta(days=15)
    end = max(max(i.target for i in dated), today) + dt.timedelta(days=15)
    span = max((end - start).days, 1)
    left, width, row = 260, 560, 22
    height = row * len(dated) + 44

    def x(day: dt.date) -> float:
        return round(left + width * (day - start).days / span, 1)

    parts = [
        f'<svg class="timeline" role="img" viewBox="0 0 {left + width + 20} {height}" '
        f'width="{left + width + 20}" height="{height}" aria-label="Initiatives by target date">',
        f'<line x1="{x(today)}" y1="0" x2="{x(today)}" y2="{height - 30}" class="today"/>',
        f'<text x="{x(today)}" y="{height - 18}" class="tick">today</text>',
    ]
    month = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    while month < end:
        parts.append(f'<text x="{x(month)}" y="{height - 4}" class="tick">{month:%b %y}</text>')
        month = (month + dt.timedelta(days=32)).replace(day=1)
    for index, item in enumerate(dated):
        y = 14 + index * row
        title = item.title if len(item.title) <= 34 else item.title[:33] + "…"
        parts.append(
            f'<text x="{left - 10}" y="{y + 4}" class="label">#{item.id} {escape(title)}</text>'
        )
        parts.append(
            f'<circle cx="{x(item.target)}" cy="{y}" r="6" class="dot" '
            f'data-initiative="{item.id}" data-target="{item.target.isoformat()}">'
            f"<title>{escape(item.unit)}: {escape(item.title)}, "
            f"{item.target:%d %b %Y}</title></circle>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
