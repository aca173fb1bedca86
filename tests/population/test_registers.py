"""Registers against expected prevalence: observed / expected by hand on tiny populations, and the
properties indirect standardisation must have on a whole store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from icsys.population.registers import Register, RegisterError, definitions, expected, registers
from support import assert_clear_error, icsys


def counts(rows: list[tuple]) -> pd.DataFrame:
    """(practice, sex, age, people, on the dementia register) rows."""
    frame = pd.DataFrame(rows, columns=["practice_code", "sex", "age", "people", "has_dementia"])
    return frame.assign(**{f"has_{c}": 0 for c in definitions() if c != "dementia"})


def test_dementia_expected_from_cfas_ii_rates() -> None:
    # 100 women 80-84 (CFAS II 9.4 %) and 200 men 70-74 (3.0 %): expected 9.4 + 6.0 = 15.4.
    rows = expected(counts([("A", "F", 82, 100, 7), ("A", "M", 71, 200, 3), ("A", "F", 50, 999, 1)]),
                    definitions()["dementia"])
    assert rows["expected"].sum() == pytest.approx(15.4)
    assert rows["observed"].sum() == 10 and rows["population"].sum() == 300  # under 65s are not counted


def test_ics_reference_is_indirect_standardisation() -> None:
    # Practice A has twice B's rate in the same band; the ICS rate is their pooled rate.
    register = Register(condition="diabetes", min_age=0)
    data = counts([("A", "F", 60, 100, 0), ("B", "F", 60, 300, 0)]).assign(
        has_diabetes=[20, 30])
    rows = expected(data, register).set_index("practice_code")
    assert rows.loc["A", "expected"] == pytest.approx(100 * 50 / 400)
    assert rows.loc["B", "expected"] == pytest.approx(300 * 50 / 400)


def test_only_people_of_the_qof_ages_count() -> None:
    # Diabetes counts from 17: the 16-year-olds are left out, the 17-year-olds in.
    register = Register(condition="diabetes", min_age=17)
    rows = expected(counts([("A", "F", 16, 100, 0), ("A", "F", 17, 50, 0)]).assign(has_diabetes=[4, 3]), register)
    assert rows["population"].sum() == 50 and rows["observed"].sum() == 3


def test_whole_store_ratios(stratified_store: Path) -> None:
    from icsys.dataset.store import Store
    from icsys.system import load_system

    with Store.open(stratified_store) as store:
        ics = registers(store, load_system(), date(2026, 3, 31), "ics")
        pcn = registers(store, load_system(), date(2026, 3, 31), "pcn", ["diabetes"])
    internal = ics[ics["condition"] != "dementia"]
    assert internal["ratio"].to_numpy() == pytest.approx(1.0, abs=0.01)  # the ICS against its own rates
    dementia = ics[ics["condition"] == "dementia"].iloc[0]
    # The synthetic data leaves about a third of dementia undiagnosed (README): the diagnosis rate shows it.
    assert 0.5 < dementia["ratio"] < 0.8 and dementia["gap"] > 0
    assert (pcn["ratio_lower"] <= pcn["ratio"]).all() and (pcn["ratio"] <= pcn["ratio_upper"]).all()
    assert pcn["observed"].sum() == internal.set_index("condition").loc["diabetes", "observed"]
    with pytest.raises(RegisterError, match="unknown register"):
        registers(Store.open(stratified_store), load_system(), date(2026, 3, 31), "pcn", ["gout"])


def test_registers_command_for_sharing(stratified_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "reg.csv"
    run = icsys("population", "registers", "--db", stratified_store, "--level", "practice", "--condition",
                "learning_disability", "--for-sharing", "--out", out)
    assert run.returncode == 0, run.stderr
    shared = pd.read_csv(out)
    shown = shared["observed"].dropna()
    assert (shown % 5 == 0).all() and (shown == 0).any() | (shown >= 10).all()
    assert shared.loc[shared["observed"].isna(), "ratio"].isna().all() and shared["suppressed"].any()
    assert_clear_error(icsys("population", "registers", "--db", stratified_store, "--level", "ward"), "--level 'ward'")
