"""What every rule of the measure engine works in: the store (an Ibis backend), the periods asked for,
and the small Ibis helpers the rules share (times between events, period of an event, census grids).

Only portable Ibis operations are used, so that the same rules run on DuckDB and on Spark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

from icsys.errors import InputError
from icsys.performance.organisations import Hierarchy

# A quarter is a calendar quarter (the NHS's financial quarters: April-June is quarter 1); a year is the
# financial year, April to March.
Period = Literal["day", "week", "month", "quarter", "year"]
PERIODS: tuple[Period, ...] = ("day", "week", "month", "quarter", "year")
PERIOD_WORDS = "day, week, month, quarter or year (a financial year, April to March)"
_TRUNCATE = {"day": "D", "week": "W", "month": "M", "quarter": "Q"}
_MONTHS = {"month": 1, "quarter": 3, "year": 12}


class MeasureError(InputError):
    """A measure that cannot be computed as asked (bad period or dates, a standard that does not apply)."""


def period_start(day: date, period: Period) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    if period == "year":
        return date(day.year if day.month >= 4 else day.year - 1, 4, 1)
    return day


def next_period(start: date, period: Period) -> date:
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    total = start.year * 12 + start.month - 1 + _MONTHS[period]
    return date(total // 12, total % 12 + 1, 1)


def period_starts(start: date, end: date, period: Period) -> list[date]:
    """Starts of every period from the one holding `start` to the one holding `end`."""
    out, day = [], period_start(start, period)
    while day <= end:
        out.append(day)
        day = next_period(day, period)
    return out


@dataclass
class Frame:
    """The store and the periods: `start` is the first day of the first period and `end` the last day of
    the last, whole periods always."""

    con: Any
    period: Period
    start: date
    end: date
    hierarchy: Hierarchy
    bed_scale: float = 1.0  # a synthetic store built at a fraction of the population has that share of beds
    _cache: dict[str, ir.Table] = field(default_factory=dict)

    @classmethod
    def create(cls, con: Any, period: str, start: date, end: date, hierarchy: Hierarchy,
               bed_scale: float = 1.0) -> Frame:
        if period not in PERIODS:
            raise MeasureError(f"--period {period!r}: use {PERIOD_WORDS}")
        if start > end:
            raise MeasureError(f"--from {start} is after --to {end}")
        starts = period_starts(start, end, period)  # type: ignore[arg-type]
        return cls(con, period, starts[0], next_period(starts[-1], period) - timedelta(days=1),  # type: ignore[arg-type]
                   hierarchy, bed_scale)

    def table(self, name: str) -> ir.Table:
        if name not in self._cache:
            self._cache[name] = self.con.table(name)
        return self._cache[name]

    # --- time --------------------------------------------------------------------------------

    @property
    def start_ts(self) -> ir.TimestampScalar:
        return ibis.literal(datetime.combine(self.start, datetime.min.time()))

    @property
    def end_ts(self) -> ir.TimestampScalar:
        """The instant the last period ends (midnight after its last day)."""
        return ibis.literal(datetime.combine(self.end + timedelta(days=1), datetime.min.time()))

    def in_range(self, column: ir.Value) -> ir.BooleanValue:
        if column.type().is_timestamp():
            return (column >= self.start_ts) & (column < self.end_ts)
        return (column >= ibis.literal(self.start)) & (column <= ibis.literal(self.end))

    def period_of(self, column: ir.Value) -> ir.DateValue:
        """The first day of the period an event falls in."""
        day = column.date() if column.type().is_timestamp() else column
        if self.period == "year":  # 1 April of the financial year
            return ibis.date(day.year() - (day.month() < 4).cast("int32"), 4, 1)
        return day.truncate(_TRUNCATE[self.period])

    def starts(self) -> list[date]:
        return period_starts(self.start, self.end, self.period)

    def census_grid(self) -> ir.Table:
        """One row a period: its first day, census date (its last day), the day a year before the
        census, and its length in days."""
        starts = self.starts()
        ends = [next_period(s, self.period) - timedelta(days=1) for s in starts]
        return ibis.memtable({
            "period": starts, "census": ends, "year_before": [e - timedelta(days=365) for e in ends],
            "days": [(e - s).days + 1 for s, e in zip(starts, ends, strict=True)],
        }, schema={"period": "date", "census": "date", "year_before": "date", "days": "int64"})

    def day_grid(self) -> ir.Table:
        """One row a day: its period and the midnight census instant at the end of the day."""
        days = [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]
        return ibis.memtable({
            "period": [period_start(d, self.period) for d in days],
            "instant": [datetime.combine(d + timedelta(days=1), datetime.min.time()) for d in days],
        }, schema={"period": "date", "instant": "timestamp"})

    def period_grid(self) -> ir.Table:
        """One row a period with the instants it opens and closes, for overlaps of stays with periods."""
        starts = self.starts()
        return ibis.memtable({
            "period": starts,
            "opens": [datetime.combine(s, datetime.min.time()) for s in starts],
            "closes": [datetime.combine(next_period(s, self.period), datetime.min.time()) for s in starts],
        }, schema={"period": "date", "opens": "timestamp", "closes": "timestamp"})

    def beds(self, category: str = "general_acute") -> ir.Table:
        """Beds of a KH03 category (general and acute by default) of each site in the system definition."""
        beds = self.hierarchy.beds_by_category[category]
        return ibis.memtable({"site_code": list(beds), "beds": [b * self.bed_scale for b in beds.values()]},
                             schema={"site_code": "string", "beds": "float64"})

    def materialise(self, key: str, expr: ir.Table) -> ir.Table:
        """A temporary table of an intermediate result several standards share, computed once (a
        backend that cannot hold one recomputes the expression instead)."""
        if key not in self._cache:
            try:
                self._cache[key] = self.con.create_table(f"_icsys_performance_{key}", expr, temp=True,
                                                         overwrite=True)
            except (NotImplementedError, TypeError):
                self._cache[key] = expr
        return self._cache[key]

    def activity(self, name: str) -> ir.Table:
        """A dataset table with each record's practice (the person's) added. Joined afresh for each
        standard: DuckDB joins faster than it writes a temporary copy."""
        return self._with_practice(self.table(name))

    def _with_practice(self, rows: ir.Table) -> ir.Table:
        person = self.table("person")
        person = person.select(practice_person=person.person_id, practice_code=person.practice_code)
        return rows.join(person, rows.person_id == person.practice_person).drop("practice_person")

    def practices(self, rows: ir.Table) -> ir.Table:
        """Adds each person's practice (the place a person belongs to) in place of person_id."""
        person = self.table("person").select(practice_person=self.table("person").person_id,
                                             practice_code=self.table("person").practice_code)
        joined = rows.join(person, rows.person_id == person.practice_person)
        return joined.drop("person_id", "practice_person")


