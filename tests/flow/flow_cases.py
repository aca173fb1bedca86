"""Shared helpers for the flow tests: scenarios written as dictionaries (a module, not a conftest, so that
its name is unique across the test suite)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from icsys.flow.compiled import Model, compile_scenario
from icsys.flow.model import Scenario


def model_of(data: dict[str, Any]) -> Model:
    return compile_scenario(Scenario.model_validate(data))


def one_pool(capacity: float, per_day: float, los: dict[str, Any], when_full: str = "queue", days: int = 730,
             warm_up: int = 60, **arrivals: Any) -> dict[str, Any]:
    return {
        "scenario": {"name": "test", "start": "2025-01-06", "days": days, "warm_up_days": warm_up},
        "pool": [{"code": "ward", "kind": "acute", "capacity": capacity}],
        "arrivals": [{"name": "a", "pool": "ward", "per_day": per_day, "los_days": los, "when_full": when_full,
                      **arrivals}],
    }


def interval(values: np.ndarray, level: float = 0.99) -> tuple[float, float]:
    """Confidence interval of the mean of independent replications (Student t)."""
    values = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def small_system(**scenario: Any) -> dict[str, Any]:
    """A small whole system: an acute site with two A&Es (one without capacity of its own, one with three majors
    cubicles held until a bed is free), GP, elective (turned away, or rebooked) and virtual-ward flows,
    reablement in places, home care in hours (with patience), community beds with onward flows, care homes, a
    census."""
    exp = {"distribution": "exponential"}
    return {
        "scenario": {"name": "small system", "start": "2025-10-06", "days": 120, "warm_up_days": 20, **scenario},
        "pool": [
            {"code": "acute", "kind": "acute", "capacity": 30, "escalation": 3, "census": 25,
             "census_ready": {"1": 3, "2": 1},
             "home_days": {"distribution": "uniform", "low": 0.1, "high": 0.5},
             "discharge_to": {"1": {"reablement": 0.6, "home_care": 0.4}, "2": {"community": 1.0},
                              "3": {"care_home": 1.0}}},
            {"code": "vw", "kind": "virtual_ward", "capacity": 4},
            {"code": "majors", "kind": "ae", "capacity": 3},
            {"code": "reablement", "kind": "home_care", "capacity": 8,
             "stay_days": {"distribution": "lognormal", "mean": 14, "sd": 6},
             "arranging_days": {"distribution": "uniform", "low": 0.5, "high": 2.0},
             "patience_days": {"distribution": "lognormal", "mean": 4, "sd": 2}},
            {"code": "home_care", "kind": "home_care", "unit": "hours", "capacity": 200,
             "need_hours": {"distribution": "lognormal", "mean": 10, "sd": 5},
             "stay_days": exp | {"mean": 30}, "arranging_days": {"distribution": "uniform", "low": 0.5, "high": 1.5},
             "patience_days": {"distribution": "fixed", "value": 12}},
            {"code": "community", "kind": "community", "capacity": 12, "census": 8,
             "stay_days": {"distribution": "lognormal", "mean": 20, "sd": 8}, "onward": [0.7, 0.2, 0.0, 0.1],
             "discharge_to": {"1": {"home_care": 1.0}, "3": {"care_home": 1.0}}},
            {"code": "care_home", "kind": "care_home", "capacity": 10, "census": 8, "stay_days": exp | {"mean": 200},
             "arranging_days": {"distribution": "uniform", "low": 2, "high": 7}},
        ],
        "case_mix": {"ae": {"rows": [
            {"age_band": "16-64", "frailty": "fit", "share": 0.55, "admitted": False},
            {"age_band": "85+", "frailty": "severe", "share": 0.15, "admitted": False},
            {"age_band": "16-64", "frailty": "fit", "specialty": "100", "share": 0.12,
             "los_days": {"distribution": "lognormal", "mean": 3, "sd": 3}, "pathway": [0.95, 0.05, 0, 0]},
            {"age_band": "85+", "frailty": "severe", "specialty": "430", "share": 0.18,
             "los_days": {"distribution": "lognormal", "mean": 9, "sd": 8}, "pathway": [0.45, 0.35, 0.12, 0.08]},
        ]}},
        "arrivals": [
            {"name": "ae", "source": "ae_ambulance", "department": "ED", "pool": "acute", "per_day": 12,
             "case_mix": "ae", "hour_of_day": [1] * 8 + [2] * 12 + [1] * 4,
             "ed_hours": {"distribution": "lognormal", "mean": 3.5, "sd": 2.5},
             "dta_hours": {"distribution": "lognormal", "mean": 3, "sd": 2}},
            {"name": "ae majors", "source": "ae_walk_in", "department": "ED2", "pool": "acute", "per_day": 6,
             "case_mix": "ae", "ae_pool": "majors", "majors": "all",
             "ed_hours": {"distribution": "lognormal", "mean": 3.5, "sd": 2.5},
             "dta_hours": {"distribution": "lognormal", "mean": 3, "sd": 2},
             "transfer_hours": {"distribution": "uniform", "low": 0.5, "high": 2.5}},
            {"name": "gp", "source": "gp_sdec", "pool": "acute", "per_day": 1.5,
             "los_days": {"distribution": "lognormal", "mean": 6, "sd": 5}, "pathway": [0.7, 0.2, 0.06, 0.04]},
            {"name": "elective", "source": "elective", "pool": "acute", "per_day": 1.2, "when_full": "turn_away",
             "day_of_week": [1, 1, 1, 1, 1, 0, 0], "los_days": {"distribution": "fixed", "value": 2.5}},
            {"name": "step up", "source": "step_up", "pool": "community", "per_day": 0.2,
             "los_days": exp | {"mean": 15}},
            {"name": "elective rebooked", "source": "elective", "pool": "acute", "per_day": 1.0,
             "when_full": "rebook", "rebook_days": {"distribution": "uniform", "low": 7, "high": 28},
             "los_days": {"distribution": "fixed", "value": 2.0}},
        ],
        "capacity_change": [{"pool": "acute", "change": 5, "start": "2025-12-01", "end": "2025-12-31"}],
        "intervention": [
            {"kind": "virtual_ward", "pool": "vw", "share": 0.5, "specialties": ["430"]},
            {"kind": "home_first", "from_pathway": 2, "to_pathway": 1, "share": 0.3},
        ],
    }
