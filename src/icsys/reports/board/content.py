"""What a board pack holds: its standards (monthly series and SPC charts), its escalation (OPEL) panel and the
pack itself, with the words a board reads. Built by `icsys.reports.board.pack`, drawn by `html` and `pdf`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from icsys.disclosure import SMALL_NUMBER, is_small
from icsys.performance import spc
from icsys.performance.organisations import Organisation
from icsys.reports.charts import CAUSE_COLOURS

MEANS = ("minutes", "days")  # a mean of the denominator's patients or incidents
COUNTS = ("patients", "bed-days")  # the value is itself a count (or a count a day): no small-number rule


def base_of(unit: str, numerator: Any, denominator: Any) -> float | None:
    """The count a month's value rests on: the patients or incidents of a percentage or a mean, the events
    of a rate per 1,000; None for a count, which needs no base."""
    if unit in COUNTS:
        return None
    value = numerator if unit == "per 1,000 a year" else denominator
    return None if value is None or value != value else float(value)


def bounds_of(unit: str) -> tuple[float, float | None]:
    """What the measure can take: 0-100 for a percentage, 0 and up for everything else icsys measures."""
    return (0.0, 100.0) if unit == "%" else (0.0, None)


def counted(unit: str, numerator: Any, denominator: Any) -> str:
    """The numerator and denominator in words, beside the value."""
    n, d = _number(numerator), _number(denominator)
    if unit == "%":
        return "" if d is None else f"{_whole(n)} of {_whole(d)}"
    if unit in MEANS:
        return "" if d is None else f"n = {_whole(d)}"
    if unit == "per 1,000 a year":
        return "" if d is None else f"{_whole(n)} in {d:,.0f} person-years"
    if unit == "patients":
        return "" if d is None else f"{_whole(n)} patient-days over {_whole(d)} days"
    return ""


def _whole(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:,.0f}" if float(x).is_integer() or abs(x) >= 100 else f"{x:,.1f}"


@dataclass(frozen=True)
class StandardPanel:
    """One standard in the pack: its monthly series, the month's figures and its SPC chart."""

    id: str
    name: str
    domain: str
    unit: str
    direction: str  # higher or lower is better
    series: pd.DataFrame  # period (date), numerator, denominator, value, target, planned, variance, on_track
    month: date
    chart: spc.SpcResult | None
    notes: tuple[str, ...]
    owner: str = ""  # the performance lead's, from the notes file (see docs/board-pack.md)
    lead_commentary: str = ""
    pending: tuple[date, ...] = ()  # months withheld: their follow-up (30 days for a readmission) is not over

    @property
    def counts(self) -> str:
        """The latest value's numerator and denominator in words ("3 of 4")."""
        row = self.latest
        return "" if row is None else counted(self.unit, row.get("numerator"), row.get("denominator"))

    @property
    def base(self) -> float | None:
        row = self.latest
        return None if row is None else base_of(self.unit, row.get("numerator"), row.get("denominator"))

    @property
    def small(self) -> bool:
        """The latest value rests on fewer than SMALL_NUMBER patients or events: flagged, and no SPC signal."""
        return self.latest is not None and self.unit not in COUNTS and is_small(self.base)

    @property
    def small_flag(self) -> str:
        return f"small number: fewer than {SMALL_NUMBER}" if self.small else ""

    @property
    def previous(self) -> pd.Series | None:
        """The month before the latest value's, if it has a value."""
        if self.value_period is None:
            return None
        before = self.series[(self.series["period"] < self.value_period) & self.series["value"].notna()]
        return before.iloc[-1] if len(before) else None

    @property
    def change(self) -> str | None:
        """better, worse or same than the month before (in the standard's direction); None without both."""
        prev = self.previous
        if prev is None or self.value is None:
            return None
        diff = self.value - float(prev["value"])
        if abs(diff) < 1e-9:
            return "same"
        return "better" if (diff > 0) == (self.direction == "higher") else "worse"

    @property
    def commentary(self) -> str:
        """What the figures say, in words, bad news included."""
        return commentary_of(self)

    @property
    def latest(self) -> pd.Series | None:
        """The row of the pack's month, or else of the latest month with a value."""
        valued = self.series[self.series["value"].notna()]
        at = self.series[self.series["period"] == self.month]
        if len(at) and at["value"].notna().all():
            return at.iloc[0]
        return valued.iloc[-1] if len(valued) else None

    @property
    def value(self) -> float | None:
        row = self.latest
        return None if row is None else float(row["value"])

    @property
    def value_period(self) -> date | None:
        row = self.latest
        return None if row is None else row["period"]

    @property
    def target(self) -> float | None:
        """The target in force in the pack's month."""
        at = self.series[self.series["period"] == self.month]
        return _number(at["target"].iloc[0]) if len(at) else None

    @property
    def met(self) -> bool | None:
        """Whether the month's value is at or better than the target; None without both."""
        if self.value is None or self.target is None or self.value_period != self.month:
            return None
        return self.value >= self.target if self.direction == "higher" else self.value <= self.target

    @property
    def planned(self) -> pd.DataFrame:
        """The months a plan gives a value for."""
        return self.series[self.series["planned"].notna()]

    @property
    def planned_as_count(self) -> bool:
        """Whether the plan counts (12-hour waits, 52-week waiters) rather than sets the standard's value."""
        return "planned_of" in self.series and bool((self.planned["planned_of"] == "count").any())

    @property
    def trajectory_unit(self) -> str:
        return "count" if self.planned_as_count else self.unit

    @property
    def trajectory_actual(self) -> pd.Series:
        """What the plan is compared with, month by month: the numerator for a count, else the value."""
        return self.series["numerator" if self.planned_as_count else "value"]

    @property
    def month_plan(self) -> pd.Series | None:
        at = self.planned[self.planned["period"] == self.month]
        return at.iloc[0] if len(at) else None

    @property
    def signalled(self) -> bool:
        """Whether the chart speaks for the latest value: its last point is that month and not a small number."""
        return (self.chart is not None and not self.small and len(self.chart.points) > 0
                and pd.Timestamp(self.chart.points["period"].iloc[-1]).date() == self.value_period)

    @property
    def variation(self) -> str | None:
        return self.chart.variation if self.signalled else None  # type: ignore[union-attr]

    @property
    def assurance(self) -> str | None:
        return self.chart.assurance if self.signalled else None  # type: ignore[union-attr]


