"""Statistical process control in the NHS England "Making Data Count" style: XmR charts, special cause
rules, variation and assurance icons.

`chart(values, periods, improvement=..., target=..., settings=...)` returns an `SpcResult` whose `.points`
has a row per point (mean, process limits, moving range, the rules that fired, the special cause it shows)
and whose `.variation` and `.assurance` are the icons of the latest point. The rules themselves are small
functions in `spc_rules`; the published tools differ in a few treatments (screening of moving ranges, what
counts for "2 of 3", how a trend is coloured, which rule wins), so those are `Settings`, with named presets.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from icsys.errors import InputError
from icsys.performance import spc_rules as rules

Improvement = Literal["increase", "decrease", "neutral"]
Rule = Literal["outside_limits", "trend", "two_in_three", "shift"]
RULES: tuple[str, ...] = get_args(Rule)
DIRECTION = {"increase": 1, "decrease": -1, "neutral": 0}


class SpcError(InputError):
    """Input an SPC chart cannot be drawn from, naming what is wrong and where."""


@dataclass(frozen=True)
class Settings:
    """How the chart is calculated; the defaults are those of the "default" preset (see PRESETS)."""

    preset: str = "default"
    screen: bool = True  # screen moving ranges >= 3.267 x the average out of the average, once
    shift_length: int = 7  # points in a row on one side of the mean
    trend_length: int = 7  # points in a row each higher (or lower) than the last
    shift_on_mean: rules.OnTie = "break"  # a point on the mean breaks a shift, or is skipped
    trend_on_tie: rules.OnTie = "break"  # two equal points break a trend, or are skipped
    run_flag: rules.Flag = "all"  # a shift or trend marks all its points, or those from the one completing it
    two_in_three_outside: bool = False  # a point beyond the process limits also counts as beyond two sigma
    two_in_three_flag: Literal["near", "all_three"] = "near"  # mark the points beyond two sigma, or all three
    two_in_three_third: Literal["same_side", "anywhere"] = "same_side"  # where the third point may lie
    trend_colour: Literal["direction", "side_of_mean"] = "direction"  # a trend's colour: its way, or the mean's side
    precedence: tuple[str, ...] = ("outside_limits", "trend", "two_in_three", "shift")  # first rule colours
    conflict: Literal["precedence", "improvement"] = "precedence"  # improvement beats concern, or rule order
    trial_below: int = 13  # limits from fewer points than this are trial limits

    def __post_init__(self) -> None:
        for name in ("shift_length", "trend_length"):
            if not 2 <= getattr(self, name) <= 50:
                raise SpcError(f"{name} {getattr(self, name)}: use a whole number from 2 to 50")
        if self.trial_below < 0:
            raise SpcError(f"trial_below {self.trial_below}: use 0 or more")
        if sorted(self.precedence) != sorted(RULES):
            raise SpcError(f"precedence {list(self.precedence)}: name each of {', '.join(RULES)} once")
        for name, allowed in (("shift_on_mean", rules.OnTie), ("trend_on_tie", rules.OnTie),
                              ("run_flag", rules.Flag), ("two_in_three_flag", Literal["near", "all_three"]),
                              ("two_in_three_third", Literal["same_side", "anywhere"]),
                              ("trend_colour", Literal["direction", "side_of_mean"]),
                              ("conflict", Literal["precedence", "improvement"])):
            if getattr(self, name) not in get_args(allowed):
                raise SpcError(f"{name} {getattr(self, name)!r}: use one of {', '.join(get_args(allowed))}")


PRESETS: dict[str, Settings] = {
    # NHSRplotthedots 0.2 rules (screened moving ranges, 2 of 3 counts points between two and three sigma,
    # a trend coloured by its direction, outside > trend > 2 of 3 > shift) with Making Data Count's 13-point
    # threshold for trial limits.
    "default": Settings(),
    # NHSRplotthedots 0.2 as it is, including its warning below 12 points.
    "nhsr": Settings(preset="nhsr", trial_below=12),
    # The Making Data Count single chart tool (Excel, 2023 logic): no screening, points beyond the process
    # limits count for 2 of 3, improvement is shown where improvement and concern both fire.
    "mdc": Settings(preset="mdc", screen=False, two_in_three_outside=True, conflict="improvement"),
    # Making Data Count's tool with 6-point runs and trends (an option of the Excel tool).
    "mdc6": Settings(preset="mdc6", screen=False, two_in_three_outside=True, conflict="improvement",
                     shift_length=6, trend_length=6),
    # NHSRplotthedots before 0.2: every special cause coloured by its side of the mean, and 2 of 3 beyond two
    # sigma fires whatever side of the mean the third point is on.
    "nhsr_legacy": Settings(preset="nhsr_legacy", trial_below=12, trend_colour="side_of_mean",
                            two_in_three_third="anywhere"),
}


def preset(name: str, **overrides: Any) -> Settings:
    """The named preset, with any settings overridden (the preset name is kept)."""
    if name not in PRESETS:
        raise SpcError(f"preset {name!r}: not known; use one of {', '.join(PRESETS)}")
    unknown = set(overrides) - set(Settings.__dataclass_fields__) - {"preset"}
    if unknown:
        raise SpcError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    return replace(PRESETS[name], **overrides)


@dataclass(frozen=True)
class SpcResult:
    """A chart: a row per point, the icons of the latest point and what it was calculated with."""

    points: pd.DataFrame
    variation: str
    assurance: str | None
    trial: bool
    improvement: Improvement
    target: float | None
    settings: Settings
    rebase: tuple[Any, ...] = ()
    baseline: int | None = None
    limits: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: settings, icons and a row per point."""
        rows = self.points.assign(period=[_period_text(p) for p in self.points["period"]])
        return {
            "settings": {**asdict(self.settings), "precedence": list(self.settings.precedence),
                         "improvement": self.improvement, "target": self.target,
                         "rebase": [_period_text(r) for r in self.rebase], "baseline": self.baseline},
            "variation": self.variation,
            "assurance": self.assurance,
            "trial": self.trial,
            "points": [{k: _plain(v) for k, v in row.items()} for row in rows.to_dict(orient="records")],
        }


