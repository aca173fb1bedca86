"""The board pack: performance against every NHS standard that applies to one organisation, for one
month, as a board reads it (Making Data Count: SPC charts and icons instead of RAG ratings), with
trajectories where a plan is given and the escalation (OPEL) history.

    from icsys.performance.board import board_pack
    html, pdf = board_pack("km.duckdb", "QKS", "2026-03", out_dir="packs", plan="plan.csv")

`build_pack` gathers the content (a `BoardPack`); `write_pack` writes the HTML (board_html) and the PDF
(board_pdf) side by side, each to a temporary file moved into place only when both are whole. The pack
holds aggregates only: monthly values of standards and daily OPEL levels, never a person's record.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from icsys.errors import InputError
from icsys.performance import spc
from icsys.performance.catalogue import Catalogue, load_catalogue
from icsys.performance.escalation import Framework
from icsys.performance.organisations import Hierarchy, Organisation

OPEL_MONTHS = 3  # the escalation history shown: the month of the pack and the two before it
Progress = Callable[[str, int, int], None]


class BoardError(InputError):
    """A board pack that cannot be made as asked, naming what is wrong."""


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
            words.append(f"{_count(len(concerns), 'standard shows', 'standards show')} special cause concern "
                         f"in the latest month: {names}.")
        else:
            words.append("No standard shows special cause concern in the latest month.")
        if improving:
            words.append(f"{_count(len(improving), 'standard shows', 'standards show')} special cause improvement.")
        if failing:
            words.append(f"{_count(len(failing), 'standard is', 'standards are')} consistently failing the target "
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


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _number(value: Any) -> float | None:
    return None if value is None or value != value else float(value)


def _version() -> str:
    from icsys import __version__

    return __version__


# --- gathering ---------------------------------------------------------------------------------------

def build_pack(db: Path | str, org: str, month: str, *, months: int = 24, plan: Path | str | None = None,
               catalogue: Catalogue | None = None, hierarchy: Hierarchy | None = None,
               progress: Progress | None = None, generated_by: str = "") -> BoardPack:
    """Everything the pack shows for `org` in `month` (YYYY-MM), over `months` months ending with it."""
    from icsys.performance.series import board_series, parse_month
    from icsys.system import load_system

    update = progress or (lambda *_: None)
    catalogue = catalogue or load_catalogue()
    hierarchy = hierarchy or Hierarchy(load_system())
    organisation = hierarchy.get(org)
    last = parse_month(month)
    if not 2 <= months <= 240:
        raise BoardError(f"--months {months}: use 2 to 240 (an SPC chart needs at least 2 points)")
    covered = store_dates(db)
    update("measuring the standards", 0, 3)
    series = board_series(db, org, last, months=months, plan=plan, catalogue=catalogue, hierarchy=hierarchy)
    update("SPC charts", 1, 3)
    panels = [_panel(sid, rows, last) for sid, rows in series.groupby("standard", sort=False)]
    update("escalation (OPEL)", 2, 3)
    escalation = escalation_panel(db, organisation, last, covered, catalogue=catalogue, hierarchy=hierarchy)
    periods = [p.series["period"] for p in panels if len(p.series)]
    first = min(p.min() for p in periods) if periods else last
    update("done", 3, 3)
    return BoardPack(org=organisation, ics_name=hierarchy.ics.name, month=last, months=months, store=Path(db),
                     covered=covered, first=first, last=last, standards=panels, escalation=escalation,
                     plan=Path(plan) if plan is not None else None, generated_by=generated_by)


def store_dates(db: Path | str) -> tuple[date, date] | None:
    """The dates the store covers, as recorded when it was built (None if it does not say)."""
    from icsys.dataset.store import connect
    from icsys.performance.measure import data_period, store_meta

    con = connect(db)
    try:
        return data_period(store_meta(con))
    finally:
        con.disconnect()


def _add_months(month: date, n: int) -> date:
    total = month.year * 12 + month.month - 1 + n
    return date(total // 12, total % 12 + 1, 1)


def _panel(standard: str, rows: pd.DataFrame, month: date) -> StandardPanel:
    """A standard's months with its SPC chart (months without a value are left out of the chart)."""
    first = rows.iloc[0]
    series = rows.assign(period=pd.to_datetime(rows["period"]).dt.date)[
        ["period", "value", "target", "planned", "variance", "on_track"]].reset_index(drop=True)
    chart, notes = spc_of(series, first["direction"])
    return StandardPanel(id=standard, name=first["name"], domain=first["domain"], unit=first["unit"],
                         direction=first["direction"], series=series, month=month, chart=chart, notes=tuple(notes))


