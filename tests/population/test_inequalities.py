"""Inequalities: the slope and relative index of inequality and age standardisation against values
worked by hand, and the command on a whole store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icsys.disclosure import for_sharing, round_count
from icsys.population.inequalities import ESP2013, Measure, slope_index, summarise
from support import assert_clear_error, icsys, strict_json


def quintiles(values: list[float], people: list[int]) -> pd.DataFrame:
    v = np.array(values, float)
    return pd.DataFrame({"group": [f"Q{i}" for i in range(1, 6)], "people": people, "value": v,
                         "lower": v - 1, "upper": v + 1})


def test_sii_and_rii_of_values_on_a_straight_line() -> None:
    # Equal fifths: rank midpoints 0.1 ... 0.9; values 11 - 10 * rank, so the ends are 11 and 1.
    index = slope_index(quintiles([10, 8, 6, 4, 2], [100] * 5))
    assert index["sii"] == pytest.approx(10) and index["rii"] == pytest.approx(11)
    assert index["sii_lower"] < 10 < index["sii_upper"]


def test_sii_uses_population_shares_as_ranks() -> None:
    people = [100, 300, 200, 250, 150]
    share = np.array(people) / 1000
    rank = np.cumsum(share) - share / 2
    index = slope_index(quintiles(list(50 - 20 * rank), people))
    assert index["sii"] == pytest.approx(20) and index["rii"] == pytest.approx(50 / 30)


def test_age_standardisation_removes_a_difference_of_age_structure() -> None:
    # Two areas with the same rate in each age band (1 % young, 20 % old) but different age mixes.
    young, old = 2, 16
    rows = []
    for area, n_young, n_old in (("young town", 9000, 1000), ("old town", 3000, 7000)):
        rows += [{"area": area, "esp_band": young, "flag": i < n_young // 100} for i in range(n_young)]
        rows += [{"area": area, "esp_band": old, "flag": i < n_old // 5} for i in range(n_old)]
    frame = pd.DataFrame(rows)
    measure = Measure("flag", "proportion", "flag", "True")
    crude = summarise(frame, measure, "area", standardise=False).set_index("group")["value"]
    standard = summarise(frame, measure, "area", standardise=True).set_index("group")["value"]
    assert crude["old town"] > 2 * crude["young town"]
    assert standard["old town"] == pytest.approx(standard["young town"])
    w = ESP2013[[young, old]] / ESP2013[[young, old]].sum()
    assert standard["old town"] == pytest.approx(100 * (w[0] * 0.01 + w[1] * 0.20))


def test_disclosure_control_rounds_and_suppresses() -> None:
    assert round_count(0) == 0 and np.isnan(round_count(3)) and np.isnan(round_count(7))
    assert round_count(8) == 10 and round_count(12) == 10 and round_count(13) == 15
    safe = for_sharing(pd.DataFrame({"n": [5, 40], "rate": [1.0, 2.0]}), ["n"], {"n": ["rate"]})
    assert np.isnan(safe.loc[0, "rate"]) and safe.loc[1, "rate"] == 2.0 and list(safe["suppressed"]) == [True, False]


def test_inequalities_command(stratified_store: Path) -> None:
    def run(*args: str):
        return icsys("population", "inequalities", "--db", stratified_store, *args)

    result = run("--measure", "activity:emergency_admissions", "--by", "imd_quintile", "--json")
    assert result.returncode == 0, result.stderr
    out = strict_json(result.stdout)
    rows = {r["group"]: r for r in out["rows"]}
    assert out["standardised"] and out["unit"] == "per 1,000 person-years"
    assert out["denominator"] == "person-years at risk: registered and alive, 2025-04-01 to 2026-03-31"
    assert all(0 < r["person_years"] <= r["people"] for r in out["rows"])
    # The synthetic data makes emergency admissions commoner with deprivation: the index must show it.
    assert rows["Q1"]["value"] > rows["Q5"]["value"] and out["index"]["sii"] > 0 and out["index"]["rii"] > 1
    assert 40 < rows["all"]["value"] < 200
    by_place = run("--measure", "efi_category=severe", "--by", "icp")
    assert by_place.returncode == 0 and "East Kent" not in by_place.stdout and "EK" in by_place.stdout
    for args, words in ((("--measure", "segment"), "say which value"), (("--measure", "nope"), "no column"),
                        (("--measure", "ltc_count", "--by", "shoe_size"), "--by 'shoe_size'"),
                        (("--measure", "activity:teleport"), "unknown activity")):
        assert_clear_error(run(*args), words)
