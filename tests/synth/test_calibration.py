"""The synthetic Kent and Medway looks right to an NHS analyst: figures within published ranges
(sources in ../shared/reference/calibration.md), gradients in the right direction, and the
deliberate gaps for case finding present."""

from __future__ import annotations

import duckdb
import nhs_number
import numpy as np
import pytest

from icsys.codes import codelists
from icsys.synth.context import SynthContext
from icsys.synth.generate import chunk_practices
from icsys.synth.population import generate_population
from icsys.synth.primary_care import nhs_numbers
from icsys.system import load_system


@pytest.fixture(scope="module")
def con(synthetic_store):
    with duckdb.connect(str(synthetic_store(0.02, 3, 11)), read_only=True) as connection:
        yield connection


def one(con, sql: str) -> float:
    return con.execute(sql).fetchone()[0]


PERSON_YEARS = ("(SELECT sum(date_diff('day', greatest(registration_start, DATE '2023-04-01'), "
                "least(coalesce(registration_end, DATE '2026-04-01'), coalesce(death_date, DATE '2026-04-01'), "
                "DATE '2026-04-01'))) / 365.25 FROM person WHERE coalesce(registration_end, DATE '2026-04-01') > "
                "DATE '2023-04-01')")


def rate(con, table: str, where: str = "TRUE") -> float:
    return one(con, f"SELECT count(*) / {PERSON_YEARS} * 1000 FROM {table} WHERE {where}")


def test_age_structure_and_deaths(con) -> None:
    share_65 = one(con, "SELECT avg((date_diff('year', birth_date, DATE '2023-04-01') >= 65)::INT) FROM person "
                        "WHERE registration_start <= DATE '2023-04-01'")
    assert 0.17 <= share_65 <= 0.21  # Kent 20 %, Medway 16.5 % (Census 2021)
    assert 7.5 <= rate(con, "person", "death_date IS NOT NULL") <= 11.5  # England 9.4 per 1,000 (ONS 2023)
    hospital = one(con, "SELECT avg((place_of_death = 'hospital')::INT) FROM person WHERE death_date IS NOT NULL")
    assert 0.38 <= hospital <= 0.48  # 43.4 % (OHID 2022)


def test_deprivation_gradient_in_emergency_admissions(con) -> None:
    by_quintile = con.execute(
        "SELECT (imd_decile + 1) // 2 AS q, count(s.spell_id) / count(DISTINCT p.person_id) FROM person p "
        "LEFT JOIN inpatient_spell s ON s.person_id = p.person_id AND s.admission_method LIKE '2%' "
        "GROUP BY q ORDER BY q").fetchall()
    assert by_quintile[0][1] > 1.2 * by_quintile[-1][1]  # most deprived higher (BMJ Open 2017;7:e014045)


def test_whole_system_admissions_and_delays(con) -> None:
    """After the system-wide discharge queues: rates, stays and the share of bed time spent waiting."""
    assert 85 <= rate(con, "inpatient_spell", "admission_method LIKE '2%'") <= 140  # ~110 per 1,000
    overnight = one(con, "SELECT avg(epoch(discharge_time - admission_time) / 86400) FROM inpatient_spell "
                         "WHERE admission_method LIKE '2%' AND discharge_time - admission_time >= INTERVAL 1 DAY")
    assert 4.5 <= overnight <= 8  # set by ~93 % occupancy of the beds (see test_activity), not the published 9.1
    delay = dict(con.execute("SELECT discharge_pathway, avg(epoch(discharge_time - ready_for_discharge_time) / 86400)"
                             " FROM inpatient_spell WHERE discharge_pathway IS NOT NULL AND discharge_time IS NOT "
                             "NULL GROUP BY 1").fetchall())
    assert delay[0] < 1 and all(delay[p] > delay[0] for p in (1, 2, 3))
    mffd_share = one(con, "SELECT sum(epoch(discharge_time - ready_for_discharge_time)) / sum(epoch(discharge_time -"
                          " admission_time)) FROM inpatient_spell WHERE discharge_time IS NOT NULL")
    assert 0.05 <= mffd_share <= 0.25  # NCTR ~13 % of beds nationally, 16.5 % in the South East


