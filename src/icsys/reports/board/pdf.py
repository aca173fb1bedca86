"""The board pack as a PDF: the same content as the HTML as static A4 landscape pages, drawn with
matplotlib (PdfPages), so no browser or system library is needed.

Pages: a front page; the summary table, ROWS_PER_PAGE standards a page; the SPC charts,
CHARTS_PER_PAGE a page; with a plan, the trajectories, CHARTS_PER_PAGE a page (one page saying so when
the plan gives none for this organisation); for the ICS or an ICP, the funnel plots of its practices and
PCNs (CHARTS_PER_PAGE a page) and, for the ICS, its ICPs side by side (ROWS_PER_PAGE standards a page);
and the escalation page. Every page carries the data's source at its foot.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from icsys.reports.board.content import BoardPack, FunnelPanel, StandardPanel, fmt, funnel_colour
from icsys.reports.charts import (
    BLUE,
    CAUSE_COLOURS,
    GREY,
    MEAN_BLACK,
    OPEL_COLOURS,
    PURPLE,
    TARGET_RED,
    assurance_icon,
    draw,
    variation_icon,
)

A4_LANDSCAPE = (11.69, 8.27)
ROWS_PER_PAGE = 16
CHARTS_PER_PAGE = 4
NHS_BLUE, TEXT, MUTED, ALERT_RED = "#005eb8", "#212b32", "#4c6272", "#d5281b"
NOTE_LINES = 7  # lines of commentary and notes under a chart


def page_count(standards: int, trajectories: int, plan: bool, funnels: int = 0, icp_standards: int = 0) -> int:
    """How many pages a pack of this many standards, trajectories, funnel plots and ICP rows has."""
    trajectory_pages = max(1, math.ceil(trajectories / CHARTS_PER_PAGE)) if plan else 0
    return (1 + math.ceil(standards / ROWS_PER_PAGE) + math.ceil(standards / CHARTS_PER_PAGE)
            + trajectory_pages + math.ceil(funnels / CHARTS_PER_PAGE) + math.ceil(icp_standards / ROWS_PER_PAGE) + 1)


def render_pdf(pack: BoardPack, path: Path) -> None:
    from matplotlib.backends.backend_pdf import PdfPages

    metadata = {"Title": pack.title, "Author": pack.generated_by or "icsys", "Creator": f"icsys {pack.version}",
                "Subject": f"Performance against the NHS standards, {pack.month:%B %Y}"}
    with PdfPages(path, metadata=metadata) as pdf:
        for fig in figures(pack):
            pdf.savefig(fig)


def figures(pack: BoardPack) -> list[Any]:
    """The pages as matplotlib figures, each with the data's source and page number at its foot."""
    pages = [_front(pack), *_summary_pages(pack), *_chart_pages(pack)]
    if pack.plan is not None:
        pages += _trajectory_pages(pack)
    if pack.funnels:
        pages += _slotted_pages(f"Practices and PCNs against {pack.org.name}: funnel plots, {pack.compared_words}",
                                pack.funnels, _funnel_axes)
    if len(pack.icps):
        pages += _icp_pages(pack)
    pages.append(_escalation_page(pack))
    for number, fig in enumerate(pages, start=1):
        fig.text(0.04, 0.035, pack.provenance_line, fontsize=6.5, color=ALERT_RED if pack.synthetic else TEXT,
                 fontweight="bold")
        fig.text(0.97, 0.015, f"{pack.org.code} · {pack.month:%B %Y} · page {number} of {len(pages)}", ha="right",
                 fontsize=7, color=MUTED)
    return pages


def _page(title: str) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=A4_LANDSCAPE)
    fig.text(0.04, 0.94, title, fontsize=16, color=NHS_BLUE, fontweight="bold")
    fig.add_artist(_rule(fig, 0.925))
    return fig


def _rule(fig: Any, y: float) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([0.04, 0.96], [y, y], transform=fig.transFigure, color=NHS_BLUE, linewidth=1.5)


