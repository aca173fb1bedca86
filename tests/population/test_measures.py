"""Spec tests for person measures: tiny tables in a real DuckDB store, the expected answer per person."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from icsys.access import Actor, Auditor
from icsys.access.audit import beside
from icsys.codes import codelists
from icsys.dataset.store import append, open_store
from icsys.population.stratify import stratify

AS_OF = date(2025, 3, 31)
EFI = codelists("efi_deficits")
CONDITIONS = codelists("conditions")
OBS = codelists("observations")
DEMENTIA_DRUG = codelists("medications")["dementia"][0]
# Deficits that have a SNOMED code (polypharmacy comes from medicines)
CODED_DEFICITS = [codes[0] for name, codes in EFI.items() if name != "polypharmacy"]


def person(pid: int, **over: object) -> dict:
    row = {"person_id": pid, "nhs_number": "9434765919", "sex": "F", "birth_date": date(1940, 1, 1),
           "ethnicity": "A", "practice_code": "G82100", "registration_start": date(2000, 1, 1),
           "registration_end": None, "death_date": None}
    return row | over


def build(tmp_path: Path, people: list[dict], events: list[tuple] = (), meds: list[tuple] = (),
          spells: list[tuple] = ()) -> dict[int, dict]:
    db = tmp_path / "s.duckdb"
    con = open_store(db)
    append(con, "person", pa.Table.from_pylist(people))
    if events:
        append(con, "clinical_event", pa.Table.from_pylist([
            {"event_id": i + 1, "person_id": p, "event_date": d, "snomed_code": c, "value": v,
             "practice_code": "G82100"} for i, (p, d, c, v) in enumerate(events)]))
    if meds:
        append(con, "medication", pa.Table.from_pylist([
            {"medication_id": i + 1, "person_id": p, "issue_date": d, "dmd_code": c, "practice_code": "G82100"}
            for i, (p, d, c) in enumerate(meds)]))
    if spells:
        append(con, "inpatient_spell", pa.Table.from_pylist([
            {"spell_id": i + 1, "person_id": p, "site_code": "RPA02", "admission_time": when,
             "admission_method": method, "patient_classification": "1", "specialty": "300",
             "primary_diagnosis": "J18.9"} for i, (p, when, method) in enumerate(spells)]))
    con.close()
    stratify(db, AS_OF, auditor=Auditor(Actor("asha", ("analyst",)), beside(db)))
    with duckdb.connect(str(db), read_only=True) as c:
        rows = c.execute("SELECT * FROM person_measures").fetchdf().to_dict("records")
    return {r["person_id"]: r for r in rows}


def deficits(pid: int, n: int, day: date = date(2024, 6, 1)) -> list[tuple]:
    return [(pid, day, code, None) for code in CODED_DEFICITS[:n]]


@pytest.mark.parametrize(("n", "category"), [(0, "fit"), (4, "fit"), (5, "mild"), (8, "mild"), (9, "moderate"),
                                             (12, "moderate"), (13, "severe"), (20, "severe")])
def test_efi_categories_by_deficit_count(tmp_path: Path, n: int, category: str) -> None:
    out = build(tmp_path, [person(1)], deficits(1, n) + deficits(1, min(n, 2)))  # repeats count once
    assert out[1]["efi_deficits"] == n and out[1]["efi_category"] == category
    assert out[1]["efi_score"] == pytest.approx(n / 36)


def test_efi_ignores_codes_after_as_of(tmp_path: Path) -> None:
    out = build(tmp_path, [person(1)], deficits(1, 3) + deficits(1, 10, day=date(2025, 6, 1)))
    assert out[1]["efi_deficits"] == 3


def test_polypharmacy_is_five_distinct_medicines_in_the_year(tmp_path: Path) -> None:
    drugs = codelists("medications")["hypertension"] + codelists("medications")["chd"]
    meds = [(1, date(2024, 9, 1), d) for d in drugs[:5]] + [(2, date(2024, 9, 1), d) for d in drugs[:4]]
    meds += [(3, date(2023, 9, 1), d) for d in drugs[:5]]  # over a year before: not counted
    out = build(tmp_path, [person(1), person(2), person(3)], meds=meds)
    assert [out[p]["efi_deficits"] for p in (1, 2, 3)] == [1, 0, 0]


def test_only_people_registered_and_alive_on_the_day(tmp_path: Path) -> None:
    out = build(tmp_path, [person(1), person(2, death_date=date(2025, 1, 1)),
                           person(3, registration_end=date(2024, 12, 1)),
                           person(4, registration_start=date(2025, 6, 1)), person(5, registration_start=None)])
    assert sorted(out) == [1, 5]


def test_ltc_count_counts_conditions_once(tmp_path: Path) -> None:
    events = [(1, date(2020, 1, 1), CONDITIONS[c][0], None) for c in ("diabetes", "copd", "diabetes")]
    out = build(tmp_path, [person(1), person(2)], events)
    assert out[1]["ltc_count"] == 2 and out[2]["ltc_count"] == 0


def test_dementia_medication_without_diagnosis(tmp_path: Path) -> None:
    meds = [(1, date(2025, 1, 10), DEMENTIA_DRUG), (2, date(2025, 1, 10), DEMENTIA_DRUG),
            (3, date(2023, 1, 10), DEMENTIA_DRUG)]
    events = [(2, date(2022, 5, 1), CONDITIONS["dementia"][0], None)]
    out = build(tmp_path, [person(1), person(2), person(3)], events, meds)
    assert [out[p]["flag_dementia_medication_no_diagnosis"] for p in (1, 2, 3)] == [True, False, False]
    assert "dementia medication" in out[1]["case_finding_reasons"]
    assert out[2]["case_finding_reasons"] == ""


def test_raised_blood_pressure_without_hypertension(tmp_path: Path) -> None:
    sbp, dbp, htn = OBS["systolic_bp"][0], OBS["diastolic_bp"][0], CONDITIONS["hypertension"][0]
    events = [(1, date(2024, 5, 1), sbp, 152.0), (1, date(2024, 8, 1), dbp, 95.0),   # two days raised
              (2, date(2024, 5, 1), sbp, 152.0), (2, date(2024, 5, 1), dbp, 96.0),   # one day only
              (3, date(2024, 5, 1), sbp, 150.0), (3, date(2024, 9, 1), sbp, 160.0),
              (3, date(2019, 1, 1), htn, None),                                        # already diagnosed
              (4, date(2024, 5, 1), sbp, 128.0), (4, date(2024, 9, 1), sbp, 131.0)]  # normal
    out = build(tmp_path, [person(p) for p in (1, 2, 3, 4)], events)
    assert [out[p]["flag_raised_bp_no_hypertension"] for p in (1, 2, 3, 4)] == [True, False, False, False]


def test_three_conditions_and_no_review(tmp_path: Path) -> None:
    three = [(p, date(2020, 1, 1), CONDITIONS[c][0], None) for p in (1, 2) for c in ("diabetes", "copd", "ckd")]
    review = [(2, date(2024, 11, 1), OBS["ltc_review"][0], None)]
    out = build(tmp_path, [person(1), person(2)], three + review)
    assert out[1]["flag_ltc3_no_review"] and not out[2]["flag_ltc3_no_review"]


def test_health_checks_for_learning_disability_and_smi(tmp_path: Path) -> None:
    events = [(1, date(2015, 1, 1), CONDITIONS["learning_disability"][0], None),
              (2, date(2015, 1, 1), CONDITIONS["learning_disability"][0], None),
              (2, date(2024, 10, 1), OBS["ld_health_check"][0], None),
              (3, date(2015, 1, 1), CONDITIONS["smi"][0], None)]
    out = build(tmp_path, [person(p) for p in (1, 2, 3)], events)
    assert [out[p]["flag_ld_no_health_check"] for p in (1, 2, 3)] == [True, False, False]
    assert out[3]["flag_smi_no_health_check"]


def test_bridges_to_health_segments_by_precedence(tmp_path: Path) -> None:
    from datetime import datetime

    code = lambda p, c: (p, date(2018, 1, 1), CONDITIONS[c][0], None)  # noqa: E731
    events = [
        *deficits(1, 13), code(1, "cancer"),           # severe frailty with cancer
        *deficits(2, 13),                              # severe frailty alone
        code(3, "copd"), code(3, "diabetes"),          # COPD, admitted this year
        code(4, "learning_disability"), code(4, "diabetes"),  # disability outranks chronic conditions
        code(6, "diabetes"),
        code(9, "cancer"),                             # cancer without frailty: a chronic condition
    ]
    spells = [(3, datetime(2024, 12, 1, 10), "21"), (7, datetime(2025, 1, 5, 9), "21"),
              (8, datetime(2024, 11, 1, 9), "31"), (7, datetime(2023, 1, 5, 9), "21")]
    people = [person(p) for p in (1, 2, 3, 4, 6, 7, 8, 9, 10)] + [person(5, birth_date=date(2024, 10, 1))]
    out = build(tmp_path, people, events, spells=spells)
    expected = {1: "failing_health", 2: "long_decline", 3: "limited_reserve", 4: "stable_serious_disability",
                5: "maternal_infant", 6: "chronic_conditions", 7: "acutely_ill", 8: "maternal_infant",
                9: "chronic_conditions", 10: "healthy"}
    assert {p: out[p]["segment"] for p in expected} == expected
