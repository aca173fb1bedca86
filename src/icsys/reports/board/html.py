"""The board pack as one self-contained HTML file: Jinja2 templates, Plotly charts with plotly.js
inlined from the installed package (no CDN, so it opens offline and can be sent by email), and the
Making Data Count icons as inline SVG."""

from __future__ import annotations

from typing import Any

from icsys.disclosure import SMALL_NUMBER
from icsys.reports.board.content import BoardPack, EscalationPanel, FunnelPanel, StandardPanel, fmt, funnel_colour
from icsys.reports.charts import (
    BLUE,
    GREY,
    MEAN_BLACK,
    OPEL_COLOURS,
    PURPLE,
    TARGET_RED,
    assurance_icon,
    dates,
    figure_html,
    layout_of,
    line,
    numbers,
    spc_figure_html,
    svg,
    variation_icon,
)


def render_html(pack: BoardPack) -> str:
    """The whole pack as one HTML document."""
    import jinja2
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(loader=jinja2.PackageLoader("icsys.reports.board", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)
    env.filters["fmt"] = fmt
    template = env.get_template("board.html.j2")
    return template.render(pack=pack, plotlyjs=get_plotlyjs(), rows=[_row(s) for s in pack.standards],
                           charts=[_chart(s) for s in pack.standards],
                           trajectories=[_trajectory(s) for s in pack.trajectories],
                           escalation=_escalation(pack.escalation), key=_key(), small_number=SMALL_NUMBER,
                           funnels=[_funnel(f, i) for i, f in enumerate(pack.funnels)], icps=_icps(pack))


def _icons(panel: StandardPanel) -> tuple[str, str]:
    variation = svg(variation_icon(panel.variation)) if panel.variation else ""
    assurance = assurance_icon(panel.assurance)
    return variation, svg(assurance) if assurance else ""


def _row(panel: StandardPanel) -> dict[str, Any]:
    variation, assurance = _icons(panel)
    plan = panel.month_plan
    on_track = None if plan is None or plan["on_track"] is None else bool(plan["on_track"])
    return {"panel": panel, "variation_svg": variation, "assurance_svg": assurance,
            "value_note": "" if panel.value_period in (None, panel.month) else f"{panel.value_period:%b %Y}",
            "planned": None if plan is None else float(plan["planned"]), "on_track": on_track,
            "planned_unit": panel.trajectory_unit}


def _key() -> list[dict[str, str]]:
    """The icons a reader may meet, with what they mean."""
    icons = [variation_icon(k) for k in ("common_cause", "improvement_high", "improvement_low", "concern_high",
                                         "concern_low", "neutral_high")]
    icons += [assurance_icon(k) for k in ("consistently_pass", "consistently_fail", "hit_and_miss")]
    return [{"svg": svg(i, 32), "label": i.label} for i in icons if i is not None]


def _chart(panel: StandardPanel) -> dict[str, Any]:
    """The SPC chart of a standard: values coloured by special cause, mean, process limits, target."""
    variation, assurance = _icons(panel)
    out = {"panel": panel, "variation_svg": variation, "assurance_svg": assurance, "html": ""}
    if panel.chart is None:
        return out
    out["html"] = spc_figure_html(panel.chart.points, panel.series, panel.unit, f"plot-spc-{panel.id}")
    return out


def _trajectory(panel: StandardPanel) -> dict[str, Any]:
    """Planned values against actuals, month by month."""
    series, planned, unit = panel.series, panel.planned, panel.trajectory_unit
    x = dates(series["period"])
    actual = panel.trajectory_actual
    data = [line(x, actual, "actual", {"color": BLUE, "width": 2}, mode="lines+markers",
                  hover="actual %{y:.4g}<extra></extra>"),
            line(dates(planned["period"]), planned["planned"], "planned", {"color": PURPLE, "width": 2,
                  "dash": "dash"}, mode="lines+markers", hover="planned %{y:.4g}<extra></extra>")]
    if series["target"].notna().any() and not panel.planned_as_count:
        data.append(line(x, series["target"], "target", {"color": TARGET_RED, "width": 1.5, "dash": "dot",
                          "shape": "hv"}, hover="target %{y:.4g}<extra></extra>"))
    actual_of = dict(zip(series["period"], actual, strict=True))
    rows = [{"month": f"{r.period:%b %Y}", "planned": fmt(r.planned, unit), "actual": fmt(actual_of[r.period], unit),
             "variance": fmt(r.variance, unit),
             "on_track": "no data" if r.on_track is None or r.on_track != r.on_track else
             ("on track" if r.on_track else "off track")} for r in planned.itertuples()]
    html = figure_html(data, layout_of(unit, height=300), f"plot-trajectory-{panel.id}")
    return {"panel": panel, "html": html, "rows": rows}


def _funnel(panel: FunnelPanel, number: int) -> dict[str, Any]:
    """A funnel plot: the centre, the 95 % and 99.8 % limits along the denominator, and each organisation."""
    curve, placed = panel.curve, panel.placed
    data = [line(list(curve["denominator"]), [panel.centre] * len(curve), "centre", {"color": MEAN_BLACK,
                                                                                      "width": 1.5})]
    for level, dash in (("95", "dash"), ("99.8", "dot")):
        for side in ("lower", "upper"):
            data.append(line(list(curve["denominator"]), curve[f"{side}_{level}"], f"{level} % limits",
                             {"color": GREY, "width": 1.2, "dash": dash}, legend=side == "lower"))
    data.append({"type": "scatter", "mode": "markers", "x": numbers(placed["denominator"]),
                 "y": numbers(placed["value"]), "name": "practices" if panel.level == "practice" else "PCNs",
                 "text": [f"{n or o}: {p}" for n, o, p in zip(placed["name"], placed["org"], placed["position"],
                                                               strict=True)],
                 "hovertemplate": "%{text}<br>%{y:.4g} of %{x:.0f}<extra></extra>",
                 "marker": {"size": 8, "color": [funnel_colour(panel, p) for p in placed["position"]]}})
    layout = layout_of(panel.unit)
    layout["xaxis"] = {**layout["xaxis"], "type": "log", "title": {"text": "denominator (log scale)"}}
    return {"panel": panel, "html": figure_html(data, layout, f"plot-funnel-{panel.standard}-{number}")}


def _icps(pack: BoardPack) -> list[dict[str, Any]]:
    from icsys.disclosure import is_small

    rows = []
    for _, part in (pack.icps.groupby("standard", sort=False) if len(pack.icps) else []):
        cells = []
        for r in part.to_dict("records"):
            base = r["numerator"] if r["unit"] == "per 1,000 a year" else r["denominator"]
            cells.append({"org": r["org"], "name": r["name"], "value": fmt(r["value"], r["unit"]),
                          "counted": r["counted"], "small": is_small(base)})
        rows.append({"name": part.iloc[0]["standard_name"], "cells": cells})
    return rows


def _escalation(esc: EscalationPanel) -> dict[str, Any]:
    """The OPEL score day by day against the bands of OPEL 1-4, with the level of each day coloured."""
    out: dict[str, Any] = {"panel": esc, "html": "", "months": esc.days_at_level()}
    if esc.latest is None:
        return out
    lows, highs = (0.0, *esc.bands), (*esc.bands, 100.0)
    shapes = [{"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "y0": low, "y1": high, "line": {"width": 0},
               "fillcolor": OPEL_COLOURS[level], "opacity": 0.08, "layer": "below"}
              for level, low, high in zip((1, 2, 3, 4), lows, highs, strict=True)]
    notes = [{"xref": "paper", "x": 1.0, "xanchor": "left", "y": (low + high) / 2, "text": f"OPEL {level}",
              "showarrow": False, "font": {"color": OPEL_COLOURS[level], "size": 10}}
             for level, low, high in zip((1, 2, 3, 4), lows, highs, strict=True)]
    data = []
    for org in [esc.org.code, *[o for o in esc.days["org"].unique() if o != esc.org.code]]:
        days = esc.levels(org)
        days = days[days["level"].notna()]
        mine = org == esc.org.code
        data.append(line(dates(days["day"]), days["score"], f"{org} score",
                          {"color": MEAN_BLACK if mine else GREY, "width": 1.5, "dash": "solid" if mine else "dot"},
                          mode="lines+markers" if mine else "lines",
                          hover=f"{org}: OPEL %{{customdata}} (score %{{y:.1f}})<extra></extra>",
                          marker={"size": 6, "color": [OPEL_COLOURS[int(v)] for v in days["level"]]},
                          customdata=[int(v) for v in days["level"]]))
    layout = layout_of("OPEL score (0-100)")
    layout["yaxis"]["range"] = [0, 100]
    layout |= {"shapes": shapes, "annotations": notes, "margin": {"l": 55, "r": 70, "t": 20, "b": 40}}
    out["html"] = figure_html(data, layout, "plot-opel")
    return out