def _front(pack: BoardPack) -> Any:
    fig = _page(pack.title)
    facts = [("Organisation", f"{pack.org.name} ({pack.org.code}, {pack.org.kind})"),
             ("Month", f"{pack.month:%B %Y}"),
             ("Data period", f"{pack.first:%B %Y} to {pack.last:%B %Y} ({pack.months} months asked)"
              + (f"; the store covers {pack.covered[0]} to {pack.covered[1]}" if pack.covered else "")),
             ("Generated", f"{pack.generated_at:%d %B %Y %H:%M %Z}"
              + (f" by {pack.generated_by}" if pack.generated_by else "")),
             ("Software", f"icsys {pack.version}")]
    if pack.plan is not None:
        facts.append(("Plan", pack.plan.name))
    if pack.notes_file is not None:
        facts.append(("Commentary", pack.notes_file.name))
    y = 0.895
    for line in textwrap.wrap(pack.provenance, 120):
        fig.text(0.05, y, line, fontsize=10.5, fontweight="bold", color=ALERT_RED if pack.synthetic else NHS_BLUE)
        y -= 0.03
    y -= 0.01
    for name, value in facts:
        fig.text(0.05, y, name, fontsize=11, fontweight="bold", color=TEXT)
        fig.text(0.2, y, value, fontsize=11, color=TEXT)
        y -= 0.04
    y -= 0.02
    for line in textwrap.wrap(pack.summary, 140):
        fig.text(0.05, y, line, fontsize=10, color=TEXT)
        y -= 0.029
    y = min(y - 0.02, 0.3)
    fig.text(0.05, y, "Key to the Making Data Count icons", fontsize=10, fontweight="bold", color=TEXT)
    keys = [variation_icon(k) for k in ("common_cause", "improvement_high", "improvement_low", "concern_high",
                                        "concern_low", "neutral_high")]
    keys += [assurance_icon(k) for k in ("consistently_pass", "consistently_fail", "hit_and_miss")]
    for i, icon in enumerate(k for k in keys if k is not None):
        left, bottom = 0.05 + (i % 3) * 0.31, y - 0.08 - (i // 3) * 0.075
        draw(fig, icon, left, bottom, 0.45)
        fig.text(left + 0.045, bottom + 0.025, "\n".join(textwrap.wrap(icon.label, 48)), fontsize=7.5, color=TEXT,
                 va="center")
    return fig


def _summary_pages(pack: BoardPack) -> list[Any]:
    columns = [("Standard", 0.04), ("Value", 0.355), ("Counted", 0.435), ("Target", 0.575), ("Met", 0.635),
               ("Variation", 0.69), ("Assurance", 0.755)]
    if pack.plan is not None:
        columns += [("Planned", 0.83), ("Trajectory", 0.90)]
    pages = []
    chunks = [pack.standards[i:i + ROWS_PER_PAGE] for i in range(0, len(pack.standards), ROWS_PER_PAGE)]
    for n, chunk in enumerate(chunks, start=1):
        fig = _page(f"Summary of the standards ({n} of {len(chunks)}): {pack.month:%B %Y}")
        for name, x in columns:
            fig.text(x, 0.885, name, fontsize=9, fontweight="bold", color=TEXT)
        for i, panel in enumerate(chunk):
            _summary_row(fig, panel, 0.84 - i * 0.049, columns, pack.plan is not None)
        pages.append(fig)
    return pages


def _summary_row(fig: Any, panel: StandardPanel, y: float, columns: list[tuple[str, float]], plan: bool) -> None:
    x = dict(columns)
    fig.text(x["Standard"], y, textwrap.shorten(panel.name, 56), fontsize=9, color=TEXT, va="center")
    value = fmt(panel.value, panel.unit) + ("" if panel.value_period in (None, panel.month)
                                            else f" ({panel.value_period:%b %y})")
    fig.text(x["Value"], y, value, fontsize=9, color=TEXT, va="center")
    fig.text(x["Counted"], y + (0.007 if panel.small else 0), textwrap.shorten(panel.counts, 30) or "–", fontsize=8,
             color=TEXT, va="center")
    if panel.small:
        fig.text(x["Counted"], y - 0.011, panel.small_flag, fontsize=6.5, color=ALERT_RED, va="center",
                 fontweight="bold")
    fig.text(x["Target"], y, fmt(panel.target, panel.unit), fontsize=9, color=TEXT, va="center")
    met = {None: ("–", MUTED), True: ("met", "#007f3b"), False: ("not met", "#d5281b")}[panel.met]
    fig.text(x["Met"], y, met[0], fontsize=9, color=met[1], va="center", fontweight="bold")
    if panel.variation:
        draw(fig, variation_icon(panel.variation), x["Variation"] + 0.01, y - 0.0215, 0.36)
    assurance = assurance_icon(panel.assurance)
    if assurance:
        draw(fig, assurance, x["Assurance"] + 0.01, y - 0.0215, 0.36)
    if plan:
        row = panel.month_plan
        planned = "–" if row is None else fmt(float(row["planned"]), panel.trajectory_unit)
        track = "–" if row is None else ("no data" if row["on_track"] is None or row["on_track"] != row["on_track"]
                                         else "on track" if row["on_track"] else "off track")
        fig.text(x["Planned"], y, planned, fontsize=9, color=TEXT, va="center")
        fig.text(x["Trajectory"], y, track, fontsize=9, color=TEXT, va="center")
    fig.add_artist(_thin(fig, y - 0.0245))


def _thin(fig: Any, y: float) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([0.04, 0.96], [y, y], transform=fig.transFigure, color="#d8dde0", linewidth=0.6)


_SLOTS = [(0.06, 0.61), (0.55, 0.61), (0.06, 0.18), (0.55, 0.18)]  # bottom-left corners of four charts
_SLOT_SIZE = (0.40, 0.25)


def _chart_pages(pack: BoardPack) -> list[Any]:
    return _slotted_pages("SPC charts", pack.standards, _spc_axes)


def _slotted_pages(title: str, panels: list[StandardPanel],
                   draw: Callable[[Any, StandardPanel, float, float], None]) -> list[Any]:
    """Pages of up to CHARTS_PER_PAGE charts, each panel drawn in the next slot: "title (n of m)"."""
    pages = []
    chunks = [panels[i:i + CHARTS_PER_PAGE] for i in range(0, len(panels), CHARTS_PER_PAGE)]
    for n, chunk in enumerate(chunks, start=1):
        fig = _page(f"{title} ({n} of {len(chunks)})")
        for (left, bottom), panel in zip(_SLOTS, chunk, strict=False):
            draw(fig, panel, left, bottom)
        pages.append(fig)
    return pages


def _spc_axes(fig: Any, panel: StandardPanel, left: float, bottom: float) -> None:
    ax = fig.add_axes((left, bottom, *_SLOT_SIZE))
    ax.set_title(textwrap.shorten(panel.name, 58), fontsize=9.5, loc="left", color=TEXT, fontweight="bold")
    chart = panel.chart
    if chart is None:
        ax.set_axis_off()
    else:
        points = chart.points
        x = pd.to_datetime(points["period"])
        ax.plot(x, points["value"], color=GREY, linewidth=1)
        ax.scatter(x, points["value"], s=14, zorder=3, color=[CAUSE_COLOURS[c] for c in points["special_cause"]])
        ax.plot(x, points["mean"], color=MEAN_BLACK, linewidth=1)
        ax.plot(x, points["upl"], color=GREY, linewidth=0.9, linestyle="--")
        ax.plot(x, points["lpl"], color=GREY, linewidth=0.9, linestyle="--")
        if panel.series["target"].notna().any():
            ax.step(pd.to_datetime(panel.series["period"]), panel.series["target"], where="post", color=TARGET_RED,
                    linewidth=1, linestyle=":")
        _axis_style(ax, panel.unit)
        if panel.variation:
            draw(fig, variation_icon(panel.variation), left + _SLOT_SIZE[0] - 0.075, bottom + _SLOT_SIZE[1] + 0.005,
                 0.32)
        assurance = assurance_icon(panel.assurance)
        if assurance:
            draw(fig, assurance, left + _SLOT_SIZE[0] - 0.035, bottom + _SLOT_SIZE[1] + 0.005, 0.32)
    notes = list(panel.notes)
    if chart is not None:
        last = chart.limits.iloc[-1]
        notes.insert(0, f"Mean {fmt(last['mean'], panel.unit)}; process limits {fmt(last['lpl'], panel.unit)} to "
                        f"{fmt(last['upl'], panel.unit)}; target {fmt(panel.target, panel.unit)}.")
    said = [panel.commentary]
    if panel.owner or panel.lead_commentary:
        said.append((f"Owner: {panel.owner}. " if panel.owner else "") + panel.lead_commentary)
    lines = [line for note in said for line in textwrap.wrap(note, 100)]
    rest = [line for note in notes for line in textwrap.wrap(note, 105)]
    room = NOTE_LINES - len(lines)
    if len(rest) > room:
        rest = [*rest[:max(room - 1, 0)], "… (more notes in the HTML pack)"]
    fig.text(left, bottom - 0.04, "\n".join(lines), fontsize=6.5, color=TEXT, va="top")
    fig.text(left, bottom - 0.04 - 0.0135 * len(lines), "\n".join(rest), fontsize=6.5, color=MUTED, va="top")


def _axis_style(ax: Any, unit: str) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
    ax.tick_params(labelsize=7)
    ax.set_ylabel(unit, fontsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _trajectory_pages(pack: BoardPack) -> list[Any]:
    chosen = pack.trajectories
    if not chosen:
        fig = _page("Trajectories")
        fig.text(0.05, 0.85, f"The plan {pack.plan.name if pack.plan else ''} gives no month in this period for "
                 f"{pack.org.name}.", fontsize=11, color=TEXT)
        return [fig]
    return _slotted_pages("Trajectories", chosen, _trajectory_axes)


def _trajectory_axes(fig: Any, panel: StandardPanel, left: float, bottom: float) -> None:
    ax = fig.add_axes((left, bottom, *_SLOT_SIZE))
    what = "trajectory (count)" if panel.planned_as_count else "trajectory"
    ax.set_title(textwrap.shorten(f"{panel.name}: {what}", 58), fontsize=9.5, loc="left", color=TEXT,
                 fontweight="bold")
    series, planned, unit = panel.series, panel.planned, panel.trajectory_unit
    actual = panel.trajectory_actual
    ax.plot(pd.to_datetime(series["period"]), actual, color=BLUE, marker="o", markersize=3, label="actual")
    ax.plot(pd.to_datetime(planned["period"]), planned["planned"], color=PURPLE, marker="o", markersize=3,
            linestyle="--", label="planned")
    if series["target"].notna().any() and not panel.planned_as_count:
        ax.step(pd.to_datetime(series["period"]), series["target"], where="post", color=TARGET_RED, linewidth=1,
                linestyle=":", label="target")
    ax.legend(fontsize=7, frameon=False, loc="best")
    _axis_style(ax, unit)
    judged = planned[planned["on_track"].map(lambda v: v is not None and v == v)]
    on = int(judged["on_track"].astype(bool).sum())
    latest = planned.iloc[-1]
    latest_actual = _float(actual[planned.index[-1]])
    text = (f"{on} of {len(judged)} planned months with a value on track. Latest planned month "
            f"{latest['period']:%b %Y}: planned {fmt(latest['planned'], unit)}, actual "
            f"{fmt(latest_actual, unit)}, variance {fmt(_float(latest['variance']), unit)}.")
    fig.text(left, bottom - 0.045, "\n".join(textwrap.wrap(text, 95)), fontsize=6.5, color=MUTED, va="top")


def _funnel_axes(fig: Any, panel: FunnelPanel, left: float, bottom: float) -> None:
    ax = fig.add_axes((left, bottom, *_SLOT_SIZE))
    level = "practices" if panel.level == "practice" else "PCNs"
    ax.set_title(textwrap.shorten(f"{panel.name}: {level}", 58), fontsize=9.5, loc="left", color=TEXT,
                 fontweight="bold")
    curve = panel.curve
    ax.plot(curve["denominator"], [panel.centre] * len(curve), color=MEAN_BLACK, linewidth=1)
    for level_name, style in (("95", "--"), ("99.8", ":")):
        for side in ("lower", "upper"):
            ax.plot(curve["denominator"], curve[f"{side}_{level_name}"], color=GREY, linewidth=0.9, linestyle=style)
    placed = panel.placed
    ax.scatter(placed["denominator"], placed["value"], s=12, zorder=3,
               color=[funnel_colour(panel, p) for p in placed["position"]])
    ax.set_xscale("log")
    ax.set_xlabel("denominator (log scale)", fontsize=7)
    ax.tick_params(labelsize=7)
    ax.set_ylabel(panel.unit, fontsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    text = panel.sentence + " Limits: 95 % dashed, 99.8 % dotted (exact binomial or Poisson)."
    fig.text(left, bottom - 0.045, "\n".join(textwrap.wrap(text, 100)[:NOTE_LINES]), fontsize=6.5, color=TEXT,
             va="top")


def _icp_pages(pack: BoardPack) -> list[Any]:
    """The ICPs' values of each practice-attributed standard in the month, side by side, with their counts."""
    from icsys.disclosure import is_small

    table = pack.icps
    icps = list(dict.fromkeys(table["org"]))
    names = dict(zip(table["org"], table["name"], strict=False))
    x0, width = 0.36, min(0.15, 0.6 / max(len(icps), 1))
    standards = list(table.groupby("standard", sort=False))
    chunks = [standards[i:i + ROWS_PER_PAGE] for i in range(0, len(standards), ROWS_PER_PAGE)]
    pages = []
    for n, chunk in enumerate(chunks, start=1):
        fig = _page(f"ICPs side by side ({n} of {len(chunks)}): {pack.compared_words}")
        fig.text(0.04, 0.885, "Standard", fontsize=9, fontweight="bold", color=TEXT)
        for j, icp in enumerate(icps):
            fig.text(x0 + j * width, 0.885, textwrap.shorten(names[icp] or icp, 26), fontsize=8, fontweight="bold",
                     color=TEXT)
        for i, (_, rows) in enumerate(chunk):
            y = 0.84 - i * 0.049
            fig.text(0.04, y, textwrap.shorten(rows.iloc[0]["standard_name"], 56), fontsize=8.5, color=TEXT,
                     va="center")
            by = rows.set_index("org")
            for j, icp in enumerate(icps):
                if icp not in by.index:
                    continue
                row = by.loc[icp]
                base = row["numerator"] if row["unit"] == "per 1,000 a year" else row["denominator"]
                small = is_small(_float(base))
                value = fmt(_float(row["value"]), row["unit"]) + (" (small number)" if small else "")
                fig.text(x0 + j * width, y + 0.008, value, fontsize=8.5, color=ALERT_RED if small else TEXT,
                         va="center")
                fig.text(x0 + j * width, y - 0.01, row["counted"], fontsize=6.5, color=MUTED, va="center")
            fig.add_artist(_thin(fig, y - 0.0245))
        pages.append(fig)
    return pages


def _float(value: Any) -> float | None:
    return None if value is None or value != value else float(value)


def _escalation_page(pack: BoardPack) -> Any:
    esc = pack.escalation
    fig = _page(f"Escalation (OPEL): {esc.org.name}, {esc.first:%d %b %Y} to {esc.last:%d %b %Y}")
    lines = textwrap.wrap(pack.escalation_sentence, 130)
    if esc.latest is not None:
        lines.append(f"Reasons for OPEL {esc.latest['level']} on {esc.latest['day']:%d %B %Y}:")
        lines += [w for r in esc.latest["reasons"][:8] for w in textwrap.wrap(f"• {r}", 130)]
        if len(esc.latest["reasons"]) > 8:
            lines.append(f"… and {len(esc.latest['reasons']) - 8} more (see the HTML pack)")
    fig.text(0.05, 0.89, "\n".join(lines), fontsize=8.5, color=TEXT, va="top", linespacing=1.5)
    notes = [w for n in esc.notes for w in textwrap.wrap(n, 150)]
    fig.text(0.05, 0.06, "\n".join(notes), fontsize=7, color=MUTED, va="bottom")
    # The chart stands on the notes, its date labels clear of them, however many notes there are.
    notes_top = 0.06 + len(notes) * 7 * 1.3 / (72 * fig.get_figheight())
    if esc.latest is not None:
        _opel_axes(fig, pack, bottom=max(0.14, notes_top + 0.06))
        _opel_table(fig, esc.days_at_level())
    return fig


def _opel_axes(fig: Any, pack: BoardPack, bottom: float = 0.14) -> None:
    esc = pack.escalation
    ax = fig.add_axes((0.06, bottom, 0.56, max(0.52 - bottom, 0.2)))
    lows = (0.0, *esc.bands)
    for level, (low, high) in enumerate(zip(lows, (*esc.bands, 100.0), strict=True), start=1):
        ax.axhspan(low, high, color=OPEL_COLOURS[level], alpha=0.08, linewidth=0)
        ax.text(1.01, (low + high) / 2, f"OPEL {level}", transform=ax.get_yaxis_transform(), fontsize=7,
                va="center", color=OPEL_COLOURS[level])
    for org in [esc.org.code, *[o for o in esc.days["org"].unique() if o != esc.org.code]]:
        days = esc.levels(org)
        days = days[days["level"].notna()]
        mine = org == esc.org.code
        x = pd.to_datetime(days["day"])
        ax.plot(x, days["score"], color=MEAN_BLACK if mine else GREY, linewidth=1 if mine else 0.8,
                linestyle="-" if mine else ":", label=f"{org} score")
        if mine:
            ax.scatter(x, days["score"], s=9, zorder=3, color=[OPEL_COLOURS[int(v)] for v in days["level"]])
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    _axis_style(ax, "OPEL score (0-100)")


def _opel_table(fig: Any, months: pd.DataFrame) -> None:
    fig.text(0.72, 0.5, "Days at each level", fontsize=9, fontweight="bold", color=TEXT)
    for j, level in enumerate([1, 2, 3, 4]):
        fig.text(0.84 + j * 0.042, 0.47, f"OPEL {level}", fontsize=8, fontweight="bold", color=OPEL_COLOURS[level],
                 ha="right")
    for i, (month, row) in enumerate(months.iterrows()):
        y = 0.44 - i * 0.03
        fig.text(0.72, y, str(month), fontsize=8, color=TEXT)
        for j, level in enumerate([1, 2, 3, 4]):
            fig.text(0.84 + j * 0.042, y, str(int(row[level])), fontsize=8, color=TEXT, ha="right")
