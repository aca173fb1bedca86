"""People calibration (issue 9, items 3-4) at the small scales a new user runs: how people differ and how
their past predicts their future, births, frequent A&E use, deaths, and the checks of the main suite that
concern people (deaths, births, GP weekdays, community contacts, frailty, concentration and repeat admission),
each within the tolerance of its published reference."""

from __future__ import annotations

import duckdb
import pytest

from icsys.synth.calibration import CHECKS, measure
from icsys.synth.calibration_people import (
    PEOPLE_CHECKS,
    age_sex_auroc,
    measure_people,
    prepare_people,
)
from icsys.synth.generate import synthesise
from icsys.system import load_system

# Checks of the main suite that items 3-4 own; the rest (beds, discharges) are items 1-2.
PEOPLE_IN_MAIN_SUITE = [
    "deaths per 1,000 people a year", "births per year in the period over births per year before it",
    "maternity (delivery) spells per birth",
    "GP appointments on Monday over Wednesday", "GP appointments at weekends", "30-day emergency readmission",
    "emergency bed days held by the top 5 % of people with any", "emergency bed days held by 1 % of all people",
    "another emergency admission in 12 months: after one, over people 65+ without",
    "community contacts per 1,000 a year", "eFI fit among 65+", "eFI mild among 65+", "eFI moderate among 65+",
    "eFI severe among 65+"]
# Not met yet (none at present; the tests expect any named here to fail).
NOT_YET_MET: set[str] = set()
ALL = [c for c in CHECKS if c.name in PEOPLE_IN_MAIN_SUITE] + PEOPLE_CHECKS


@pytest.fixture(scope="module", params=[0.005, 0.01])
def results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    db = tmp_path_factory.mktemp("people") / "km.duckdb"
    synthesise(load_system(), db, scale=request.param, years=3, seed=42)
    with duckdb.connect(str(db), read_only=True) as con:
        return {c.name: v for c, v in [*measure(con), *measure_people(con)]}



@pytest.mark.parametrize("check", ALL, ids=[c.name for c in ALL])
def test_people_figure_within_tolerance(results: dict[str, float], check) -> None:
    if check.name in NOT_YET_MET:
        pytest.xfail("issue 9: not yet calibrated")
    assert check.low <= results[check.name] <= check.high, f"{check.name}: {results[check.name]}"


def test_age_sex_auroc_on_hand_worked_people() -> None:
    """Band 0 (rate 1/2 in year 1) and band 10 (rate 0): year 2 outcomes 1,0 in band 0 and 0,0 in band 10.
    Scores 0.5, 0.5, 0, 0 against outcomes 1, 0, 0, 0: the one positive outranks two negatives and ties one,
    so AUROC = (2 + 0.5) / 3."""
    con = duckdb.connect()
    con.execute("""CREATE TEMP TABLE people_two_years AS SELECT * FROM (VALUES
        (1, 'F', 0, TRUE, TRUE), (2, 'F', 0, FALSE, FALSE), (3, 'F', 10, FALSE, FALSE), (4, 'F', 10, FALSE, FALSE))
        t(person_id, sex, band, had, again)""")
    assert age_sex_auroc(con) == pytest.approx(2.5 / 3)


def test_prepare_people_needs_the_store_tables() -> None:
    with pytest.raises(duckdb.CatalogException):
        prepare_people(duckdb.connect())
