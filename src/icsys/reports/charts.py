"""The charts the board pack and the web pages share: the SPC chart as a Plotly figure (plain dicts drawn by
plotly.js) and the Making Data Count icons.

The icons, drawn by icsys: variation (common cause grey; special cause improvement
blue, concern orange, neutral purple, each with H or L for a high or low point) and assurance (P blue:
the target is passed consistently, F orange: failed consistently, grey hit and miss).

Each icon is a list of shapes in a 100 x 100 box, so the HTML (inline SVG) and the PDF (matplotlib)
draw the same picture. The colours are those of the Making Data Count tools and NHSRplotthedots 0.2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd

BLUE, ORANGE, PURPLE, GREY = "#00b0f0", "#e46c0a", "#490092", "#a6a6a6"
TARGET_RED, MEAN_BLACK = "#de1b1b", "#000000"
CAUSE_COLOURS = {"improvement": BLUE, "concern": ORANGE, "neutral": PURPLE, "none": GREY}
OPEL_COLOURS = {1: "#009639", 2: "#ffb81c", 3: "#da291c", 4: "#231f20"}  # NHS green, warm yellow, red, black
_CONFIG = {"displaylogo": False, "responsive": True}
_FLAT = [(18, 52), (29, 46), (40, 55), (51, 47), (62, 54), (73, 48), (84, 52)]
_RISING = [(18, 40), (29, 44), (40, 37), (51, 42), (62, 52), (73, 62), (84, 72)]  # the last 3 special cause


@dataclass(frozen=True)
class Icon:
    key: str  # e.g. improvement_high, consistently_fail
    kind: str  # variation or assurance
    label: str  # in words, for a screen reader and the key
    colour: str
    letter: str  # H, L, P, F or ""
    shapes: tuple[tuple[Any, ...], ...]


def variation_icon(key: str) -> Icon:
    """The variation icon of an SPC chart's latest point (spc.SpcResult.variation)."""
    if key == "common_cause":
        dots = tuple(("dot", x, y, 4.5, GREY) for x, y in _FLAT)
        return Icon(key, "variation", "Common cause variation", GREY, "", (_ring(GREY), _path(_FLAT, GREY), *dots))
    cause, _, side = key.partition("_")
    if cause not in ("improvement", "concern", "neutral") or side not in ("high", "low"):
        raise ValueError(f"unknown variation icon {key!r}")
    colour = CAUSE_COLOURS[cause]
    points = _RISING if side == "high" else [(x, 100 - y) for x, y in _RISING]
    dots = tuple(("dot", x, y, 4.5, colour if i >= 4 else GREY) for i, (x, y) in enumerate(points))
    letter = "H" if side == "high" else "L"
    words = {"improvement": "improvement", "concern": "concern", "neutral": "neither improvement nor concern"}
    label = f"Special cause {words[cause]}: {'high' if side == 'high' else 'low'} values"
    text_y = 72 if side == "high" else 28
    return Icon(key, "variation", label, colour, letter,
                (_ring(colour), _path(points, GREY), *dots, ("text", 34, text_y, letter, colour, 26)))


def assurance_icon(key: str | None) -> Icon | None:
    """The assurance icon (spc.SpcResult.assurance); None without a target."""
    if key is None:
        return None
    target = ("line", ((12, 50), (88, 50)), TARGET_RED, 3, True)
    if key == "hit_and_miss":
        wave = tuple((12 + i * 2, 50 + 18 * math.sin(i * math.pi / 9)) for i in range(39))
        return Icon(key, "assurance", "Hit and miss: the target lies within the process limits", GREY, "",
                    (_ring(GREY), target, ("line", wave, GREY, 4, False)))
    if key in ("consistently_pass", "consistently_fail"):
        passes = key == "consistently_pass"
        colour, letter = (BLUE, "P") if passes else (ORANGE, "F")
        label = ("Consistently passing: the process limits lie on the passing side of the target" if passes
                 else "Consistently failing: the process limits lie on the failing side of the target")
        bar = ("line", ((22, 80), (78, 80)), TARGET_RED, 3, True)
        return Icon(key, "assurance", label, colour, letter, (_ring(colour), bar, ("text", 50, 48, letter, colour, 46)))
    raise ValueError(f"unknown assurance icon {key!r}")


def _ring(colour: str) -> tuple[Any, ...]:
    return ("circle", 50, 50, 44, colour, 7)


def _path(points: list[tuple[float, float]], colour: str) -> tuple[Any, ...]:
    return ("line", tuple(points), colour, 2, False)


# --- SVG (the HTML pack) ----------------------------------------------------------------------------

def svg(icon: Icon, size: int = 40) -> str:
    """The icon as an inline SVG element; y runs upwards in the shapes, downwards in SVG."""
    parts = []
    for shape in icon.shapes:
        kind = shape[0]
        if kind == "circle":
            _, cx, cy, r, colour, width = shape
            parts.append(f'<circle cx="{cx}" cy="{100 - cy}" r="{r}" fill="#ffffff" stroke="{colour}" '
                         f'stroke-width="{width}"/>')
        elif kind == "dot":
            _, x, y, r, colour = shape
            parts.append(f'<circle cx="{x}" cy="{100 - y}" r="{r}" fill="{colour}"/>')
        elif kind == "line":
            _, points, colour, width, dashed = shape
            coords = " ".join(f"{x:.1f},{100 - y:.1f}" for x, y in points)
            dash = ' stroke-dasharray="6 4"' if dashed else ""
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="{width}"{dash}/>')
        elif kind == "text":
            _, x, y, text, colour, font = shape
            parts.append(f'<text x="{x}" y="{100 - y}" fill="{colour}" font-size="{font}" font-weight="bold" '
                         f'font-family="Arial, Helvetica, sans-serif" text-anchor="middle" '
                         f'dominant-baseline="central">{escape(text)}</text>')
    label = escape(icon.label)
    return (f'<svg class="icon {icon.kind}" data-icon="{icon.key}" width="{size}" height="{size}" '
            f'viewBox="0 0 100 100" role="img" aria-label="{label}"><title>{label}</title>{"".join(parts)}</svg>')