@dataclass(frozen=True)
class FunnelPanel:
    """One standard's practices or PCNs in the month against the organisation's own value (reports.funnel)."""

    standard: str
    name: str
    unit: str
    direction: str
    level: str  # practice or pcn
    month: date
    centre: float
    points: pd.DataFrame  # org, name, numerator, denominator, small, value, lower/upper_95/99.8, position
    curve: pd.DataFrame  # denominator, lower/upper_95/99.8
    compared: str = ""  # the period compared, in words (the month by default)

    @property
    def period_words(self) -> str:
        return self.compared or f"{self.month:%B %Y}"

    @property
    def placed(self) -> pd.DataFrame:
        return self.points[~self.points["small"]]

    @property
    def sentence(self) -> str:
        """Who lies beyond the limits, and how many were too small to place."""
        placed, left = self.placed, int(self.points["small"].sum())
        level = "practices" if self.level == "practice" else "PCNs"
        beyond = placed[placed["position"].astype(str).str.contains("99.8", regex=False)]
        words = [f"{len(placed)} {level} placed against {fmt(self.centre, self.unit)} in {self.period_words}"]
        if left:
            words.append(f"{left} with fewer than {SMALL_NUMBER} not placed")
        text = "; ".join(words) + ". "
        if len(beyond):
            text += "Beyond the 99.8 % limits: " + ", ".join(
                f"{r['name'] or r['org']} ({fmt(r['value'], self.unit)}, {r['position'].split(' ')[0]})"
                for r in beyond.to_dict("records")[:LISTED]) + ("; and more" if len(beyond) > LISTED else "") + "."
        else:
            text += "None lies beyond the 99.8 % limits."
        return text


