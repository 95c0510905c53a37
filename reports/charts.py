"""The report page's trend charts as geometry the template draws as inline SVG.

Computed here rather than drawn by a script: the page needs no chart library, works without
JavaScript, and obeys the CSP (no inline scripts, no inline styles; the SVG takes its colours
from CSS classes). Every chart also carries its own words (a title and a description for
assistive technology), and the page prints its data as a table beside it.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from reports.durations import duration_text
from reports.months import MONTH_NAMES
from reports.report import TrendPoint

WIDTH = 640
HEIGHT = 260
# Room for the value axis' labels on the left, and for two rows of month labels and a row
# of counts (n) below the plot.
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 76, WIDTH - 12, 18, HEIGHT - 58
# At most this many intervals on the value axis: enough to read a value off, few enough to
# leave the labels room.
MAX_INTERVALS = 4
BAR_SHARE = 0.6  # of a month's slot

# Steps for an axis of durations, in seconds: each a unit people count in.
DURATION_STEPS = [
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    2 * 60,
    5 * 60,
    10 * 60,
    15 * 60,
    30 * 60,
    3600,
    2 * 3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86400,
    2 * 86400,
    7 * 86400,
    14 * 86400,
    28 * 86400,
]
MONTH_ABBREVIATIONS = [name[:3] for name in MONTH_NAMES]


def human_duration(value: float | timedelta | None) -> str:
    """A duration as the whole report prints it (reports.durations)."""
    return duration_text(value)


def tick_duration(seconds: float) -> str:
    """An axis label: "0", "30 s", "15 min", "1 h 30 min", "2 d" (ticks fall on whole units)."""
    whole = round(seconds)
    if whole == 0:
        return "0"
    if whole % 86400 == 0:
        return f"{whole // 86400} d"
    return human_duration(whole).replace(" 00 min", "").replace(" 00 s", "")


@dataclass(frozen=True)
class Scale:
    top: float  # the value at the top of the plot
    ticks: list[float]  # values with a grid line, 0 first

    def y(self, value: float) -> float:
        height = PLOT_BOTTOM - PLOT_TOP
        return round(PLOT_BOTTOM - value / self.top * height, 1)


def count_steps() -> list[int]:
    return [base * 10**power for power in range(7) for base in (1, 2, 5)]


def nice_scale(maximum: float, steps: Sequence[float]) -> Scale:
    """The smallest step that reaches `maximum` in at most MAX_INTERVALS; an empty chart gets
    one interval of the smallest step, so its axis still reads."""
    step = next((step for step in steps if math.ceil(maximum / step) <= MAX_INTERVALS), steps[-1])
    intervals = max(math.ceil(maximum / step), 1)
    return Scale(top=step * intervals, ticks=[step * index for index in range(intervals + 1)])


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Column:
    """One month along the bottom."""

    x: float  # its centre
    month: str  # "Nov"
    year: str  # on the first month and on each January, so the axis says which year
    note: str  # under the month: how many incidents a duration stands for ("n 4")
    current: bool  # the report's own month, drawn apart


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: str  # printed above the bar
    title: str  # read on hover and by screen readers
    current: bool

    @property
    def centre(self) -> float:
        return round(self.x + self.width / 2, 1)

    @property
    def value_y(self) -> float:
        return round(self.y - 5, 1)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Series:
    key: str  # CSS modifier: chart__line--mean
    label: str
    # Runs of consecutive measured months, each an SVG `points` attribute: a month where
    # nothing was measured is a gap, not a fall to zero.
    runs: list[str]
    points: list[Point]


@dataclass(frozen=True)
class Chart:
    key: str  # element ids start with it
    title: str
    description: str
    ticks: list[Tick]
    columns: list[Column]
    bars: list[Bar]
    series: list[Series]
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_BOTTOM

    # Where the labels go: the value axis' left of the plot, three rows of text below it.
    @property
    def tick_x(self) -> int:
        return self.plot_left - 8

    @property
    def month_y(self) -> int:
        return self.plot_bottom + 16

    @property
    def year_y(self) -> int:
        return self.plot_bottom + 31

    @property
    def note_y(self) -> int:
        return self.plot_bottom + 48


def _columns(trend: Sequence[TrendPoint], notes: Sequence[str]) -> list[Column]:
    slot = (PLOT_RIGHT - PLOT_LEFT) / max(len(trend), 1)
    columns = []
    for index, (point, note) in enumerate(zip(trend, notes, strict=True)):
        month = point.month
        columns.append(
            Column(
                x=round(PLOT_LEFT + slot * (index + 0.5), 1),
                month=MONTH_ABBREVIATIONS[month.month - 1],
                year=str(month.year) if index == 0 or month.month == 1 else "",
                note=note,
                current=index == len(trend) - 1,
            )
        )
    return columns


def _ticks(scale: Scale, label: Callable[[float], str]) -> list[Tick]:
    return [Tick(y=scale.y(value), label=label(value)) for value in scale.ticks]


def _span(trend: Sequence[TrendPoint]) -> str:
    return f"{trend[0].month.label} to {trend[-1].month.label}"


def incidents_chart(trend: Sequence[TrendPoint]) -> Chart:
    """Incidents per month as bars, the report's month (the last) drawn apart."""
    counts = [point.incidents for point in trend]
    scale = nice_scale(max(counts, default=0), count_steps())
    columns = _columns(trend, [""] * len(trend))
    width = round((PLOT_RIGHT - PLOT_LEFT) / max(len(trend), 1) * BAR_SHARE, 1)
    bars = []
    for point, column in zip(trend, columns, strict=True):
        top = scale.y(point.incidents)
        bars.append(
            Bar(
                x=round(column.x - width / 2, 1),
                y=top,
                width=width,
                height=round(PLOT_BOTTOM - top, 1),
                value=str(point.incidents),
                title=f"{point.month.label}: {_incidents(point.incidents)}",
                current=column.current,
            )
        )
    if trend:
        last = trend[-1]
        description = (
            f"Incidents that started each month, {_span(trend)}: from {min(counts)} to "
            f"{max(counts)} a month; {_incidents(last.incidents)} in {last.month.label}."
        )
    else:
        description = "No month to show."
    return Chart(
        key="trend-incidents",
        title="Incidents per month",
        description=description,
        ticks=_ticks(scale, lambda value: str(round(value))),
        columns=columns,
        bars=bars,
        series=[],
    )