def minutes(earlier: ir.TimestampValue, later: ir.TimestampValue) -> ir.FloatingValue:
    return (later.epoch_seconds() - earlier.epoch_seconds()).cast("float64") / 60.0


def days_between(earlier: ir.DateValue, later: ir.DateValue) -> ir.IntegerValue:
    """Whole days from one date to another (later - earlier)."""
    return later.delta(earlier, unit="day")


def overlap_days(start: ir.TimestampValue, end: ir.TimestampValue, opens: ir.TimestampValue,
                 closes: ir.TimestampValue) -> ir.FloatingValue:
    """Days (of 24 hours) of [start, end) that fall in [opens, closes); 0 if none."""
    seconds = ibis.least(end, closes).epoch_seconds() - ibis.greatest(start, opens).epoch_seconds()
    return ibis.greatest(seconds, 0).cast("float64") / 86400.0


def midnights(start: ir.TimestampValue, end: ir.TimestampValue, opens: ir.TimestampValue,
              closes: ir.TimestampValue) -> ir.FloatingValue:
    """Midnight census instants M with start <= M < end, among those that close the days of the period
    [opens, closes): the midnights opens + 1 day ... closes. Midnights before t: ceil(epoch(t) / 1 day)."""
    day = 86400
    first = ibis.greatest(start.epoch_seconds(), opens.epoch_seconds() + day)
    last = ibis.least(end.epoch_seconds(), closes.epoch_seconds() + 1)
    count = (last / day).ceil() - (first / day).ceil()
    return ibis.greatest(count, 0).cast("float64")


def age_on(birth: ir.DateValue, day: ir.DateValue) -> ir.IntegerValue:
    """Age in whole years on `day`."""
    before_birthday = (day.month() * 100 + day.day()) < (birth.month() * 100 + birth.day())
    return day.year() - birth.year() - before_birthday.cast("int64")


def registered_on(person: ir.Table, day: ir.DateValue) -> ir.BooleanValue:
    """Registered with a practice and alive on `day` (a column or a literal), and in the ICS's population
    (a person registered outside it is marked on load and not counted; unmarked counts: docs/adr/010)."""
    registered = ((person.registration_start.isnull() | (person.registration_start <= day))
                  & (person.registration_end.isnull() | (person.registration_end > day))
                  & (person.death_date.isnull() | (person.death_date > day)))
    return registered & person.in_ics_population.fill_null(True) if "in_ics_population" in person.columns \
        else registered
