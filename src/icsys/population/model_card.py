"""How good a risk model is, in the terms the TRIPOD statement and NHS analysts use: discrimination
(AUROC, AUPRC), calibration (slope, intercept, Brier score, observed/expected), and what a case-finding
list drawn from the top of the ranking would hold (PPV and sensitivity at the top 0.5 %, 1 % and 5 %),
overall and by age band, sex, ethnic group and IMD quintile, beside simpler baselines.

Counts shown by subgroup are rounded to the nearest 5, and a subgroup with fewer than 10 outcomes has
its figures suppressed, so that a card can be shared (NHS Digital small-number practice).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from icsys.population import roc
from icsys.population.confidence import ratio_limits

TOP = (0.005, 0.01, 0.05)
AGE_BANDS = [(0, 18, "0-17"), (18, 45, "18-44"), (45, 65, "45-64"), (65, 75, "65-74"), (75, 85, "75-84"),
             (85, 200, "85+")]
MIN_EVENTS = 10
PUBLISHED = ("Published emergency-admission models reach AUROC 0.76-0.80 (QAdmissions: Hippisley-Cox J, "
             "Coupland C. BMJ Open 2013;3:e003482; SPARRA v3/v4, Public Health Scotland).")


# The narrative's judgements, each a stated rule on the card's own figures.
PUBLISHED_RANGE = (0.76, 0.80)
AUROC_GAIN = 0.01  # the model "adds" to a baseline only if its AUROC is at least this much higher
CALIBRATED_SLOPE = 0.1  # |slope - 1| below this is calibrated
CALIBRATED_RATIO = (0.8, 1.25)  # observed / expected within this range in a subgroup is calibrated


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def calibration(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """(slope, intercept): the slope of y on logit(p) by logistic regression, and the calibration in
    the large, the intercept a with logit(p) as an offset (solves mean(expit(a + logit p)) = mean(y))."""
    lp = logit(p)
    slope = float(LogisticRegression(C=np.inf).fit(lp.reshape(-1, 1), y).coef_[0, 0])

    def gap(a: float) -> float:
        return float(np.mean(1 / (1 + np.exp(-(a + lp)))) - np.mean(y))

    return slope, float(brentq(gap, -10, 10))


def thresholds(p: np.ndarray) -> dict[float, float]:
    """The risk at and above which a person is in the top 0.5 %, 1 % and 5 % of `p`."""
    ranked = np.sort(p)[::-1]
    return {share: float(ranked[max(math.ceil(share * len(p)) - 1, 0)]) for share in TOP}


def at_top(y: np.ndarray, p: np.ndarray, cut: float) -> dict[str, float]:
    flagged = p >= cut
    events = y.sum()
    hits = y[flagged].sum()
    return {"flagged": int(flagged.sum()), "ppv": float(hits / flagged.sum()) if flagged.any() else math.nan,
            "sensitivity": float(hits / events) if events else math.nan}


def metrics(y: np.ndarray, p: np.ndarray, cuts: dict[float, float] | None = None) -> dict[str, Any]:
    """Every figure of the card for one set of outcomes and predictions."""
    cuts = cuts or thresholds(p)
    both = 0 < y.sum() < len(y)
    slope, intercept = calibration(y, p) if both else (math.nan, math.nan)
    return {
        "people": len(y), "events": int(y.sum()), "observed": float(y.mean()), "expected": float(p.mean()),
        "auroc": float(roc_auc_score(y, p)) if both else math.nan,
        "auprc": float(average_precision_score(y, p)) if both else math.nan,
        "brier": float(brier_score_loss(y, p)), "calibration_slope": slope, "calibration_intercept": intercept,
        "top": {f"{share:.1%}": at_top(y, p, cut) for share, cut in cuts.items()},
    }


def age_band(age: pd.Series) -> pd.Series:
    edges = [lo for lo, _, _ in AGE_BANDS] + [AGE_BANDS[-1][1]]
    return pd.cut(age, edges, right=False, labels=[name for _, _, name in AGE_BANDS]).astype(str)


def subgroups(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The groups the card breaks figures down by, from the validation frame."""
    return {"age band": age_band(frame["age"]), "sex": frame["female"].map({1: "female", 0: "male"}),
            "ethnic group": frame["ethnic_group"],
            "IMD quintile": ((frame["imd_decile"] + 1) // 2).map(
                lambda q: "unknown" if pd.isna(q) else f"Q{int(q)}{' (most deprived)' if q == 1 else ''}")}


