"""Clinical definitions as the NHS defines them, each worked by hand on people made by hand in a small
DuckDB store: QOF register rules (age in whole years, resolved codes, the latest code deciding, first dates),
the eFI for people 65 and over, the registration in force on the date, person-years at risk for event rates,
and bed days clipped to the date."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from icsys.codes import codelists
from icsys.dataset.store import Store, append, open_store
from icsys.population import measures
from icsys.population.inequalities import Measure, at_risk, summarise
from icsys.population.risk_features import features

CONDITIONS = codelists("conditions")
EFI = [codes[0] for name, codes in codelists("efi_deficits").items() if name != "polypharmacy"]
DIABETES, ASTHMA, DEPRESSION = CONDITIONS["diabetes"][0], CONDITIONS["asthma"][0], CONDITIONS["depression"][0]
DIABETES_RESOLVED, ASTHMA_RESOLVED, DEPRESSION_RESOLVED = "315051004", "162660004", "196381000000100"
A, B = "G82100", "G82131"


def person(pid: int, **over: object) -> dict:
    row = {"person_id": pid, "nhs_number": "9434765919", "sex": "F", "birth_date": date(1950, 1, 1),
           "ethnicity": "A", "practice_code": A, "registration_start": date(2000, 1, 1),
           "registration_end": None, "death_date": None}
    return row | over


def store(tmp_path: Path, people: list[dict], events: list[tuple] = (), registrations: list[tuple] = (),
          spells: list[tuple] = ()) -> Store:
    db = tmp_path / "s.duckdb"
    con = open_store(db)
    append(con, "person", pa.Table.from_pylist(people))
    if events:
        append(con, "clinical_event", pa.Table.from_pylist([
            {"event_id": i + 1, "person_id": p, "event_date": d, "snomed_code": c, "value": None,
             "practice_code": A} for i, (p, d, c) in enumerate(events)]))
    if registrations:
        append(con, "gp_registration", pa.Table.from_pylist([
            {"registration_id": i + 1, "person_id": p, "practice_code": code, "registration_start": start,
             "registration_end": end} for i, (p, code, start, end) in enumerate(registrations)]))
    if spells:
        append(con, "inpatient_spell", pa.Table.from_pylist([
            {"spell_id": i + 1, "person_id": p, "site_code": "RPA02", "admission_time": start,
             "discharge_time": end, "admission_method": "21", "patient_classification": "1", "specialty": "300",
             "primary_diagnosis": "J18.9"} for i, (p, start, end) in enumerate(spells)]))
    con.close()
    return Store.open(db, read_only=True)


def registers_on(s: Store, as_of: date) -> dict[int, set[str]]:
    on = measures.on_registers(measures.registered(s.backend, as_of), s.backend.table("clinical_event"), as_of)
    out: dict[int, set[str]] = {}
    for row in on.execute().itertuples():
        out.setdefault(row.person_id, set()).add(row.condition)
    return out


def test_register_age_is_whole_years_on_the_date(tmp_path: Path) -> None:
    # Diabetes is 17+. On 1 March 2025 a person born 1 March 2008 is 17 (6,209 days: 16.9993 years by days /
    # 365.25, the old rule, which left them off); one born 1 April 2008 is 16 until 1 April 2025.
    s = store(tmp_path, [person(1, birth_date=date(2008, 3, 1)), person(2, birth_date=date(2008, 4, 1))],
              [(1, date(2024, 5, 1), DIABETES), (2, date(2024, 5, 1), DIABETES)])
    assert registers_on(s, date(2025, 3, 1)) == {1: {"diabetes"}}
    assert registers_on(s, date(2025, 4, 1)) == {1: {"diabetes"}, 2: {"diabetes"}}


def test_the_latest_code_decides_against_resolved_codes(tmp_path: Path) -> None:
    events = [
        (1, date(2015, 1, 1), DIABETES), (1, date(2020, 1, 1), DIABETES_RESOLVED),  # resolved: off
        (2, date(2015, 1, 1), DIABETES), (2, date(2018, 1, 1), DIABETES_RESOLVED),
        (2, date(2021, 1, 1), DIABETES),  # diagnosed again after the resolved code: on
        (3, date(2019, 1, 1), ASTHMA), (3, date(2019, 1, 1), ASTHMA_RESOLVED),  # same day: the diagnosis stands
        (4, date(2019, 1, 1), ASTHMA), (4, date(2025, 6, 1), ASTHMA_RESOLVED),  # resolved after the date: on
        (5, date(2010, 1, 1), DEPRESSION), (5, date(2012, 1, 1), DEPRESSION_RESOLVED),  # off
        (6, date(2005, 6, 1), DEPRESSION),  # before 1 April 2006, the register's first date: off
        (7, date(2006, 4, 1), DEPRESSION),  # on the first date: on
    ]
    s = store(tmp_path, [person(i) for i in range(1, 8)], events)
    assert registers_on(s, date(2025, 3, 31)) == {2: {"diabetes"}, 3: {"asthma"}, 4: {"asthma"},
                                                  7: {"depression"}}


def test_ltc_count_counts_registers_a_person_is_on(tmp_path: Path) -> None:
    # A 10-year-old with asthma (6+), diabetes (17+) and depression (18+) codes has one long-term condition:
    # asthma. An adult with the same codes and diabetes resolved has two.
    codes = [ASTHMA, DIABETES, DEPRESSION]
    events = [(p, date(2024, 1, 1), c) for p in (1, 2) for c in codes] + [(2, date(2024, 6, 1), DIABETES_RESOLVED)]
    s = store(tmp_path, [person(1, birth_date=date(2014, 6, 1)), person(2)], events)
    day = date(2025, 3, 31)
    people = measures.registered(s.backend, day)
    ltc = measures.long_term_conditions(people, s.backend.table("clinical_event"), day).execute()
    flags = measures.condition_flags(people, s.backend.table("clinical_event"), day).execute()
    assert dict(zip(ltc.person_id, ltc.ltc_count, strict=True)) == {1: 1, 2: 2}
    by_person = flags.set_index("person_id")
    assert by_person.loc[1, ["has_asthma", "has_diabetes", "has_depression"]].tolist() == [1, 0, 0]
    assert by_person.loc[2, ["has_asthma", "has_diabetes", "has_depression"]].tolist() == [1, 0, 1]


def test_efi_scores_people_65_and_over_only(tmp_path: Path) -> None:
    # On 1 March 2025: born 1 March 1960 is 65 that day (scored); born 1 April 1960 is 64 (no score).
    events = [(p, date(2024, 6, 1), code) for p in (1, 2) for code in EFI[:5]]
    s = store(tmp_path, [person(1, birth_date=date(1960, 3, 1)), person(2, birth_date=date(1960, 4, 1))], events)
    parts = measures.basics(s.backend, date(2025, 3, 1))
    frailty = parts["frailty"].execute().set_index("person_id")
    assert frailty.loc[1, "efi_deficits"] == 5 and frailty.loc[1, "efi_category"] == "mild"
    assert frailty.loc[1, "efi_score"] == pytest.approx(5 / 36)
    assert frailty[["efi_deficits", "efi_score", "efi_category"]].loc[2].isna().all()


def test_the_registration_in_force_on_the_date_decides(tmp_path: Path) -> None:
    # Person 1 moved from A to B on 1 June 2024 (person.practice_code is the latest, B); person 2 moved out of
    # the ICS on 1 January 2024; person 3 joined on 1 May 2024.
    people = [person(1, practice_code=B, registration_start=date(2024, 6, 1)),
              person(2, registration_end=date(2024, 1, 1)), person(3, registration_start=date(2024, 5, 1))]
    history = [(1, A, date(2010, 1, 1), date(2024, 6, 1)), (1, B, date(2024, 6, 1), None),
               (2, A, date(2005, 1, 1), date(2024, 1, 1)), (3, A, date(2024, 5, 1), None)]
    s = store(tmp_path, people, registrations=history)

    def lists(day: date) -> dict[int, str]:
        frame = measures.registered(s.backend, day).execute()
        return dict(zip(frame.person_id, frame.practice_code, strict=True))

    assert lists(date(2023, 12, 31)) == {1: A, 2: A}
    assert lists(date(2024, 5, 31)) == {1: A, 3: A}
    assert lists(date(2024, 6, 1)) == {1: B, 3: A}


def test_a_store_without_a_history_uses_the_person_table(tmp_path: Path) -> None:
    s = store(tmp_path, [person(1, practice_code=B, registration_start=date(2024, 6, 1)), person(2)])
    frame = measures.registered(s.backend, date(2024, 5, 31)).execute()
    assert frame.person_id.tolist() == [2]


def test_event_rates_are_per_person_year_at_risk(tmp_path: Path) -> None:
    """The year to 31 March 2025 is 1 April 2024 to 31 March 2025, 365 days. Worked by hand:
    person 1, at A all year, 2 admissions: 365 days at A;
    person 2, at A, died 1 October 2024 after 1 admission: 183 days at A (1 April to 30 September);
    person 3 joined A on 1 January 2025, admitted on 1 December 2024 before joining: 90 days, 0 admissions;
    person 4 moved from A to B on 1 July 2024, admitted at A (1 May) and at B (1 December): 91 days at A, 274 at B.
    A: 4 admissions in 365 + 183 + 90 + 91 = 729 days; B: 1 in 274 days; all: 5 in 1,003 days.
    Survivors at the end date (persons 1, 3, 4) would have given 4 admissions for 3 people."""
    people = [person(1), person(2, registration_end=date(2024, 10, 1), death_date=date(2024, 10, 1)),
              person(3, registration_start=date(2025, 1, 1)),
              person(4, practice_code=B, registration_start=date(2024, 7, 1))]
    history = [(1, A, date(2000, 1, 1), None), (2, A, date(2000, 1, 1), date(2024, 10, 1)),
               (3, A, date(2025, 1, 1), None), (4, A, date(2000, 1, 1), date(2024, 7, 1)),
               (4, B, date(2024, 7, 1), None)]
    admitted = [(1, datetime(2024, 6, 1, 10), datetime(2024, 6, 3, 10)),
                (1, datetime(2025, 2, 1, 10), datetime(2025, 2, 2, 10)),
                (1, datetime(2024, 3, 31, 23), datetime(2024, 4, 2, 10)),  # the day before the year: not counted
                (2, datetime(2024, 9, 1, 10), datetime(2024, 9, 5, 10)),
                (3, datetime(2024, 12, 1, 10), datetime(2024, 12, 2, 10)),
                (4, datetime(2024, 5, 1, 10), datetime(2024, 5, 2, 10)),
                (4, datetime(2024, 12, 1, 10), datetime(2024, 12, 3, 10))]
    s = store(tmp_path, people, registrations=history, spells=admitted)
    rows = at_risk(s.backend, "emergency_admissions", date(2025, 3, 31))
    days = {(r.person_id, r.practice_code): (round(r.person_years * 365.25), r.emergency_admissions)
            for r in rows.itertuples()}
    assert days == {(1, A): (365, 2), (2, A): (183, 1), (3, A): (90, 0), (4, A): (91, 1), (4, B): (274, 1)}
    rate = Measure("activity:emergency_admissions", "rate", "emergency_admissions")
    table = summarise(rows, rate, "practice_code", standardise=False).set_index("group")
    assert table.loc[A, "value"] == pytest.approx(1000 * 4 / (729 / 365.25))
    assert table.loc[B, "value"] == pytest.approx(1000 * 1 / (274 / 365.25))
    assert table.loc["all", "value"] == pytest.approx(1000 * 5 / (1003 / 365.25))
    assert table.loc["all", "people"] == 4 and table.loc["all", "person_years"] == pytest.approx(1003 / 365.25)
    # Deaths: person 2's, on the day the registration ended, in the same 1,003 days.
    deaths = at_risk(s.backend, "deaths", date(2025, 3, 31))
    assert deaths.groupby("person_id")["deaths"].sum().to_dict() == {1: 0, 2: 1, 3: 0, 4: 0}
    died = summarise(deaths, Measure("activity:deaths", "rate", "deaths"), "practice_code", False).set_index("group")
    assert died.loc["all", "value"] == pytest.approx(1000 * 1 / (1003 / 365.25))


def test_bed_days_of_the_year_before_stop_at_the_date(tmp_path: Path) -> None:
    # On 31 March 2025: admitted 21 March, discharged 10 April: 10 midnights up to the date, not 20;
    # admitted 30 March and not yet discharged: 1; admitted 1 February, discharged 5 February: 4.
    spells = [(1, datetime(2025, 3, 21, 9), datetime(2025, 4, 10, 9)), (2, datetime(2025, 3, 30, 9), None),
              (3, datetime(2025, 2, 1, 9), datetime(2025, 2, 5, 9))]
    s = store(tmp_path, [person(1), person(2), person(3)], spells=spells)
    frame = features(s.backend, date(2025, 3, 31)).execute().set_index("person_id")
    assert frame["bed_days_12m"].to_dict() == {1: 10, 2: 1, 3: 4}
