"""Trajectories planned as counts (12-hour waits, 52-week waiters), as operational plans set them: the plan
is compared with the standard's numerator, not its percentage."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from icsys.performance.catalogue import load_catalogue
from icsys.performance.organisations import Hierarchy
from icsys.performance.trajectory import Planned, TrajectoryError, compare, load_plan
from icsys.system import load_system

CATALOGUE = load_catalogue()


def test_a_count_plan_is_compared_with_the_numerator() -> None:
    # March 2026: 29 of 534 type 1 attendances waited 12 hours (5.43 %). Planned 30 waits: 29 is 1 fewer,
    # on track (lower is better). Planned 2 %: 5.43 % is 3.43 points over, off track.
    measured = pd.DataFrame({"standard": ["ae_12h", "rtt_52w"], "org": ["QKS", "QKS"],
                             "period": ["2026-03-01", "2026-03-01"], "numerator": [29.0, 76.0],
                             "denominator": [534.0, 2462.0], "value": [100 * 29 / 534, 100 * 76 / 2462],
                             "target": [2.0, 1.0]})
    plan = [Planned("ae_12h", "QKS", date(2026, 3, 1), 30.0, "count"),
            Planned("rtt_52w", "QKS", date(2026, 3, 1), 2.0, "value")]
    out = compare(measured, plan, CATALOGUE).set_index("standard")
    assert (out.loc["ae_12h", "actual"], out.loc["ae_12h", "variance"], out.loc["ae_12h", "on_track"]) == (29, -1, True)
    assert out.loc["rtt_52w", "actual"] == pytest.approx(3.0869, abs=1e-4)
    assert out.loc["rtt_52w", "variance"] == pytest.approx(1.0869, abs=1e-4)
    assert bool(out.loc["rtt_52w", "on_track"]) is False


def test_the_plan_file_says_which(tmp_path: Path) -> None:
    hierarchy = Hierarchy(load_system())
    good = tmp_path / "plan.csv"
    good.write_text("standard,org,month,planned,of\nae_12h,QKS,2026-03,30,count\nae_4h,QKS,2026-03,76,\n")
    assert [p.of for p in load_plan(good, CATALOGUE, hierarchy)] == ["count", "value"]
    toml = tmp_path / "plan.toml"
    toml.write_text('[[trajectory]]\nstandard = "rtt_52w"\norg = "QKS"\nof = "count"\nplanned = {"2026-03" = 70}\n')
    assert load_plan(toml, CATALOGUE, hierarchy)[0].of == "count"
    bad = tmp_path / "bad.csv"
    bad.write_text("standard,org,month,planned,of\nae_12h,QKS,2026-03,30,patients\n")
    with pytest.raises(TrajectoryError, match="row 2: of 'patients': use value"):
        load_plan(bad, CATALOGUE, hierarchy)