def spc_of(series: pd.DataFrame, direction: str) -> tuple[spc.SpcResult | None, list[str]]:
    """The XmR chart of the months with a value, against the latest target, and notes on how to read it."""
    valued = series[series["value"].notna() & series["value"].map(lambda v: math.isfinite(v))]
    notes = []
    gaps = len(series) - len(valued)
    if gaps:
        notes.append(f"{_count(gaps, 'month has', 'months have')} no value (nothing to count) and "
                     f"{'is' if gaps == 1 else 'are'} left out of the chart.")
    if len(valued) < 2:
        notes.append("Too few months with a value for an SPC chart (it needs at least 2).")
        return None, notes
    targets = valued["target"].dropna()
    target = float(targets.iloc[-1]) if len(targets) else None
    improvement = "increase" if direction == "higher" else "decrease"
    chart = spc.chart(valued["value"].to_numpy(float), list(valued["period"]), improvement=improvement,
                      target=target)
    if chart.trial:
        notes.append(f"Trial limits: calculated from {len(valued)} points, fewer than "
                     f"{chart.settings.trial_below}; they will move as months are added and the icons are "
                     "provisional.")
    if target is None:
        notes.append("No target applies in the latest month: no assurance icon.")
    elif targets.nunique() > 1:
        notes.append(f"The target changed over the period; assurance is judged against the latest, {target:g}.")
    return chart, notes


# --- escalation --------------------------------------------------------------------------------------

def escalation_panel(db: Path | str, org: Organisation, month: date, covered: tuple[date, date] | None, *,
                     catalogue: Catalogue, hierarchy: Hierarchy) -> EscalationPanel:
    """OPEL for the month and the months before: the stored history (opel_status) where it covers
    them, else computed for the pack (and not written to the store)."""
    from icsys.performance.escalation import escalation, history, load_framework

    framework = load_framework(catalogue=catalogue)
    bands = (framework.score.opel_2, framework.score.opel_3, framework.score.opel_4)
    shown = org if _has_opel(org, hierarchy) else hierarchy.ics
    first = _add_months(month, -(OPEL_MONTHS - 1))
    last = _add_months(month, 1) - timedelta(days=1)
    if covered is not None:
        first, last = max(first, covered[0]), min(last, covered[1])
    wanted = {shown.code, hierarchy.ics.code}
    notes = [] if shown == org else [f"OPEL is scored for acute trusts and sites and the ICS; {org.name} is a "
                                     f"{org.kind}, so the ICS is shown."]
    stored = _window(history(db), wanted, first, last)
    days = (last - first).days + 1
    if stored["day"][stored["org"] == shown.code].nunique() == days:
        source: Literal["store", "computed", "none"] = "store"
        status = stored
        notes.append("From the history of system status in the store (opel_status), as written by "
                     "`icsys performance escalation`.")
    else:
        status = _window(escalation(db, start=first, end=last, catalogue=catalogue, hierarchy=hierarchy,
                                    write=False), wanted, first, last)
        source = "computed" if len(status) else "none"
        notes.append(f"The store holds no history of system status for every day from {first} to {last}: "
                     f"computed for this pack and not stored. To keep it: icsys performance escalation "
                     f"--db {db} --from {first} --to {last}")
    mine = status[(status["org"] == shown.code) & status["level"].notna()].sort_values("day")
    latest = None
    if len(mine):
        row = mine.iloc[-1]
        latest = {"day": row["day"], "level": int(row["level"]), "score": float(row["score"]),
                  "reasons": reason_lines(row["reasons"], shown.kind == "ics", framework)}
    else:
        notes.append("No OPEL level could be scored in this window (no indicator had a value).")
    return EscalationPanel(org=shown, first=first, last=last,
                           days=status[["day", "org", "score", "level"]].reset_index(drop=True),
                           latest=latest, source=source if latest else "none", notes=tuple(notes), bands=bands)