@dataclass(frozen=True)
class EscalationPanel:
    """OPEL over the pack's escalation window for one organisation (and the ICS beside a provider)."""

    org: Organisation
    first: date
    last: date
    days: pd.DataFrame  # day (date), org, score, level
    latest: dict[str, Any] | None  # day, level, score, reasons (lines in words)
    source: Literal["store", "computed", "none"]
    notes: tuple[str, ...]
    bands: tuple[float, float, float] = (25.0, 50.0, 75.0)  # the scores at which OPEL 2, 3 and 4 begin

    def levels(self, org: str) -> pd.DataFrame:
        return self.days[self.days["org"] == org].sort_values("day")

    def days_at_level(self) -> pd.DataFrame:
        """Days at OPEL 1-4 by month for the organisation shown (rows: months, columns: levels)."""
        mine = self.levels(self.org.code)
        mine = mine[mine["level"].notna()]  # a day no indicator had a value is at no level
        if not len(mine):
            return pd.DataFrame(columns=[1, 2, 3, 4])
        month = pd.to_datetime(mine["day"]).dt.to_period("M").astype(str)
        table = pd.crosstab(month, mine["level"].astype(int))
        return table.reindex(columns=[1, 2, 3, 4], fill_value=0)


@dataclass(frozen=True)
class BoardPack:
    org: Organisation
    ics_name: str
    month: date
    months: int
    store: Path
    covered: tuple[date, date] | None
    first: date
    last: date
    standards: list[StandardPanel]
    escalation: EscalationPanel
    plan: Path | None = None
    funnels: list[FunnelPanel] = field(default_factory=list)
    icps: pd.DataFrame = field(default_factory=pd.DataFrame)  # standard, name, unit, org, org_name, counts, value
    source: dict[str, Any] = field(default_factory=dict)  # the store's metadata (Store.meta)
    notes_file: Path | None = None
    generated_at: datetime = field(default_factory=lambda: datetime.now().astimezone())
    generated_by: str = ""  # the actor who asked for it (the command line passes its local actor)
    version: str = field(default_factory=lambda: _version())
    compared: str = ""  # the period the funnel plots and ICPs compare, in words (the month by default)

    @property
    def compared_words(self) -> str:
        return self.compared or f"{self.month:%B %Y}"

    @property
    def title(self) -> str:
        return f"Board pack: {self.org.name} ({self.org.code}), {self.month:%B %Y}"

    @property
    def synthetic(self) -> bool:
        return bool(self.source.get("synthetic"))

    @property
    def provenance(self) -> str:
        """Where the figures come from, whether they are synthetic and the dates they cover: on every page."""
        covers = (f"the store covers {self.covered[0]:%d %B %Y} to {self.covered[1]:%d %B %Y}; "
                  if self.covered else "")
        shown = f"this pack shows {self.first:%B %Y} to {self.last:%B %Y}"
        system = self.source.get("system_name", self.ics_name)
        if self.synthetic:
            scale = float(self.source.get("scale", 1.0))
            return (f"SYNTHETIC DATA, not real patients: {self.store.name}, made by icsys synth for {system} "
                    f"(scale {scale:g}, {scale * 100:g} % of the population; seed {self.source.get('seed')}); "
                    f"{covers}{shown}.")
        return f"Data: {self.store.name}, the linked pseudonymised dataset of {system}; {covers}{shown}."

    @property
    def provenance_line(self) -> str:
        """The provenance in one short line, for the foot of every page."""
        covers = f"data {self.covered[0]:%d %b %Y} to {self.covered[1]:%d %b %Y} · " if self.covered else ""
        what = (f"SYNTHETIC DATA, not real patients (icsys synth, scale {float(self.source.get('scale', 1)):g}, "
                f"seed {self.source.get('seed')})" if self.synthetic else "Real data")
        return f"{what} · source {self.store.name} · {covers}pack {self.first:%b %Y} to {self.last:%b %Y}"

    @property
    def trajectories(self) -> list[StandardPanel]:
        return [s for s in self.standards if len(s.planned)]

    @property
    def summary(self) -> str:
        """The front page's paragraph: standards met, special cause concerns and assurance, the plan, OPEL."""
        with_target = [s for s in self.standards if s.met is not None]
        met = [s for s in with_target if s.met]
        concerns = [s for s in self.standards if (s.variation or "").startswith("concern")]
        improving = [s for s in self.standards if (s.variation or "").startswith("improvement")]
        failing = [s for s in self.standards if s.assurance == "consistently_fail"]
        words = [f"In {self.month:%B %Y}, {self.org.name} met {len(met)} of the {len(with_target)} standards "
                 f"with a target and a value for the month ({len(self.standards)} standards apply)."]
        missed = [s for s in with_target if not s.met]
        if missed:
            words.append(f"{count(len(missed), 'standard is', 'standards are')} not meeting the target: "
                         f"{listed(missed)}.")
        worse = [s for s in self.standards if s.change == "worse" and s.value_period == self.month]
        better = [s for s in self.standards if s.change == "better" and s.value_period == self.month]
        if worse or better:
            words.append(f"Against last month, {count(len(worse), 'standard is', 'standards are')} worse"
                         + (f" ({listed(worse)})" if worse else "")
                         + f" and {len(better)} {'is' if len(better) == 1 else 'are'} better.")
        small = [s for s in self.standards if s.small]
        if small:
            words.append(f"{count(len(small), 'standard rests', 'standards rest')} on fewer than {SMALL_NUMBER} "
                         f"patients or events and {'shows' if len(small) == 1 else 'show'} no SPC signal: "
                         f"{listed(small)}.")
        if concerns:
            names = "; ".join(f"{s.name} ({'high' if s.variation.endswith('high') else 'low'})"  # type: ignore[union-attr]
                              for s in concerns)
            words.append(f"{count(len(concerns), 'standard shows', 'standards show')} special cause concern "
                         f"in the latest month: {names}.")
        else:
            words.append("No standard shows special cause concern in the latest month.")
        if improving:
            words.append(f"{count(len(improving), 'standard shows', 'standards show')} special cause improvement.")
        if failing:
            words.append(f"{count(len(failing), 'standard is', 'standards are')} consistently failing the target "
                         "(it lies beyond the process limits on the failing side): it will not be met without a "
                         "change to the process.")
        plans = [s.month_plan for s in self.trajectories if s.month_plan is not None]
        judged = [p for p in plans if p["on_track"] is not None and p["on_track"] == p["on_track"]]
        if plans:
            on = sum(bool(p["on_track"]) for p in judged)
            words.append(f"Against the plan, {on} of {len(judged)} trajectories with a value this month are on track.")
        words.append(self.escalation_sentence)
        return " ".join(words)

    @property
    def escalation_sentence(self) -> str:
        esc = self.escalation
        if esc.latest is None:
            return "No OPEL status is available for the month."
        counts = esc.days_at_level()
        this = counts.loc[f"{self.month:%Y-%m}"] if f"{self.month:%Y-%m}" in counts.index else None
        spent = ""
        if this is not None:
            spent = "; in the month it spent " + ", ".join(
                f"{int(n)} day{'s' if n != 1 else ''} at OPEL {lvl}" for lvl, n in this.items() if n) + ""
        who = "The ICS" if esc.org.kind == "ics" else esc.org.name
        return (f"{who} was at OPEL {esc.latest['level']} on {esc.latest['day']:%d %B %Y} "
                f"(score {esc.latest['score']:.1f} of 100){spent}.")