def by_subgroup(frame: pd.DataFrame, y: np.ndarray, p: np.ndarray) -> dict[str, dict[str, Any]]:
    """Figures per subgroup, using the whole population's top-k thresholds (as a list would be drawn)."""
    cuts = thresholds(p)
    out: dict[str, dict[str, Any]] = {}
    for name, groups in subgroups(frame).items():
        out[name] = {}
        for group in sorted(groups.unique()):
            mask = (groups == group).to_numpy()
            out[name][group] = suppress(metrics(y[mask], p[mask], cuts))
    return out


def gain(y: np.ndarray, p: np.ndarray, q: np.ndarray) -> dict[str, Any]:
    """The model's AUROC less the baseline's on the same people, with its DeLong 95 % interval; a group with
    fewer than MIN_EVENTS outcomes (or none without) says so instead."""
    events = int(y.sum())
    if events < MIN_EVENTS or events == len(y):
        return {"people": round5(len(y)), "events": f"<{MIN_EVENTS}" if events < MIN_EVENTS else round5(events),
                "gain": f"too few outcomes to compare (fewer than {MIN_EVENTS})" if events < MIN_EVENTS
                else "nobody without the outcome to compare"}
    d = roc.difference(y, p, q)
    return {"people": round5(len(y)), "events": round5(events), "auroc": d.auroc_a, "baseline_auroc": d.auroc_b,
            "gain": d.difference, "lower": d.lower, "upper": d.upper}


def gain_over(frame: pd.DataFrame, y: np.ndarray, p: np.ndarray, q: np.ndarray,
              baseline: str = "age and sex") -> dict[str, Any]:
    """The gain over one baseline overall and within each age band (DeLong's paired method)."""
    bands = age_band(frame["age"])
    names = [name for _, _, name in AGE_BANDS if (bands == name).any()]
    return {"baseline": baseline, "method": "DeLong 1988 paired AUROC difference (Sun & Xu 2014), 95 % interval",
            "overall": gain(y, p, q),
            "age band": {name: gain(y[m], p[m], q[m]) for name in names if (m := (bands == name).to_numpy()).any()}}


def round5(n: int) -> int:
    return int(5 * round(n / 5))


def suppress(m: dict[str, Any]) -> dict[str, Any]:
    """Counts to the nearest 5; no figures at all for fewer than MIN_EVENTS outcomes."""
    if m["events"] < MIN_EVENTS:
        return {"people": round5(m["people"]), "events": f"<{MIN_EVENTS}", "suppressed": True}
    top = {k: v | {"flagged": round5(v["flagged"])} for k, v in m["top"].items()}
    return m | {"people": round5(m["people"]), "events": round5(m["events"]), "top": top}


def render(card: dict[str, Any]) -> str:
    """The model card as Markdown."""
    v = card["validation"]
    lines = [f"# Model card: {card['name']}", "",
             f"- Outcome: {card['outcome']}.",
             f"- Trained on people registered on {card['train_as_of']} ({card['train_people']:,} people, "
             f"{card['train_events']:,} with the outcome); validated on a later year, people registered on "
             f"{card['validate_as_of']} ({v['people']:,} people, {v['events']:,} with the outcome).",
             f"- Model: {card['model']}. Predictors ({len(card['features'])}): {', '.join(card['features'])}.",
             f"- Trained {card['trained_at']} by {card['trained_by']}; store {card['store']}.", "",
             "## On the held-out year", "", _table({"this model": v} | card["baselines"]), "",
             "PPV and sensitivity of a list of the top k % by risk:", "", _top_table({"this model": v}
                                                                                     | card["baselines"]), "",
             *_gain_section(card.get("gain")),
             "## Where this model stands", "", card["standing"], "",
             "## By subgroup (held-out year; counts rounded to 5, fewer than 10 outcomes suppressed)", ""]
    for name, groups in card["subgroups"].items():
        lines += [f"### {name}", "", _table(groups), ""]
    lines += ["## Limits", "", *[f"- {x}" for x in card["limits"]], ""]
    return "\n".join(lines)


