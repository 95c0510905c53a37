"""timezone.now moved by hand, so each step of a test happens at a known time."""

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    """Stands in for timezone.now (the `clock` fixture puts it there), starting at T0."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, *, hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
        """Move on by the given time, a minute when none is given; the new now."""
        step = timedelta(hours=hours, minutes=minutes, seconds=seconds) or timedelta(minutes=1)
        self.now += step
        return self.now
