"""Calibration from a small synthetic store: what is fitted agrees with the data it came from (checked
with SQL against the store), the fitting helpers against reference formulas, and the command's errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import duckdb
import numpy as np
import pytest

from icsys.dataset.store import Store
from icsys.flow.calibration import calibrate
from icsys.flow.calibration.estimators import empirical, kaplan_meier
from icsys.flow.compiled import compile_scenario
from icsys.flow.distributions import mean
from icsys.flow.model import Empirical, Scenario
from icsys.flow.run import replicate
from support import assert_clear_error, icsys


@pytest.fixture(scope="module")
def store(synthetic_store) -> Path:
    return synthetic_store(0.01, 2, 11)


@pytest.fixture(scope="module")
def fitted(store: Path) -> tuple[dict, str]:
    text, report = calibrate(Store.open(store), None, None, 90, beds="observed")
    return tomllib.loads(text), report


def test_empirical_fit_keeps_the_mean_and_the_quantiles() -> None:
    values = np.random.default_rng(1).lognormal(1.0, 1.2, 20_000)
    d = Empirical.model_validate(empirical(values))
    assert mean(d) == pytest.approx(values.mean(), rel=0.01)
    assert d.quantiles[10] == pytest.approx(np.median(values))


def test_kaplan_meier_recovers_a_censored_exponential() -> None:
    rng = np.random.default_rng(2)
    stays = rng.exponential(30.0, 20_000)
    follow_up = rng.uniform(0, 60, 20_000)  # many still running when the data end
    seen = np.minimum(stays, follow_up)
    d = Empirical.model_validate(kaplan_meier(seen, stays <= follow_up))
    assert d.quantiles[10] == pytest.approx(30.0 * np.log(2), rel=0.05)  # the median of an exponential
    assert d.quantiles[18] == pytest.approx(-30.0 * np.log(0.1), rel=0.1)  # its 90th percentile
    naive = np.median(seen)
    assert naive < 0.8 * 30.0 * np.log(2)  # ignoring the censoring would have been badly wrong


def test_calibrated_rates_and_shares_match_the_store(store: Path, fitted: tuple[dict, str]) -> None:
    scenario, _ = fitted
    Scenario.model_validate(scenario)
    con = duckdb.connect(str(store), read_only=True)
    end = con.sql("SELECT max(arrival_time)::DATE - 1 FROM ae_attendance").fetchone()[0]
    streams = {a["name"]: a for a in scenario["arrivals"]}
    stream = streams["RPA02 A&E ambulance"]
    last_year = con.execute("SELECT count(*) / 365 FROM ae_attendance WHERE site_code = 'RPA02' AND arrival_mode = "
                            "'ambulance' AND arrival_time::DATE > ?::DATE - 365 AND arrival_time::DATE <= ?",
                            [end, end]).fetchone()[0]
    assert stream["per_day"] == pytest.approx(last_year, rel=1e-3)
    admitted = con.execute("SELECT avg((s.spell_id IS NOT NULL)::INT) FROM ae_attendance a LEFT JOIN inpatient_spell s "
                       "ON s.attendance_id = a.attendance_id AND s.patient_classification = '1' WHERE a.site_code = "
                       "'RPA02' AND a.arrival_mode = 'ambulance' AND a.department_type = '1' AND "
                       "a.arrival_time::DATE > ?::DATE - 365 AND a.arrival_time::DATE <= ?", [end, end]).fetchone()[0]
    assert stream["admitted_share"] == pytest.approx(admitted, abs=1e-4)
    rows = scenario["case_mix"]["elective"]["rows"]
    assert sum(r["share"] for r in rows) == pytest.approx(1.0, abs=1e-4)
    # shares, stays and times in A&E are fitted to the last year of data, as the rates are (stays from those
    # that ended in it, ready for discharge or dead, so that the long ones still running at the end count)
    ended = "coalesce(ready_for_discharge_time, discharge_time)"
    los = con.execute(f"SELECT avg(date_diff('second', admission_time, {ended})) / 86400 FROM inpatient_spell WHERE "
                      "admission_method LIKE '1%' AND patient_classification = '1' AND site_code = 'RPA02' AND "
                      f"{ended}::DATE > ?::DATE - 365 AND {ended}::DATE <= ?", [end, end]).fetchone()[0]
    fitted_mean = sum(r["share"] * mean(Empirical.model_validate(r["los_days"])) for r in rows)
    # the system's case mix, scaled to the site's own stays: the stream's mean stay is the site's
    assert fitted_mean * streams["RPA02 elective"]["los_scale"] == pytest.approx(los, rel=1e-3)
    pools = {p["code"]: p for p in scenario["pool"]}
    assert pools["RPA02"]["census"] <= pools["RPA02"]["capacity"] + pools["RPA02"]["escalation"]


def test_a_calibrated_scenario_reproduces_observed_occupancy(fitted: tuple[dict, str]) -> None:
    scenario, report = fitted
    for heading in ("## Arrivals", "## Length of stay", "## Discharge pathways", "## Time in A&E",
                    "## Services people are discharged to", "## What a simulation should reproduce"):
        assert heading in report
    observed = {}
    for line in report.split("## What a simulation should reproduce")[1].splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("R"):
            observed[cells[0]] = float(cells[2].replace(",", ""))
    model = compile_scenario(Scenario.model_validate(scenario))
    reps = [replicate(model, 1, r) for r in range(4)]
    simulated = np.mean([r.pools[0].mean(axis=1) for r in reps], axis=0)
    total_simulated = sum(simulated[model.pool_codes.index(code)] for code in observed)
    assert total_simulated == pytest.approx(sum(observed.values()), rel=0.2)


def test_calibrate_command_and_its_errors(store: Path, tmp_path: Path) -> None:
    def run(*args: str | Path):
        return icsys("flow", "calibrate", *args)

    assert_clear_error(run("--db", store, "--out", tmp_path / "x.txt"), "--out", ".toml")
    assert_clear_error(run("--db", store, "--out", tmp_path / "x.toml", "--beds", "lots"), "--beds lots")
    assert_clear_error(run("--db", tmp_path / "none.duckdb", "--out", tmp_path / "x.toml"), "no such store")
    out = tmp_path / "km.toml"
    ok = run("--db", store, "--out", out, "--days", "30")
    assert ok.returncode == 0, ok.stderr
    assert out.exists() and out.with_suffix(".fit.md").exists()
    icsys("flow", "check", out, check=True)