def test_gp_appointments(con) -> None:
    assert 4.0 <= one(con, f"SELECT count(*) / {PERSON_YEARS} FROM gp_appointment") <= 7.0  # 5.8 (2024)
    modes = dict(con.execute("SELECT mode, avg(1) * count(*) / sum(count(*)) OVER () FROM gp_appointment "
                             "GROUP BY mode").fetchall())
    assert 0.55 <= modes["face_to_face"] <= 0.75 and 0.15 <= modes["telephone"] <= 0.35  # 65 % / 24 %

def test_case_finding_gaps_are_there(con) -> None:
    dementia_drugs = ", ".join(f"'{c}'" for c in codelists("medications")["dementia"])
    dementia_dx = codelists("conditions")["dementia"][0]
    undiagnosed_on_drugs = one(con, f"SELECT count(DISTINCT m.person_id) FROM medication m WHERE m.dmd_code IN "
                                    f"({dementia_drugs}) AND NOT EXISTS (SELECT 1 FROM clinical_event e WHERE "
                                    f"e.person_id = m.person_id AND e.snomed_code = '{dementia_dx}')")
    assert undiagnosed_on_drugs > 0
    raised_no_htn = one(con, "SELECT count(*) FROM (SELECT person_id FROM clinical_event WHERE snomed_code = "
                             "'271649006' AND value >= 140 GROUP BY person_id HAVING count(*) >= 2) r WHERE NOT EXISTS "
                             "(SELECT 1 FROM clinical_event e WHERE e.person_id = r.person_id AND e.snomed_code = "
                             "'59621000')")
    assert raised_no_htn > 0


def test_efi_from_codes_has_published_shares(con) -> None:
    """Recompute eFI from the coded deficits (polypharmacy aside) for people 65+."""
    rows = [(name, code) for name, codes in codelists("efi_deficits").items() for code in codes
            if not code.startswith("medication:")]
    values = ", ".join(f"('{n}', '{c}')" for n, c in rows)
    shares = con.execute(f"""
        WITH deficits(deficit, code) AS (VALUES {values}),
        old AS (SELECT person_id FROM person WHERE date_diff('year', birth_date, DATE '2023-04-01') >= 65
                AND registration_start <= DATE '2023-04-01'),
        score AS (SELECT o.person_id, count(DISTINCT d.deficit) / 36 AS efi FROM old o
                  LEFT JOIN clinical_event e ON e.person_id = o.person_id AND e.event_date < DATE '2023-04-01'
                  LEFT JOIN deficits d ON d.code = e.snomed_code GROUP BY o.person_id)
        SELECT avg((efi <= 0.12)::INT), avg((efi > 0.24)::INT), avg((efi > 0.36)::INT) FROM score""").fetchone()
    fit, moderate_or_worse, severe = shares
    assert 0.4 <= fit <= 0.75 and 0.05 <= moderate_or_worse <= 0.25 and 0.005 <= severe <= 0.08


def test_population_reproducible_and_nhs_numbers_valid() -> None:
    system = load_system()
    ctx = SynthContext(system=system, scale=0.01, years=2, seed=5)
    practices = chunk_practices(system, 0.01)[0]
    a, b = (generate_population(ctx, 0, practices, 1) for _ in range(2))
    assert np.array_equal(a.birth_date, b.birth_date) and np.array_equal(a.frailty, b.frailty)
    other = generate_population(SynthContext(system=system, scale=0.01, years=2, seed=6), 0, practices, 1)
    assert not np.array_equal(a.birth_date, other.birth_date)
    numbers = nhs_numbers(np.arange(1, 200_001))
    assert len(set(numbers.tolist())) == len(numbers)
    assert all(nhs_number.is_valid(n) for n in numbers[::97])
    assert all(n.startswith("9") for n in numbers[:1000])


