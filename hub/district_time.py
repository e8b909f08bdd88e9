"""The district's clock: Vietnam time (UTC+7 all year, no daylight saving), in which the staff read times and days.

The hub keeps its own times in UTC; what a person reads (a time on a page, "today" for a date that may not be in the
future, the day coverage is counted on) is in Vietnam time, wherever the hub's machine clock is set.
"""

from __future__ import annotations

import datetime

VIETNAM = datetime.timezone(datetime.timedelta(hours=7), "ICT")


def local_day(now: datetime.datetime) -> datetime.date:
    """The day it is in the district at ``now`` (an aware datetime, the hub's clock)."""
    return now.astimezone(VIETNAM).date()