def chart(values: Sequence[float] | pd.Series | np.ndarray, periods: Iterable[Any] | None = None, *,
          improvement: Improvement = "increase", target: float | None = None, settings: Settings | None = None,
          rebase: Iterable[Any] = (), baseline: int | None = None) -> SpcResult:
    """An XmR chart of `values` in order of `periods` (default: a Series' index, else 1..n).

    rebase: periods at which the process changed; limits are recalculated from the first period on or after
    each. baseline: limits from the first N points of each segment, then held. target: for the assurance icon.
    """
    settings = settings or PRESETS["default"]
    if improvement not in DIRECTION:
        raise SpcError(f"improvement {improvement!r}: use increase, decrease or neutral")
    if target is not None and not math.isfinite(target):
        raise SpcError(f"target {target}: not a number")
    if baseline is not None and baseline < 2:
        raise SpcError(f"baseline {baseline}: limits need at least 2 points")
    series = _series(values, periods)
    starts = _segment_starts(series.index, rebase)
    segments = [_segment(series.iloc[a:b], k, settings, improvement, baseline)
                for k, (a, b) in enumerate(zip(starts, [*starts[1:], len(series)], strict=True))]
    points = pd.DataFrame({name: _joined([seg[name] for seg in segments]) for name in segments[0]})
    last = points.iloc[-1]
    return SpcResult(points=points, variation=_variation(last), trial=bool(last["trial"]),
                     assurance=_assurance(last, improvement, target), improvement=improvement, target=target,
                     settings=settings, rebase=tuple(series.index[starts[1:]]), baseline=baseline,
                     limits=_limits_table(series, starts, segments))


def _series(values: Sequence[float] | pd.Series | np.ndarray, periods: Iterable[Any] | None) -> pd.Series:
    """Values indexed by period, in order; refuses missing values and repeated periods."""
    if periods is None:
        index = values.index if isinstance(values, pd.Series) else pd.RangeIndex(1, len(values) + 1)
    else:
        index = pd.Index(list(periods))
    data = np.asarray(values, dtype=float) if not isinstance(values, pd.Series) else values.to_numpy(float)
    if len(index) != len(data):
        raise SpcError(f"{len(data)} values but {len(index)} periods")
    if len(data) < 2:
        raise SpcError(f"{len(data)} point(s): an XmR chart needs at least 2")
    index = _as_periods(index)
    series = pd.Series(data, index=index, name="value")
    repeated = series.index[series.index.duplicated()]
    if len(repeated):
        raise SpcError(f"period {_period_text(repeated[0])} appears more than once")
    missing = series.index[~np.isfinite(series.to_numpy())]
    if len(missing):
        raise SpcError(f"period {_period_text(missing[0])}: the value is missing or not a number")
    return series.sort_index(kind="stable")