# --- matplotlib (the PDF pack) ----------------------------------------------------------------------

def draw(fig: Any, icon: Icon, left: float, bottom: float, size: float) -> None:
    """Draw the icon in a square of `size` inches at (left, bottom) in figure fractions; drawn on the
    figure itself (an axes for each icon would make a pack's PDF several times slower)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle
    from matplotlib.transforms import Affine2D

    width, height = fig.get_size_inches()
    box = Affine2D().scale(size / 100).translate(left * width, bottom * height) + fig.dpi_scale_trans
    points_per_unit = size * 72 / 100  # a line width in the box's units, as matplotlib points
    for shape in icon.shapes:
        kind = shape[0]
        if kind == "circle":
            _, cx, cy, r, colour, line = shape
            fig.add_artist(Circle((cx, cy), r, facecolor="white", edgecolor=colour, linewidth=line * points_per_unit,
                                  transform=box))
        elif kind == "dot":
            _, x, y, r, colour = shape
            fig.add_artist(Circle((x, y), r, facecolor=colour, edgecolor="none", transform=box))
        elif kind == "line":
            _, points, colour, line, dashed = shape
            xs, ys = zip(*points, strict=True)
            fig.add_artist(Line2D(xs, ys, color=colour, linewidth=line * points_per_unit,
                                  linestyle="--" if dashed else "-", transform=box))
        elif kind == "text":
            _, x, y, text, colour, font = shape
            fig.text(x, y, text, color=colour, fontsize=font * points_per_unit, fontweight="bold", ha="center",
                     va="center", transform=box)


# --- Plotly figures --------------------------------------------------------------------------

def figure_html(data: list[dict[str, Any]], layout: dict[str, Any], div_id: str) -> str:
    """A chart as a div and the script that draws it. Figures are plain dicts, not validated graph
    objects: that is 20 times faster for a pack of 40 charts, and the traces below are Plotly's own."""
    import plotly.io as pio

    return pio.to_html({"data": data, "layout": layout}, full_html=False, include_plotlyjs=False, div_id=div_id,
                       config=_CONFIG, validate=False)


def layout_of(unit: str, height: int = 320) -> dict[str, Any]:
    """White, no grid, as the Making Data Count charts are; the panel's heading names the chart."""
    axis = {"showline": True, "linecolor": "#444444", "ticks": "outside", "zeroline": False, "showgrid": False}
    return {"height": height, "autosize": True, "margin": {"l": 55, "r": 20, "t": 20, "b": 40},
            "plot_bgcolor": "#ffffff", "paper_bgcolor": "#ffffff",
            "hovermode": "x unified", "legend": {"orientation": "h", "y": -0.18},
            "font": {"family": "Arial, Helvetica, sans-serif", "size": 11},
            "xaxis": {**axis, "type": "date"}, "yaxis": {**axis, "title": {"text": unit}}}


def dates(values: Any) -> list[str]:
    return [f"{d:%Y-%m-%d}" for d in pd.to_datetime(pd.Series(list(values)))]


def numbers(values: Any) -> list[float | None]:
    return [None if v is None or v != v else float(v) for v in values]


def line(x: list[str], y: Any, name: str, style: dict[str, Any], *, legend: bool = True, mode: str = "lines",
          hover: str | None = None, **more: Any) -> dict[str, Any]:
    trace = {"type": "scatter", "x": x, "y": numbers(y), "mode": mode, "name": name, "line": style,
             "showlegend": legend, **more}
    if hover is None:
        trace["hoverinfo"] = "skip"
    else:
        trace["hovertemplate"] = hover
    return trace


def spc_traces(points: pd.DataFrame, series: pd.DataFrame) -> list[dict[str, Any]]:
    """The traces of an SPC chart: values coloured by special cause, mean, process limits and, where `series`
    (period, target) gives one, the target. `points` are an SpcResult's (period, value, special_cause, mean,
    upl, lpl)."""
    x = dates(points["period"])
    causes = points["special_cause"].tolist()
    data = [line(x, points["value"], "value", {"color": GREY, "width": 1.5}, legend=False),
            line(x, points["value"], "value", {"color": GREY}, legend=False, mode="markers",
                 hover="%{y:.4g} (%{customdata})<extra></extra>",
                 marker={"size": 8, "color": [CAUSE_COLOURS[c] for c in causes]},
                 customdata=[c.replace("none", "common cause") for c in causes])]
    for column, name, style in (("mean", "mean", {"color": MEAN_BLACK, "width": 1.5}),
                                ("upl", "process limits", {"color": GREY, "width": 1.2, "dash": "dash"}),
                                ("lpl", "lower process limit", {"color": GREY, "width": 1.2, "dash": "dash"})):
        data.append(line(x, points[column], name, style, legend=column != "lpl",
                         hover=f"{name} %{{y:.4g}}<extra></extra>"))
    if series["target"].notna().any():
        data.append(line(dates(series["period"]), series["target"], "target",
                         {"color": TARGET_RED, "width": 1.5, "dash": "dot", "shape": "hv"},
                         hover="target %{y:.4g}<extra></extra>"))
    return data


def spc_figure_html(points: pd.DataFrame, series: pd.DataFrame, unit: str, div_id: str) -> str:
    """An SPC chart as a div and the script that draws it (plotly.js itself is loaded once by the page)."""
    return figure_html(spc_traces(points, series), layout_of(unit), div_id)