_VARIATION_WORDS = {
    "common_cause": "Common cause variation: no sign of a change in the process.",
    "improvement_high": "Special cause improvement (high values).",
    "improvement_low": "Special cause improvement (low values).",
    "concern_high": "Special cause concern (high values): a change in the process to investigate.",
    "concern_low": "Special cause concern (low values): a change in the process to investigate.",
    "neutral_high": "Special cause variation (high values).",
    "neutral_low": "Special cause variation (low values).",
}
_ASSURANCE_WORDS = {
    "consistently_fail": "The process limits lie on the failing side of the target: it will not be met without a "
                         "change to the process.",
    "consistently_pass": "The process limits lie on the passing side of the target: it is met consistently.",
    "hit_and_miss": "The target lies within the process limits: it will be met in some months and missed in others.",
}


def commentary_of(panel: StandardPanel) -> str:
    """A standard's commentary from its figures: the month's value and counts, against last month and the
    target, what the SPC chart says, and when the numbers are too few to say anything."""
    if panel.value is None:
        return f"No value for {panel.month:%B %Y}: nothing to count."
    when = panel.value_period
    words = [f"{fmt(panel.value, panel.unit)} in {when:%B %Y}" + (f" ({panel.counts})" if panel.counts else "")]
    prev = panel.previous
    if prev is not None:
        how = {"same": "the same as", "better": "better than", "worse": "worse than"}[panel.change or "same"]
        words.append(f"{how} {prev['period']:%B %Y} ({fmt(float(prev['value']), panel.unit)})")
    if panel.met is not None:
        words.append(("meeting" if panel.met else "not meeting") + f" the target of {fmt(panel.target, panel.unit)}")
    elif panel.target is None:
        words.append("no target applies")
    text = ", ".join(words) + "."
    if when != panel.month and panel.month in panel.pending:
        text += (f" {panel.month:%B %Y} is not complete yet: its follow-up runs past the last day of the data, "
                 "so its figure is withheld.")
    elif when != panel.month:
        text += f" No value for {panel.month:%B %Y}."
    if panel.small:
        return text + (f" Fewer than {SMALL_NUMBER} patients or events: too few to read as a rate, so no SPC signal "
                       "is shown.")
    if panel.variation:
        text += " " + _VARIATION_WORDS[panel.variation]
    if panel.assurance:
        text += " " + _ASSURANCE_WORDS[panel.assurance]
    return text