def _as_periods(index: pd.Index) -> pd.Index:
    """Dates become timestamps so they compare with rebase dates; anything else stays as it is."""
    if isinstance(index, pd.DatetimeIndex) or (len(index) and all(isinstance(p, date) for p in index)):
        return pd.DatetimeIndex(pd.to_datetime(index))
    return index


def _segment_starts(index: pd.Index, rebase: Iterable[Any]) -> list[int]:
    """Positions where each segment starts: 0, then the first period on or after each rebase."""
    starts = {0}
    for r in rebase:
        when = pd.Timestamp(r) if isinstance(index, pd.DatetimeIndex) else r
        at = int(index.searchsorted(when, side="left"))
        if at >= len(index):
            raise SpcError(f"rebase {_period_text(when)}: after the last period {_period_text(index[-1])}")
        if at == 0:
            raise SpcError(f"rebase {_period_text(when)}: not after the first period {_period_text(index[0])}")
        starts.add(at)
    ordered = sorted(starts)
    for a, b in zip(ordered, [*ordered[1:], len(index)], strict=True):
        if b - a < 2:
            raise SpcError(f"the segment from {_period_text(index[a])} has {b - a} point; "
                           "a segment needs at least 2 (move or remove a rebase)")
    return ordered


def _segment(part: pd.Series, number: int, s: Settings, improvement: Improvement,
             baseline: int | None) -> dict[str, Any]:
    """Limits and special causes of one segment (the rules never look across a rebase)."""
    y = part.to_numpy()
    n_base = min(baseline or len(y), len(y))
    mr = rules.moving_ranges(y)
    used = rules.screened(mr[:n_base]) if s.screen else ~np.isnan(mr[:n_base])
    amr = float(mr[:n_base][used].mean())
    mean = float(y[:n_base].mean())
    lpl, upl = mean - rules.LIMIT_FACTOR * amr, mean + rules.LIMIT_FACTOR * amr
    lower2, upper2 = mean - rules.TWO_SIGMA_FACTOR * amr, mean + rules.TWO_SIGMA_FACTOR * amr
    side = rules.side_of_mean(y, mean)
    near = rules.beyond_two_sigma(y, lower2, upper2, lpl, upl, include_outside=s.two_in_three_outside)
    signals = {
        "outside_limits": rules.outside_limits(y, lpl, upl),
        "trend": rules.trend(y, s.trend_length, s.trend_on_tie, s.run_flag),
        "two_in_three": rules.two_in_three(near, side, s.two_in_three_flag, s.two_in_three_third),
        "shift": rules.shift(side, s.shift_length, s.shift_on_mean, s.run_flag),
    }
    if s.trend_colour == "side_of_mean":
        signals["trend"] = np.where((signals["trend"] != 0) & (side != 0), side, signals["trend"]).astype(np.int8)
    colour = [_colour(i, signals, s, improvement) for i in range(len(y))]
    n = len(y)
    return {
        "period": part.index, "value": y, "segment": np.full(n, number),
        "mean": np.full(n, mean), "lpl": np.full(n, lpl), "upl": np.full(n, upl),
        "lower_two_sigma": np.full(n, lower2), "upper_two_sigma": np.full(n, upper2),
        "moving_range": mr, "moving_range_used": np.concatenate((used, np.zeros(n - n_base, dtype=bool))),
        "average_moving_range": np.full(n, amr), "trial": np.full(n, n_base < s.trial_below),
        "rules": [[r for r in s.precedence if signals[r][i] != 0] for i in range(n)],
        "rule": [c[0] for c in colour], "direction": [c[1] for c in colour],
        "special_cause": [c[2] for c in colour],
    }


def _joined(parts: list[Any]) -> Any:
    """The segments' columns end to end (an index, an array or a list)."""
    if isinstance(parts[0], pd.Index):
        return parts[0].append(parts[1:]) if len(parts) > 1 else parts[0]
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return [x for part in parts for x in part]


