"""What a board pack holds: its standards (monthly series and SPC charts), its escalation (OPEL) panel and the
pack itself, with the words a board reads. Built by `icsys.reports.board.pack`, drawn by `html` and `pdf`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from icsys.performance import spc
from icsys.performance.organisations import Organisation


@dataclass(frozen=True)
class StandardPanel:
    """One standard in the pack: its monthly series, the month's figures and its SPC chart."""

    id: str
    name: str
    domain: str
    unit: str
    direction: str  # higher or lower is better
    series: pd.DataFrame  # period (date), value, target, planned, variance, on_track
    month: date
    chart: spc.SpcResult | None
    notes: tuple[str, ...]

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
    def month_plan(self) -> pd.Series | None:
        at = self.planned[self.planned["period"] == self.month]
        return at.iloc[0] if len(at) else None

    @property
    def variation(self) -> str | None:
        return self.chart.variation if self.chart is not None else None

    @property
    def assurance(self) -> str | None:
        return self.chart.assurance if self.chart is not None else None


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
    generated_at: datetime = field(default_factory=lambda: datetime.now().astimezone())
    generated_by: str = ""  # the actor who asked for it (the command line passes its local actor)
    version: str = field(default_factory=lambda: _version())

    @property
    def title(self) -> str:
        return f"Board pack: {self.org.name} ({self.org.code}), {self.month:%B %Y}"

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
    if unit == "bed-days" or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _number(value: Any) -> float | None:
    return None if value is None or value != value else float(value)


def _version() -> str:
    from icsys import __version__

    return __version__
