"""The board pack: performance against every NHS standard that applies to one organisation, for one
month, as a board reads it (Making Data Count: SPC charts and icons instead of RAG ratings), with
trajectories where a plan is given and the escalation (OPEL) history.

    from icsys.dataset.store import Store
    from icsys.reports.board import board_pack
    html, pdf = board_pack(Store.open("km.duckdb"), "QKS", "2026-03", out_dir="packs", plan="plan.csv")

`build_pack` gathers the content (a `BoardPack`); `write_pack` writes the HTML (`html`) and the PDF
(`pdf`) side by side, each to a temporary file moved into place only when both are whole. The pack
holds aggregates only: monthly values of standards and daily OPEL levels, never a person's record.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from icsys.disclosure import SMALL_NUMBER, is_small
from icsys.errors import InputError
from icsys.performance import spc
from icsys.performance.catalogue import Catalogue, load_catalogue
from icsys.performance.escalation import Framework
from icsys.performance.organisations import Hierarchy, Organisation
from icsys.reports import funnel
from icsys.reports.board.content import (
    COUNTS,
    BoardPack,
    EscalationPanel,
    FunnelPanel,
    StandardPanel,
    base_of,
    bounds_of,
    count,
    counted,
    period_words,
)
from icsys.reports.board.export import write_opel_csv, write_series_csv, write_xlsx
from icsys.reports.board.html import render_html
from icsys.reports.board.pdf import render_pdf

if TYPE_CHECKING:
    from icsys.dataset.store import Store

OPEL_MONTHS = 3  # the escalation history shown: the month of the pack and the two before it
Progress = Callable[[str, int, int], None]


class BoardError(InputError):
    """A board pack that cannot be made as asked, naming what is wrong."""


# --- gathering ---------------------------------------------------------------------------------------

def build_pack(store: Store, org: str, month: str, *, months: int = 24, plan: Path | str | None = None,
               notes: Path | str | None = None, catalogue: Catalogue | None = None, hierarchy: Hierarchy | None = None,
               progress: Progress | None = None, generated_by: str = "", funnel_period: str = "month") -> BoardPack:
    """Everything the pack shows for `org` in `month` (YYYY-MM), over `months` months ending with it; the
    funnel plots and ICPs compare the month, or the last whole quarter or financial year ending with it
    (`funnel_period`)."""
    from icsys.performance.series import board_series, parse_month
    from icsys.system import load_system

    update = progress or (lambda *_: None)
    catalogue = catalogue or load_catalogue()
    hierarchy = hierarchy or Hierarchy(load_system())
    organisation = hierarchy.get(org)
    last = parse_month(month)
    if not 2 <= months <= 240:
        raise BoardError(f"--months {months}: use 2 to 240 (an SPC chart needs at least 2 points)")
    covered = store.covers
    compared = compared_period(last, funnel_period, covered)
    leads = read_notes(notes, catalogue) if notes is not None else {}  # checked before anything is measured
    update("measuring the standards", 0, 3)
    series = board_series(store, org, last, months=months, plan=plan, catalogue=catalogue, hierarchy=hierarchy)
    series = withhold_incomplete(series, catalogue, covered)
    update("SPC charts", 1, 3)
    panels = [_panel(sid, rows, last, leads.get(sid, {})) for sid, rows in series.groupby("standard", sort=False)]
    funnels, icps = comparisons(store, organisation, last, catalogue=catalogue, hierarchy=hierarchy,
                                period=funnel_period, window=compared)
    update("escalation (OPEL)", 2, 3)
    escalation = escalation_panel(store, organisation, last, covered, catalogue=catalogue, hierarchy=hierarchy)
    periods = [p.series["period"] for p in panels if len(p.series)]
    first = min(p.min() for p in periods) if periods else last
    update("done", 3, 3)
    return BoardPack(org=organisation, ics_name=hierarchy.ics.name, month=last, months=months,
                     store=Path(store.location), covered=covered, first=first, last=last, standards=panels,
                     escalation=escalation, plan=Path(plan) if plan is not None else None, funnels=funnels,
                     icps=icps,
                     source={k: v for k, v in store.meta.items() if k != "bed_pools"},
                     notes_file=Path(notes) if notes is not None else None, generated_by=generated_by,
                     compared=period_words(compared[0], funnel_period))


def follow_up_days(catalogue: Catalogue) -> dict[str, int]:
    """Standards whose month is complete only some days after it ends (a 30-day readmission)."""
    return {s.id: int(s.params["days"]) for s in catalogue.standard if s.rule == "readmission"}


def withhold_incomplete(series: pd.DataFrame, catalogue: Catalogue, covered: tuple[date, date] | None,
                        period: str = "month") -> pd.DataFrame:
    """Periods whose follow-up runs past the store's last day are not yet complete (March's discharges have
    not had their 30 days when the store ends on 31 March): their figures are withheld and marked
    `incomplete`, so the pack shows the latest complete month instead of a rate that reads low."""
    from icsys.performance.frame import next_period

    follow = follow_up_days(catalogue)
    out = series.assign(incomplete=False)
    if covered is None or series.empty or not follow:
        return out
    starts = pd.to_datetime(series["period"])
    last_day = {d: pd.Timestamp(next_period(d.date(), period)) - pd.Timedelta(days=1) for d in starts.unique()}
    complete_on = starts.map(last_day) + pd.to_timedelta(series["standard"].map(follow), unit="D")
    out["incomplete"] = complete_on.notna() & (complete_on > pd.Timestamp(covered[1]))
    out.loc[out["incomplete"], ["numerator", "denominator", "value"]] = float("nan")
    return out


def _add_months(month: date, n: int) -> date:
    total = month.year * 12 + month.month - 1 + n
    return date(total // 12, total % 12 + 1, 1)


def _panel(standard: str, rows: pd.DataFrame, month: date, lead: dict[str, str]) -> StandardPanel:
    """A standard's months with its SPC chart (months without a value, or with too few to count, are left
    out of the chart)."""
    first = rows.iloc[0]
    series = rows.assign(period=pd.to_datetime(rows["period"]).dt.date)[
        ["period", "numerator", "denominator", "value", "target", "planned", "planned_of", "variance", "on_track"]
    ].reset_index(drop=True)
    gaps = rows["incomplete"].to_numpy(dtype=bool) if "incomplete" in rows else [False] * len(rows)
    pending = tuple(series["period"][gaps])
    chart, notes = spc_of(series, first["direction"], first["unit"], pending=len(pending))
    return StandardPanel(id=standard, name=first["name"], domain=first["domain"], unit=first["unit"],
                         direction=first["direction"], series=series, month=month, chart=chart, notes=tuple(notes),
                         owner=lead.get("owner", ""), lead_commentary=lead.get("commentary", ""),
                         pending=pending)


def spc_of(series: pd.DataFrame, direction: str, unit: str = "", pending: int = 0
           ) -> tuple[spc.SpcResult | None, list[str]]:
    """The XmR chart of the months with a value resting on at least SMALL_NUMBER patients or events, against
    the latest target, its limits kept within what the measure can take, and notes on how to read it."""
    valued = series[series["value"].notna() & series["value"].map(lambda v: math.isfinite(v))]
    notes = []
    gaps = len(series) - len(valued) - pending
    if pending:
        notes.append(f"{count(pending, 'month is', 'months are')} not complete yet (the follow-up runs past the "
                     "last day of the data) and left out of the chart.")
    if gaps:
        notes.append(f"{count(gaps, 'month has', 'months have')} no value (nothing to count) and "
                     f"{'is' if gaps == 1 else 'are'} left out of the chart.")
    if "denominator" in valued and unit not in COUNTS:
        small = valued.apply(lambda r: is_small(base_of(unit, r["numerator"], r["denominator"])), axis=1)
        if small.any():
            notes.append(f"{count(int(small.sum()), 'month rests', 'months rest')} on fewer than {SMALL_NUMBER} "
                         "patients or events: too few to read as a rate, so left out of the chart (no SPC signal).")
            valued = valued[~small]
    if len(valued) < 2:
        notes.append("Too few months with a value for an SPC chart (it needs at least 2).")
        return None, notes
    targets = valued["target"].dropna()
    target = float(targets.iloc[-1]) if len(targets) else None
    improvement = "increase" if direction == "higher" else "decrease"
    chart = clipped(spc.chart(valued["value"].to_numpy(float), list(valued["period"]), improvement=improvement,
                              target=target), bounds_of(unit))
    if chart.trial:
        notes.append(f"Trial limits: calculated from {len(valued)} points, fewer than "
                     f"{chart.settings.trial_below}; they will move as months are added and the icons are "
                     "provisional.")
    if target is None:
        notes.append("No target applies in the latest month: no assurance icon.")
    elif targets.nunique() > 1:
        notes.append(f"The target changed over the period; assurance is judged against the latest, {target:g}.")
    return chart, notes


def clipped(chart: spc.SpcResult, bounds: tuple[float, float | None]) -> spc.SpcResult:
    """The chart with its limits kept within what the measure can take (Making Data Count: a percentage's
    limits at 0 and 100, a count's at 0); the signals are those of the chart, which no value can cross."""
    from dataclasses import replace

    low, high = bounds
    limit_columns = ["lpl", "upl", "lower_two_sigma", "upper_two_sigma"]
    points = chart.points.copy()
    points[limit_columns] = points[limit_columns].clip(lower=low, upper=high)
    limits = chart.limits.copy()
    limits[["lpl", "upl"]] = limits[["lpl", "upl"]].clip(lower=low, upper=high)
    return replace(chart, points=points, limits=limits)


# --- comparison: funnel plots and ICPs side by side ---------------------------------------------------------

FUNNEL_UNITS = {"%": ("proportion", 100.0), "per 1,000 a year": ("rate", 1000.0)}


FUNNEL_PERIODS = ("month", "quarter", "year")


def compared_period(month: date, period: str, covered: tuple[date, date] | None) -> tuple[date, date]:
    """First and last day the funnel plots compare: the month, or the last whole quarter or financial year
    (April to March) that ends with it or before it, which the store must cover whole."""
    from icsys.performance.frame import next_period, period_start

    if period not in FUNNEL_PERIODS:
        raise BoardError(f"--funnel-period {period!r}: use month, quarter or year (a financial year, April to March)")
    month_end = _add_months(month, 1) - timedelta(days=1)
    first = period_start(month, period)  # type: ignore[arg-type]
    if next_period(first, period) - timedelta(days=1) > month_end:  # type: ignore[arg-type]
        first = period_start(first - timedelta(days=1), period)  # type: ignore[arg-type]  # the one before, whole
    last = next_period(first, period) - timedelta(days=1)  # type: ignore[arg-type]
    # (a month the store does not cover is refused by the series, in its own words)
    if period != "month" and covered is not None and not (covered[0] <= first and last <= covered[1]):
        raise BoardError(f"--funnel-period {period}: the last whole {period} to {month:%Y-%m} runs {first} to {last}, "
                         f"but the store covers {covered[0]} to {covered[1]}; use a shorter period or a later --month")
    return first, last


def comparisons(store: Store, org: Organisation, month: date, *, catalogue: Catalogue, hierarchy: Hierarchy,
                period: str = "month", window: tuple[date, date] | None = None
                ) -> tuple[list[FunnelPanel], pd.DataFrame]:
    """For the ICS or an ICP: each practice-attributed proportion (of whole counts) or rate of the period
    compared (the month, a quarter or a financial year: `window`, its first and last day), its practices and
    PCNs on funnel plots against the organisation's value, and for the ICS its ICPs side by side."""
    from icsys.performance.measure import applies_to, measure_store, shape_of

    if org.kind not in ("ics", "icp"):
        return [], pd.DataFrame()
    wanted = [s for s in catalogue.live if s.unit in FUNNEL_UNITS and applies_to(shape_of(s)[0], "practice")]
    pcns = [p for p, icp in hierarchy.icp_of_pcn.items() if org.kind == "ics" or icp == org.code]
    practices = [p for p, pcn in hierarchy.pcn_of_practice.items() if pcn in pcns]
    icps = [o.code for o in hierarchy.of_kind("icp")] if org.kind == "ics" else []
    start, end = window or (month, _add_months(month, 1) - timedelta(days=1))
    rows = measure_store(store, standards=[s.id for s in wanted], period=period, start=start, end=end,
                         catalogue=catalogue, hierarchy=hierarchy, orgs=practices + pcns + icps)
    rows = withhold_incomplete(rows, catalogue, store.covers, period)
    rows = rows[~rows["incomplete"]]  # an incomplete period is not compared: its rates read low everywhere
    compared = period_words(start, period)
    names = {o.code: o.name for o in hierarchy.organisations.values()}
    kinds = {o.code: o.kind for o in hierarchy.organisations.values()}
    rows = rows.assign(name=rows["org"].map(names), kind=rows["org"].map(kinds))
    panels = []
    for s in wanted:
        mine = rows[rows["standard"] == s.id]
        kind, multiplier = FUNNEL_UNITS[s.unit]
        whole = mine["denominator"].dropna().map(lambda d: float(d).is_integer()).all()
        if kind == "proportion" and not whole:
            continue  # a denominator that is not a count of people (an expected number): no binomial funnel
        for level in ("practice", "pcn"):
            part = mine[mine["kind"] == level][["org", "name", "numerator", "denominator"]]
            if not len(part.dropna()):
                continue
            centre, points = funnel.funnel(part, kind, multiplier)
            if not (~points["small"]).any():
                continue  # nothing large enough to place
            largest = float(points["denominator"].max()) if len(points) else 1.0
            panels.append(FunnelPanel(s.id, s.name, s.unit, s.direction, level, month, centre, points,
                                      funnel.curve(centre, largest, kind, multiplier), compared=compared))
    side = rows[rows["kind"] == "icp"].copy()
    if len(side):
        units = {s.id: (s.name, s.unit) for s in wanted}
        side["standard_name"] = side["standard"].map(lambda i: units[i][0])
        side["unit"] = side["standard"].map(lambda i: units[i][1])
        side["counted"] = [counted(u, n, d) for u, n, d in zip(side["unit"], side["numerator"], side["denominator"],
                                                                strict=True)]
        side = side[["standard", "standard_name", "unit", "org", "name", "numerator", "denominator", "value",
                     "counted"]].reset_index(drop=True)
    return panels, side


# --- the performance lead's notes -------------------------------------------------------------------------

NOTE_FIELDS = ("owner", "commentary")


def read_notes(path: Path | str, catalogue: Catalogue) -> dict[str, dict[str, str]]:
    """Owner and commentary by standard, from a TOML file ([standard.ID] owner = "...", commentary = "...")
    or a CSV (standard,owner,commentary). Every problem is named with its place in the file."""
    import csv
    import tomllib

    path = Path(path)
    if not path.is_file():
        raise BoardError(f"--notes {path}: no such file")
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise BoardError(f"--notes {path}: not valid TOML: {exc}") from None
        unknown_tables = sorted(set(data) - {"standard"})
        if unknown_tables:
            raise BoardError(f"--notes {path}: unknown table(s) {', '.join(unknown_tables)}; use [standard.ID]")
        entries = [(f"[standard.{k}]", k, v) for k, v in (data.get("standard") or {}).items()]
    elif path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if "standard" not in (reader.fieldnames or []):
                raise BoardError(f"--notes {path}: no column 'standard' (columns: standard, owner, commentary)")
            entries = [(f"row {i}", (row.pop("standard") or "").strip(), row) for i, row in enumerate(reader, 2)]
    else:
        raise BoardError(f"--notes {path}: use a .toml or .csv file")
    known, out, problems = set(catalogue.ids), {}, []
    for where, standard, fields in entries:
        if standard not in known:
            problems.append(f"{where}: standard {standard!r} is not in the catalogue")
            continue
        if not isinstance(fields, dict):
            problems.append(f"{where}: expected owner = \"...\" and commentary = \"...\"")
            continue
        extra = sorted(k for k in fields if k not in NOTE_FIELDS and k is not None)
        if extra:
            problems.append(f"{where}: unknown field(s) {', '.join(extra)}; use {', '.join(NOTE_FIELDS)}")
        bad = [k for k in NOTE_FIELDS if k in fields and not isinstance(fields[k], str | type(None))]
        problems += [f"{where}: {k} must be text" for k in bad]
        out[standard] = {k: str(fields.get(k) or "").strip() for k in NOTE_FIELDS}
    if problems:
        raise BoardError(f"--notes {path}: " + "; ".join(problems))
    return out


# --- escalation --------------------------------------------------------------------------------------

def escalation_panel(store: Store, org: Organisation, month: date, covered: tuple[date, date] | None, *,
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
    notes += framework.not_scored_lines()
    stored = _window(history(store), wanted, first, last)
    days = (last - first).days + 1
    if stored["day"][stored["org"] == shown.code].nunique() == days:
        source: Literal["store", "computed", "none"] = "store"
        status = stored
        notes.append("From the history of system status in the store (opel_status), as written by "
                     "`icsys performance escalation`.")
    else:
        status = _window(escalation(store, start=first, end=last, catalogue=catalogue, hierarchy=hierarchy,
                                    write=False), wanted, first, last)
        source = "computed" if len(status) else "none"
        notes.append(f"The store holds no history of system status for every day from {first} to {last}: "
                     f"computed for this pack and not stored. To keep it: icsys performance escalation "
                     f"--db {store.location} --from {first} --to {last}")
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


def pack_files(pack: BoardPack, out_dir: Path | str) -> list[Path]:
    """The files a pack is written as: the HTML and PDF, the Excel workbook and the CSVs of its series."""
    out, stem = Path(out_dir), file_stem(pack)
    return [out / f"{stem}.html", out / f"{stem}.pdf", out / f"{stem}.xlsx", out / f"{stem}-series.csv",
            out / f"{stem}-opel.csv"]


def write_pack(pack: BoardPack, out_dir: Path | str, progress: Progress | None = None) -> tuple[Path, Path]:
    """Write the HTML, PDF, workbook and CSVs; each goes to a temporary file first and all are moved into
    place together. Returns the HTML and PDF (pack_files names them all)."""
    update = progress or (lambda *_: None)
    out = check_out_dir(out_dir)
    targets = pack_files(pack, out)
    writers: list[tuple[str, Callable[[Path], Any]]] = [
        ("the HTML", lambda p: p.write_text(render_html(pack), encoding="utf-8")),
        ("the PDF", lambda p: render_pdf(pack, p)),
        ("the workbook", lambda p: write_xlsx(pack, p)),
        ("the series", lambda p: write_series_csv(pack, p)),
        ("the OPEL days", lambda p: write_opel_csv(pack, p))]
    temps: list[Path] = []
    try:
        for target in targets:
            handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=out)
            os.close(handle)
            temps.append(Path(name))
        for i, ((what, write), temp) in enumerate(zip(writers, temps, strict=True)):
            update(f"writing {what}", i, len(writers))
            write(temp)
        for temp, target in zip(temps, targets, strict=True):
            temp.chmod(0o644)
            os.replace(temp, target)
        update("written", len(writers), len(writers))
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)
    return targets[0], targets[1]


def board_pack(store: Store, org: str, month: str, *, out_dir: Path | str = ".", months: int = 24,
               plan: Path | str | None = None, notes: Path | str | None = None, progress: Progress | None = None,
               generated_by: str = "", funnel_period: str = "month") -> tuple[Path, Path]:
    """Build and write the pack; the folder is checked before any work is done."""
    check_out_dir(out_dir)
    pack = build_pack(store, org, month, months=months, plan=plan, notes=notes, progress=progress,
                      generated_by=generated_by, funnel_period=funnel_period)
    return write_pack(pack, out_dir, progress)
