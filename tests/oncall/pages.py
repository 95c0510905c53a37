"""Reading the on-call pages in tests: signing in, a schedule's address, the calendar's cells."""

import re

# What a destructive form's second step posts (ops.confirm): without it the view only asks.
CONFIRMED = {"confirmed": "yes"}


def signed_in(client, user):
    client.force_login(user)
    return client


def page(schedule, **query):
    url = f"/schedules/{schedule.pk}/"
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def cell(html: str, row: str, day: str) -> str:
    match = re.search(
        rf'<td class="calendar__cell[^"]*" data-row="{row}" data-day="{day}">(.*?)</td>',
        html,
        re.S,
    )
    assert match is not None, f"no {row} cell on {day}"
    return match[1]


def people_in(html: str, row: str, day: str) -> list[str]:
    return re.findall(r'data-user="([^"]+)"', cell(html, row, day))