def _has_opel(org: Organisation, hierarchy: Hierarchy) -> bool:
    """The ICS, and the acute sites and trusts, are scored."""
    sites = hierarchy.acute_sites()
    return org.kind == "ics" or org.code in sites or org.code in {hierarchy.trust_of_site[s] for s in sites}


def _window(status: pd.DataFrame, orgs: set[str], first: date, last: date) -> pd.DataFrame:
    """The rows of these organisations from first to last, with days as dates and reasons as lists."""
    if not len(status):
        return pd.DataFrame(columns=["day", "org", "score", "level", "reasons"])
    days = pd.to_datetime(status["day"]).dt.date
    keep = status[status["org"].isin(orgs) & (days >= first) & (days <= last)].copy()
    keep["day"] = pd.to_datetime(keep["day"]).dt.date
    keep["reasons"] = keep["reasons"].map(lambda r: json.loads(r) if isinstance(r, str) else r)
    keep["score"] = keep["score"].astype(float)
    keep["level"] = pd.to_numeric(keep["level"], errors="coerce")
    return keep.reset_index(drop=True)


def reason_lines(reasons: list[dict[str, Any]], ics: bool, framework: Framework) -> list[str]:
    """The reasons for a level in words: for the ICS, its escalated trusts and their indicators; for a
    provider, each indicator at OPEL 2 or above with its value and the trigger it reached."""
    if not reasons:
        return ["No indicator reached an OPEL 2 trigger."]
    if ics:
        names = {i.id: i.name for i in framework.indicator}
        return [f"{r['provider']} at OPEL {r['level']} (score {r['score']:.1f}): "
                + ", ".join(names.get(i, i) for i in r["indicators"]) for r in reasons]
    return [f"{r['name']}: {r['value']:g} (OPEL {r['level']} trigger {r['trigger']:g})" for r in reasons]


# --- writing -----------------------------------------------------------------------------------------

def check_out_dir(out_dir: Path | str) -> Path:
    out = Path(out_dir)
    if not out.exists():
        raise BoardError(f"--out-dir {out}: no such folder")
    if not out.is_dir():
        raise BoardError(f"--out-dir {out}: not a folder")
    if not os.access(out, os.W_OK):
        raise BoardError(f"--out-dir {out}: cannot write there")
    return out


def file_stem(pack: BoardPack) -> str:
    return f"board-{pack.org.code}-{pack.month:%Y-%m}"


def write_pack(pack: BoardPack, out_dir: Path | str, progress: Progress | None = None) -> tuple[Path, Path]:
    """Write the HTML and PDF; both go to temporary files first and are moved into place together."""
    import tempfile

    from icsys.performance.board_html import render_html
    from icsys.performance.board_pdf import render_pdf

    update = progress or (lambda *_: None)
    out = check_out_dir(out_dir)
    targets = (out / f"{file_stem(pack)}.html", out / f"{file_stem(pack)}.pdf")
    temps: list[Path] = []
    try:
        for target in targets:
            handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=out)
            os.close(handle)
            temps.append(Path(name))
        update("writing the HTML", 0, 2)
        temps[0].write_text(render_html(pack), encoding="utf-8")
        update("writing the PDF", 1, 2)
        render_pdf(pack, temps[1])
        for temp, target in zip(temps, targets, strict=True):
            temp.chmod(0o644)
            os.replace(temp, target)
        update("written", 2, 2)
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)
    return targets


def board_pack(db: Path | str, org: str, month: str, *, out_dir: Path | str = ".", months: int = 24,
               plan: Path | str | None = None, progress: Progress | None = None,
               generated_by: str = "") -> tuple[Path, Path]:
    """Build and write the pack; the folder is checked before any work is done."""
    check_out_dir(out_dir)
    pack = build_pack(db, org, month, months=months, plan=plan, progress=progress, generated_by=generated_by)
    return write_pack(pack, out_dir, progress)
