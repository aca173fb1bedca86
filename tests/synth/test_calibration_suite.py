"""The calibration suite at the small scales a new user runs (`make demo` is 0.01): each figure within
the tolerance of its published reference (icsys.synth.calibration states each with its source)."""

from __future__ import annotations

import duckdb
import pytest

from icsys.synth.beds import bed_pools
from icsys.synth.calibration import CHECKS, FULL_BUILD, NOT_YET_MET, measure
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
                     "(~17 % against the full build's 10.3 % +/- 6, ADR 005)")
    assert abs(results[name] - full) <= allowed, f"{name}: {results[name]:.3f} against {full:.3f} +/- {allowed}"


def test_bed_pools_pool_only_where_sites_are_small() -> None:
    system = load_system()
    site_level, _ = bed_pools(system, 1.0)
    assert all(pool == site for site, pool in site_level.items())  # 300-540 beds each: a pool of its own
    pooled, beds = bed_pools(system, 0.01)  # 3-6 beds a site, under 25 a trust: the whole ICS
    assert set(pooled.values()) == {system.ics.code}
    assert beds[system.ics.code] == sum(s.general_acute_beds + s.escalation_beds for s in system.site)