def _colour(i: int, signals: dict[str, np.ndarray], s: Settings,
            improvement: Improvement) -> tuple[str | None, str | None, str]:
    """The rule that colours point i, its direction (high/low) and improvement/concern/neutral/none."""
    fired = [(r, int(signals[r][i])) for r in s.precedence if signals[r][i] != 0]
    if not fired:
        return None, None, "none"
    way = DIRECTION[improvement]
    if s.conflict == "improvement" and way:
        fired.sort(key=lambda f: f[1] * way <= 0)  # stable: improvements first, each in rule order
    rule, sign = fired[0]
    kind = "neutral" if way == 0 else ("improvement" if sign * way > 0 else "concern")
    return rule, "high" if sign > 0 else "low", kind


def _variation(last: pd.Series) -> str:
    """The variation icon: common cause, or the special cause of the latest point and its direction."""
    if last["special_cause"] == "none":
        return "common_cause"
    return f"{last['special_cause']}_{last['direction']}"


def _assurance(last: pd.Series, improvement: Improvement, target: float | None) -> str | None:
    """The assurance icon: where the target lies against the latest process limits."""
    if target is None or improvement == "neutral":
        return None
    above, below = target > last["upl"], target < last["lpl"]
    if not (above or below):
        return "hit_and_miss"
    passes = below if improvement == "increase" else above
    return "consistently_pass" if passes else "consistently_fail"


def _limits_table(series: pd.Series, starts: list[int], segments: list[dict[str, Any]]) -> pd.DataFrame:
    """A row per segment: its first and last period, points, mean, limits and whether they are trial."""
    ends = [*starts[1:], len(series)]
    return pd.DataFrame({
        "segment": range(len(starts)), "first": series.index[starts], "last": series.index[[e - 1 for e in ends]],
        "points": [e - a for a, e in zip(starts, ends, strict=True)],
        **{k: [seg[k][0] for seg in segments] for k in ("mean", "lpl", "upl", "average_moving_range", "trial")},
    })


def _period_text(p: Any) -> Any:
    if isinstance(p, pd.Timestamp | datetime):
        return p.date().isoformat() if p == pd.Timestamp(p).normalize() else p.isoformat()
    if isinstance(p, date):
        return p.isoformat()
    return _plain(p)


def _plain(v: Any) -> Any:
    """numpy scalars and NaN to JSON-able Python values."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# --- reading a CSV of period,value ------------------------------------------------------------------

def read_csv(path: Path) -> pd.Series:
    """A CSV with columns period,value (others ignored) as a Series of values indexed by period.

    Periods are dates (YYYY-MM-DD) or months (YYYY-MM, read as the first of the month). Every problem is
    refused with the file, row (as a spreadsheet numbers it, the header being row 1) and column named."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpcError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise SpcError(f"{path}: empty file (expected a header row 'period,value' and a row per point)")
    names = [h.strip().lower() for h in header]
    for column in ("period", "value"):
        if column not in names:
            raise SpcError(f"{path}: no column '{column}' (the header has: {', '.join(header)})")
    at_period, at_value = names.index("period"), names.index("value")
    periods: list[pd.Timestamp] = []
    values: list[float] = []
    seen: dict[pd.Timestamp, int] = {}
    for row_number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        period = _read_period(path, row_number, _cell(row, at_period))
        if period in seen:
            raise SpcError(f"{path}: row {row_number}, column period: {period.date()} repeats row {seen[period]}")
        seen[period] = row_number
        periods.append(period)
        values.append(_read_value(path, row_number, _cell(row, at_value)))
    if len(values) < 2:
        raise SpcError(f"{path}: {len(values)} point(s); an XmR chart needs at least 2")
    return pd.Series(values, index=pd.DatetimeIndex(periods, name="period"), name="value").sort_index()


def _cell(row: list[str], at: int) -> str:
    return row[at].strip() if at < len(row) else ""


def _read_period(path: Path, row: int, text: str) -> pd.Timestamp:
    if not text:
        raise SpcError(f"{path}: row {row}, column period: empty")
    for fmt in ("%Y-%m-%d", "%Y-%m"):
        try:
            return pd.Timestamp(datetime.strptime(text, fmt))
        except ValueError:
            continue
    raise SpcError(f"{path}: row {row}, column period: {text!r} is not a date (use YYYY-MM-DD or YYYY-MM)")


def _read_value(path: Path, row: int, text: str) -> float:
    if not text:
        raise SpcError(f"{path}: row {row}, column value: empty")
    try:
        number = float(text)
    except ValueError:
        raise SpcError(f"{path}: row {row}, column value: {text!r} is not a number") from None
    if not math.isfinite(number):
        raise SpcError(f"{path}: row {row}, column value: {text!r} is not a finite number")
    return number
