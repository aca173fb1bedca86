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

TOP = (0.005, 0.01, 0.05)
AGE_BANDS = [(0, 18, "0-17"), (18, 45, "18-44"), (45, 65, "45-64"), (65, 75, "65-74"), (75, 85, "75-84"),
             (85, 200, "85+")]
MIN_EVENTS = 10
PUBLISHED = ("Published emergency-admission models reach AUROC 0.76-0.80 (QAdmissions: Hippisley-Cox J, "
             "Coupland C. BMJ Open 2013;3:e003482; SPARRA v3/v4, Public Health Scotland).")


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


def _top_table(rows: dict[str, dict[str, Any]]) -> str:
    shares = list(next(iter(rows.values()))["top"])
    out = ["| | " + " | ".join(f"PPV top {s} | sensitivity top {s}" for s in shares) + " |",
           "|" + " --- |" * (1 + 2 * len(shares))]
    for name, m in rows.items():
        cells = [f"{_fmt(m['top'][s]['ppv'])} | {_fmt(m['top'][s]['sensitivity'])}" for s in shares]
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)
