"""The for-sharing outputs attacked as someone holding them would attack them: recompute every figure from
the rounded counts (a figure printed from the true counts gives them back), and difference the totals of
every level against the practices they sum (practices against their PCN, PCNs against their ICP, every
breakdown of an inequality against its "all" row), solving exactly with integer programming for the
smallest and largest true count each figure allows. No count comes back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from icsys.disclosure import bounds, place_groups
from icsys.system import load_system
from icsys.system.hierarchy import LEVELS, practice_places
from support import icsys

CONDITIONS = ("learning_disability", "dementia")
UNKNOWN = 10**7  # a withheld total: any count


def pinned(shown: dict[str, float], groups: list[tuple[str, list[str]]]) -> dict[str, tuple[int, int]]:
    """Each key's smallest and largest true count, by integer programming over every sum at once, for the
    keys whose figure is shown rounded or suppressed (a shown 0 is exact and is left out)."""
    keys = sorted(set(shown) | {t for t, _ in groups} | {p for _, parts in groups for p in parts})
    at = {k: i for i, k in enumerate(keys)}
    low = np.array([bounds(shown[k])[0] if k in shown else 0 for k in keys], float)
    high = np.array([bounds(shown[k])[1] if k in shown else UNKNOWN for k in keys], float)
    rows = []
    for total, parts in groups:
        row = np.zeros(len(keys))
        row[[at[p] for p in parts]] = 1
        row[at[total]] -= 1
        rows.append(row)
    sums = LinearConstraint(np.array(rows), 0, 0)
    out = {}
    for key in keys:
        if key in shown and shown[key] == 0:
            continue
        c = np.zeros(len(keys))
        c[at[key]] = 1
        ends = []
        for sign in (1, -1):
            fit = milp(sign * c, constraints=[sums], integrality=np.ones(len(keys)), bounds=Bounds(low, high))
            assert fit.success, fit.message
            ends.append(round(sign * fit.fun))
        out[key] = (ends[0], ends[1])
    return out


def registers_out(store: Path, tmp: Path, level: str, sharing: bool) -> pd.DataFrame:
    out = tmp / f"reg-{level}-{sharing}.csv"
    args = [a for c in CONDITIONS for a in ("--condition", c)] + (["--for-sharing"] if sharing else [])
    icsys("population", "registers", "--db", store, "--level", level, *args, "--out", out, check=True)
    return pd.read_csv(out, dtype={"org_code": str})


@pytest.fixture(scope="module")
def register_outputs(stratified_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("sharing")
    return {(lv, s): registers_out(stratified_store, tmp, lv, s) for lv in LEVELS for s in (True, False)}


def test_every_register_figure_comes_from_the_rounded_counts(register_outputs: dict) -> None:
    for level in LEVELS:
        shared = register_outputs[(level, True)]
        shown = shared.dropna(subset=["observed", "population", "expected"])
        assert (shown[["observed", "population", "expected"]] % 5 == 0).all().all()
        assert np.allclose(shown["ratio"], shown["observed"] / shown["expected"], equal_nan=True)
        assert np.allclose(shown["observed_prevalence"], 100 * shown["observed"] / shown["population"])
        assert np.allclose(shown["gap"], (shown["expected"] - shown["observed"]).clip(lower=0))
        hidden = shared[shared["observed"].isna()]
        derived = ["ratio", "ratio_lower", "ratio_upper", "observed_prevalence", "gap", "expected"]
        assert hidden[derived].isna().all().all()
        assert (hidden["disclosure"] != "").all()


def test_no_register_count_is_recovered_by_differencing_levels(register_outputs: dict) -> None:
    places = practice_places(load_system())
    groups = place_groups(places, [lv for lv in LEVELS if lv != "practice"])
    attacked = 0
    for condition in CONDITIONS:
        for column in ("observed", "population"):
            shown, true = {}, {}
            for level in LEVELS:
                for sharing, into in ((True, shown), (False, true)):
                    frame = register_outputs[(level, sharing)]
                    frame = frame[frame["condition"] == condition]
                    for row in frame.itertuples():
                        withheld = sharing and str(row.disclosure).startswith("withheld")
                        if not withheld:
                            into[f"{level}:{row.org_code}"] = getattr(row, column)
            for key, (low, high) in pinned(shown, groups).items():
                if key in true:
                    assert low <= true[key] <= high, (condition, column, key)  # the attack is sound
                    assert low < high, f"{condition} {column} of {key} recovered: {low}"
                    attacked += 1
    assert attacked > 100


def inequality(store: Path, by: str, sharing: bool) -> pd.DataFrame:
    args = ["--for-sharing"] if sharing else []
    run = icsys("population", "inequalities", "--db", store, "--measure", "efi_category=severe", "--by", by,
                "--crude", "--json", *args, check=True)
    return pd.DataFrame(json.loads(run.stdout)["rows"])


def test_no_inequality_count_is_recovered_across_breakdowns(stratified_store: Path) -> None:
    breakdowns = ("imd_quintile", "sex", "age_band", "practice", "pcn", "icp")
    tables = {(by, s): inequality(stratified_store, by, s) for by in breakdowns for s in (True, False)}
    places = practice_places(load_system())
    for column in ("numerator", "people"):
        shown, true, groups = {}, {}, []
        for by in breakdowns:
            for sharing, into in ((True, shown), (False, true)):
                for row in tables[(by, sharing)].to_dict("records"):
                    key = "all" if row["group"] == "all" else f"{by}:{row['group']}"
                    if not (sharing and str(row["disclosure"]).startswith("withheld")):
                        into[key] = np.nan if row[column] is None else row[column]
            keys = [f"{by}:{g}" for g in tables[(by, False)]["group"] if g != "all"]
            if by != "pcn" and by != "icp":
                groups.append(("all", keys))
        known = places[places["practice"].isin([k.split(":")[1] for k in true if k.startswith("practice:")])]
        groups += [g for g in place_groups(known, ["pcn", "icp"])]
        for key, (low, high) in pinned(shown, groups).items():
            if key in true:
                assert low <= true[key] <= high, (column, key)
                assert low < high, f"{column} of {key} recovered: {low}"
        shared = tables[("imd_quintile", True)].dropna(subset=["numerator", "people"])
        assert np.allclose(shared["value"], 100 * shared["numerator"] / shared["people"])


def test_a_shared_rate_is_built_on_rounded_events_and_person_years(stratified_store: Path) -> None:
    def rates(sharing: bool) -> pd.DataFrame:
        run = icsys("population", "inequalities", "--db", stratified_store, "--measure",
                    "activity:emergency_admissions", "--by", "imd_quintile", "--crude", "--json",
                    *(["--for-sharing"] if sharing else []), check=True)
        return pd.DataFrame(json.loads(run.stdout)["rows"]).set_index("group")

    true, shared = rates(False), rates(True)
    shown = shared.dropna(subset=["numerator", "person_years"])
    assert len(shown) >= 3 and "people" not in shared  # a rate's denominator is person-years, not people
    assert (shown["person_years"] % 5 == 0).all() and (shown["numerator"] % 5 == 0).all()
    assert np.allclose(shown["value"], 1000 * shown["numerator"] / shown["person_years"])
    # each rounded to the nearest 5 of its true figure (events a count, person-years summed over registrations)
    assert (abs(shown["person_years"] - true.loc[shown.index, "person_years"]) <= 2.5).all()
    assert (abs(shown["numerator"] - true.loc[shown.index, "numerator"]) <= 2.5).all()