def _series(
    key: str,
    label: str,
    noun: str,
    values: Sequence[float | None],
    trend: Sequence[TrendPoint],
    columns: Sequence[Column],
    scale: Scale,
) -> Series:
    runs: list[list[str]] = [[]]
    points = []
    for value, point, column in zip(values, trend, columns, strict=True):
        if value is None:
            runs.append([])
            continue
        y = scale.y(value)
        runs[-1].append(f"{column.x},{y}")
        title = (
            f"{point.month.label}: {noun} {human_duration(value)} over {_incidents(point.mttr.n)}"
        )
        points.append(Point(x=column.x, y=y, title=title))
    return Series(key=key, label=label, runs=[" ".join(run) for run in runs if run], points=points)


def mttr_chart(trend: Sequence[TrendPoint]) -> Chart:
    """Time to resolve per month: its mean (the MTTR) and its median as two lines, with how
    many incidents each month's figures stand for under the month."""
    means = [point.mttr.mean for point in trend]
    medians = [point.mttr.median for point in trend]
    measured_means = [value for value in means if value is not None]
    measured = measured_means + [value for value in medians if value is not None]
    scale = nice_scale(max(measured, default=0), DURATION_STEPS)
    columns = _columns(trend, [f"n {point.mttr.n}" for point in trend])
    series = [
        _series("mean", "Mean (MTTR)", "mean", means, trend, columns, scale),
        _series("median", "Median", "median", medians, trend, columns, scale),
    ]
    if not trend:
        description = "No month to show."
    elif not measured_means:
        description = f"No incident was resolved, {_span(trend)}."
    else:
        last = trend[-1]
        this_month = (
            f"in {last.month.label}, mean {human_duration(last.mttr.mean)} and median "
            f"{human_duration(last.mttr.median)} over {_incidents(last.mttr.n)}"
            if last.mttr.n
            else f"no incident of {last.month.label} resolved"
        )
        description = (
            f"Mean and median time to resolve of the incidents that started each month, "
            f"{_span(trend)}: the mean from {human_duration(min(measured_means))} to "
            f"{human_duration(max(measured_means))}; {this_month}."
        )
    return Chart(
        key="trend-mttr",
        title="Time to resolve per month",
        description=description,
        ticks=_ticks(scale, tick_duration),
        columns=columns,
        bars=[],
        series=series,
    )


def _incidents(count: int) -> str:
    return f"{count} incident" if count == 1 else f"{count} incidents"