def _fmt(x: Any, digits: int = 3) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, float):
        return "—" if math.isnan(x) else f"{x:.{digits}f}"
    return f"{x:,}"


def _table(rows: dict[str, dict[str, Any]]) -> str:
    head = "| | people | outcomes | observed | expected | AUROC | AUPRC | slope | intercept | Brier |"
    out = [head, "|" + " --- |" * 10]
    for name, m in rows.items():
        if m.get("suppressed"):
            out.append(f"| {name} | {_fmt(m['people'])} | {m['events']} | suppressed |" + " |" * 6)
            continue
        out.append(f"| {name} | {_fmt(m['people'])} | {_fmt(m['events'])} | {_fmt(m['observed'])} | "
                   f"{_fmt(m['expected'])} | {_fmt(m['auroc'])} | {_fmt(m['auprc'])} | "
                   f"{_fmt(m['calibration_slope'], 2)} | {_fmt(m['calibration_intercept'], 2)} | {_fmt(m['brier'])} |")
    return "\n".join(out)


def _gain_section(g: dict[str, Any] | None) -> list[str]:
    if not g:
        return []
    out = [f"## Gain in AUROC over {g['baseline']} (same people; 95 % interval by DeLong's method)", "",
           f"| | people | outcomes | this model | {g['baseline']} | gain | 95 % interval |",
           "|" + " --- |" * 7]
    rows = {"overall": g["overall"]} | {f"age {k}": v for k, v in g["age band"].items()}
    for name, m in rows.items():
        if isinstance(m["gain"], str):
            out.append(f"| {name} | {_fmt(m['people'])} | {_fmt(m['events'])} | | | {m['gain']} | |")
            continue
        out.append(f"| {name} | {_fmt(m['people'])} | {_fmt(m['events'])} | {_fmt(m['auroc'])} | "
                   f"{_fmt(m['baseline_auroc'])} | {m['gain']:+.3f} | {m['lower']:+.3f} to {m['upper']:+.3f} |")
    return [*out, ""]


def _top_table(rows: dict[str, dict[str, Any]]) -> str:
    shares = list(next(iter(rows.values()))["top"])
    out = ["| | " + " | ".join(f"PPV top {s} | sensitivity top {s}" for s in shares) + " |",
           "|" + " --- |" * (1 + 2 * len(shares))]
    for name, m in rows.items():
        cells = [f"{_fmt(m['top'][s]['ppv'])} | {_fmt(m['top'][s]['sensitivity'])}" for s in shares]
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def standing(v: dict[str, Any], baselines: dict[str, dict[str, Any]], groups: dict[str, dict[str, Any]],
             gain_over_baseline: dict[str, Any] | None = None) -> str:
    """Where the model stands, in sentences that follow from its figures whichever way they fall: against the
    published range, against the best simple baseline, its paired gain over age and sex with its interval
    (overall and by age band), and its calibration overall and by subgroup."""
    return " ".join([_against_published(v["auroc"]), _against_baseline(v["auroc"], baselines),
                     *([_gain_words(gain_over_baseline)] if gain_over_baseline else []),
                     _calibration_overall(v), _calibration_by_group(groups)])


def _interval(m: dict[str, Any]) -> str:
    return f"{m['gain']:.3f} ({m['lower']:.3f} to {m['upper']:.3f})"


def _verdict(m: dict[str, Any], baseline: str) -> str:
    """'gains', 'does no better than' or 'does worse than', as the 95 % interval lies above, across or below 0."""
    if m["lower"] > 0:
        return f"gains {_interval(m)} in AUROC over {baseline}"
    if m["upper"] < 0:
        return f"does worse than {baseline}, by {-m['gain']:.3f} ({-m['upper']:.3f} to {-m['lower']:.3f}) in AUROC"
    return (f"does no better than {baseline} (a difference of {m['gain']:+.3f}, 95 % interval {m['lower']:+.3f} "
            f"to {m['upper']:+.3f}, which includes 0)")


