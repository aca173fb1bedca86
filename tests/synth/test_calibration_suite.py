"""The calibration suite at the small scales a new user runs (`make demo` is 0.01): each figure within
the tolerance of its published reference (icsys.synth.calibration states each with its source), and each
(bar two bounds) within its sampling error of the full build's (calibration.FULL_BUILD, issue 9)."""

from __future__ import annotations

import duckdb
import pytest

from icsys.synth.beds import bed_pools
from icsys.synth.calibration import CHECKS, FULL_BUILD, NOT_YET_MET, against_full_build, main, measure
from icsys.synth.generate import synthesise
from icsys.system import load_system


@pytest.fixture(scope="module", params=[0.005, 0.01])
def results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    db = tmp_path_factory.mktemp("suite") / "km.duckdb"
    synthesise(load_system(), db, scale=request.param, years=3, seed=42)
    with duckdb.connect(str(db), read_only=True) as con:
        return {c.name: v for c, v in measure(con)} | {"_scale": request.param}


@pytest.mark.parametrize("check", CHECKS, ids=[c.name for c in CHECKS])
def test_figure_within_tolerance(results: dict[str, float], check) -> None:
    if check.name in NOT_YET_MET:
        pytest.xfail("issue 9: not yet calibrated")
    assert check.low <= results[check.name] <= check.high, f"{check.name}: {results[check.name]}"


@pytest.mark.parametrize("name", FULL_BUILD)
def test_figure_within_sampling_error_of_the_full_build(results: dict[str, float], name: str) -> None:
    """The same system at every scale: a small build reads as the full build does, within its sampling error."""
    full, allowed = FULL_BUILD[name]
    if name == "emergency discharges 12:00-19:59" and results["_scale"] < 0.01:
        pytest.xfail("issue 9: at 0.005 (15 beds) trimming the sample's peaks discharges earlier in the day (ADR 005)")
    if name == "type 1 admitted, 12 h from decision to admit" and results["_scale"] < 0.01:
        pytest.xfail("issue 9: at 0.005 (15 beds) the trimmed peaks wait overnight for the morning's discharges "
                     "(~17 % against the full build's 10.2 % +/- 6, ADR 005)")
    assert abs(results[name] - full) <= allowed, f"{name}: {results[name]:.3f} against {full:.3f} +/- {allowed}"


BOUNDS = {"G&A beds occupied, busiest night", "in-hospital deaths after method 28 (retired 2013)"}


def test_every_figure_but_the_two_bounds_is_held_to_the_full_build() -> None:
    assert set(FULL_BUILD) == {c.name for c in CHECKS} - BOUNDS


def test_against_full_build_holds_a_figure_to_its_allowance() -> None:
    """Inside the allowance, beyond it, and a bound (not compared with the full build, so left out)."""
    by_name = {c.name: c for c in CHECKS}
    deaths, night = by_name["deaths per 1,000 people a year"], by_name["G&A beds occupied, busiest night"]
    full, allowed = FULL_BUILD[deaths.name]
    rows = against_full_build([(deaths, full + 0.9 * allowed), (deaths, full - 1.1 * allowed), (night, 1.0)])
    assert [(v, within) for _, v, within in rows] == [(full + 0.9 * allowed, True), (full - 1.1 * allowed, False)]


def test_the_command_says_how_to_call_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store.duckdb", "--markdown", "--full-build"]) == 2
    assert "usage: python -m icsys.synth.calibration STORE [--markdown | --full-build]" in capsys.readouterr().err


def test_bed_pools_pool_only_where_sites_are_small() -> None:
    system = load_system()
    site_level, _ = bed_pools(system, 1.0)
    assert all(pool == site for site, pool in site_level.items())  # 300-540 beds each: a pool of its own
    pooled, beds = bed_pools(system, 0.01)  # 3-6 beds a site, under 25 a trust: the whole ICS
    assert set(pooled.values()) == {system.ics.code}
    assert beds[system.ics.code] == sum(s.general_acute_beds + s.escalation_beds for s in system.site)