LISTED = 6  # names given in a sentence of the front page; the rest are counted


def listed(panels: list[StandardPanel]) -> str:
    """Up to LISTED standards by name, and how many more."""
    shown = "; ".join(p.name for p in panels[:LISTED])
    return shown + (f"; and {len(panels) - LISTED} more" if len(panels) > LISTED else "")


def funnel_colour(panel: FunnelPanel, position: str) -> str:
    """Beyond a limit on the better side blue, on the worse side orange; within the limits grey."""
    if not position.startswith(("above", "below")):
        return CAUSE_COLOURS["none"]
    high = position.startswith("above")
    better = high == (panel.direction == "higher")
    return CAUSE_COLOURS["improvement"] if better else CAUSE_COLOURS["concern"]


def fmt(value: float | None, unit: str) -> str:
    """A value as a board reads it, in its unit; a dash where there is none."""
    if value is None or value != value:
        return "–"
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "minutes":
        return f"{value:.1f} min"
    if unit == "days":
        return f"{value:.1f} days"
    if unit in ("bed-days", "count") or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _number(value: Any) -> float | None:
    return None if value is None or value != value else float(value)


def _version() -> str:
    from icsys import __version__

    return __version__


def period_words(first: date, period: str) -> str:
    """A month, quarter or financial year starting on `first`, as a board reads it."""
    if period == "month":
        return f"{first:%B %Y}"
    year = first.year if first.month >= 4 else first.year - 1
    financial = f"{year}/{(year + 1) % 100:02d}"
    if period == "quarter":
        last = date(first.year + (first.month + 2 > 12), (first.month + 1) % 12 + 1, 1)
        return f"{first:%B} to {last:%B %Y} (quarter {(first.month - 4) % 12 // 3 + 1} of {financial})"
    return f"April {year} to March {year + 1} (financial year {financial})"