def _gain_words(g: dict[str, Any]) -> str:
    baseline, overall = g["baseline"], g["overall"]
    if isinstance(overall["gain"], str):
        return f"Against {baseline} on the same people: {overall['gain']}."
    words = f"On the same people it {_verdict(overall, baseline)} (95 % interval by DeLong's method)."
    bands = {k: m for k, m in g["age band"].items() if not isinstance(m["gain"], str)}
    if bands:
        low, high = min(m["gain"] for m in bands.values()), max(m["gain"] for m in bands.values())
        words += f" Within age bands the gain runs from {low:+.3f} to {high:+.3f}"
        flat = [k for k, m in bands.items() if m["lower"] <= 0]
        words += (f"; in {_and(flat)} its interval reaches 0 or below: there it does no better than {baseline}."
                  if flat else f", and it gains over {baseline} in every band with enough outcomes.")
    few = [k for k, m in g["age band"].items() if isinstance(m["gain"], str)]
    if few:
        words += f" Too few outcomes to compare in {_and(few)}."
    return words


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _against_published(auc: float) -> str:
    low, high = PUBLISHED_RANGE
    where = "above" if auc > high else "within" if auc >= low else "below"
    return f"AUROC {auc:.3f} on the held-out year: {where} the range of published models. {PUBLISHED}"


def _against_baseline(auc: float, baselines: dict[str, dict[str, Any]]) -> str:
    if not baselines:
        return "No simple baseline was fitted to compare it with."
    name, best = max(baselines.items(), key=lambda kv: kv[1]["auroc"])
    gain = auc - best["auroc"]
    if gain >= AUROC_GAIN:
        return (f"It does better than the best simple baseline ({name}, AUROC {best['auroc']:.3f}) by {gain:.3f}: "
                "prior use of services (admissions, A&E, ambulance, bed days) adds to what the baseline knows.")
    if gain > -AUROC_GAIN:
        return (f"It does no better than the best simple baseline ({name}, AUROC {best['auroc']:.3f}; a difference "
                f"of {gain:+.3f}): on these data prior use of services adds nothing that {name} does not "
                "already give, and a list drawn from that baseline would serve as well.")
    return (f"It does worse than the best simple baseline ({name}, AUROC {best['auroc']:.3f}, {-gain:.3f} "
            f"higher): use {name} rather than this model.")


def _calibration_overall(v: dict[str, Any]) -> str:
    slope, intercept = v["calibration_slope"], v["calibration_intercept"]
    verdict = ("well calibrated" if abs(slope - 1) < CALIBRATED_SLOPE
               else "its risks are too extreme: recalibrate" if slope < 1 else "its risks are too modest: recalibrate")
    return (f"Calibration slope {slope:.2f} and intercept {intercept:.2f} on the later year (ideal 1 and 0): "
            f"{verdict} for that year.")


def _calibration_by_group(groups: dict[str, dict[str, Any]]) -> str:
    """The subgroups (of enough outcomes) whose observed / expected falls outside CALIBRATED_RATIO and whose 95 %
    interval of it (Byar) leaves out 1."""
    low, high = CALIBRATED_RATIO
    off = []
    for kind, rows in groups.items():
        for group, m in rows.items():
            if m.get("suppressed") or not m.get("expected"):
                continue
            ratio = m["observed"] / m["expected"]
            events, expected = m["observed"] * m["people"], m["expected"] * m["people"]
            lower, upper = (float(x[0]) for x in ratio_limits(np.array([events]), np.array([expected])))
            if not low <= ratio <= high and not lower <= 1 <= upper:  # off by more than the range and chance
                way = "under-estimates" if ratio > high else "over-estimates"
                off.append(f"{kind} {group} (observed {m['observed']:.3f} against expected {m['expected']:.3f}, "
                           f"observed / expected {ratio:.2f}: it {way} their risk)")
    if not off:
        return (f"In every subgroup with enough outcomes observed / expected is within {low:.2f}-{high:.2f}: "
                "calibrated by age, sex, ethnic group and deprivation.")
    return (f"It is miscalibrated (observed / expected outside {low:.2f}-{high:.2f}) in "
            + "; ".join(off) + ": do not read its risks there as probabilities without recalibrating.")
