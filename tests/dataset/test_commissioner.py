"""Activity at providers outside the ICS kept and flagged, the responsible commissioner by the Who Pays? rules
(registration on the day, else residence), and people registered outside the ICS marked and left out of its
denominators. Hand-worked: G82100 is a Kent and Medway practice, A81001 one in the North East; RPA02 is
Medway Maritime Hospital, RJ122 Guy's (London); E07000105 is Ashford, E09000022 Lambeth."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from icsys.dataset.store import Store
from icsys.performance.frame import registered_on
from icsys.population.measures import registered
from support.extracts import load, write
from support.extracts import rows as sql

PEOPLE = ("person_id,sex,birth_date,ethnicity,practice_code,registration_start\n"
          "1,F,1950-03-01,A,G82100,2000-01-01\n"
          "2,M,1988-09-01,H,A81001,2010-05-05\n"
          "3,F,1960-06-01,A,A81001,2024-07-01\n")
REGISTRATIONS = ("registration_id,person_id,practice_code,registration_start,registration_end\n"
                 "1,1,G82100,2000-01-01,\n2,2,A81001,2010-05-05,\n"
                 "3,3,G82100,2000-01-01,2024-07-01\n4,3,A81001,2024-07-01,\n")
AE = ("attendance_id,person_id,site_code,department_type,arrival_time,departure_time,arrival_mode,acuity,disposal\n"
      "1,1,RJ122,1,2025-01-06 10:00:00,2025-01-06 13:30:00,walk_in,3,discharged\n"
      "2,2,RPA02,1,2025-01-06 10:00:00,2025-01-06 13:30:00,walk_in,3,discharged\n"
      "3,3,RPA02,1,2024-03-10 10:00:00,2024-03-10 13:30:00,walk_in,3,discharged\n"
      "4,3,RPA02,1,2025-01-06 10:00:00,2025-01-06 13:30:00,walk_in,3,discharged\n")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    db = tmp_path / "s.duckdb"
    load(db, "person", write(tmp_path / "people.csv", PEOPLE))
    load(db, "gp_registration", write(tmp_path / "regs.csv", REGISTRATIONS))
    return db


def test_people_registered_outside_are_kept_and_marked(db: Path) -> None:
    assert sql(db, "SELECT person_id, practice_code, in_ics_population FROM person ORDER BY 1") == \
        [(1, "G82100", True), (2, "A81001", False), (3, "A81001", False)]
    assert sql(db, "SELECT registration_id, practice_in_ics FROM gp_registration ORDER BY 1") == \
        [(1, True), (2, False), (3, True), (4, False)]


def test_activity_outside_is_kept_and_the_commissioner_decided_by_registration_on_the_day(db: Path,
                                                                                         tmp_path: Path) -> None:
    report = load(db, "ae_attendance", write(tmp_path / "ae.csv", AE))
    assert report.loaded == {"ae_attendance": 4}
    # 1: an ICS patient at Guy's; 2: a North East patient at Medway; 3, 4: before and after person 3 moved away
    assert sql(db, "SELECT attendance_id, provider_in_ics, commissioned_by_ics FROM ae_attendance ORDER BY 1") == \
        [(1, False, True), (2, True, False), (3, True, True), (4, True, False)]
    assert (report.rows_outside_provider, report.rows_not_commissioned) == (1, 2)
    assert "1 row(s) at providers outside the ICS" in report.to_text()


def test_a_site_code_of_no_ods_form_is_still_refused(db: Path, tmp_path: Path) -> None:
    from icsys.dataset.ingest import LoadRejected

    bad = AE.splitlines()[0] + "\n9,1,RJ1,1,2025-01-06 10:00:00,2025-01-06 13:30:00,walk_in,3,discharged\n"
    with pytest.raises(LoadRejected) as caught:
        load(db, "ae_attendance", write(tmp_path / "bad.csv", bad))
    assert "'RJ1' is not a site of" in caught.value.report.problems[0].reason
    assert "nor the ODS code of one outside it" in caught.value.report.problems[0].reason


def test_denominators_leave_out_people_registered_outside(db: Path) -> None:
    with Store.open(db) as store:
        assert sorted(registered(store.backend, date(2025, 1, 1)).person_id.execute()) == [1]
        assert sorted(registered(store.backend, date(2024, 3, 1)).person_id.execute()) == [1, 3]
        person = store.table("person")
        counted = person.filter(registered_on(person, date(2025, 1, 1))).person_id.execute()
        assert sorted(counted) == [1]


def test_an_extract_without_a_registration_is_the_ics_s_by_its_practice_else_residence(db: Path,
                                                                                      tmp_path: Path) -> None:
    """People new to the store (tokens, --link create), so no registration in the store: HES GPPRAC decides,
    else RESLADST_ONS; neither known gives no answer."""
    header = ("TOKEN_PERSON_ID,EPIORDER,EPISTART,PROCODE3,SITETRET,ADMIDATE,ADMITIME,DISDATE,DISTIME,ADMIMETH,"
              "CLASSPAT,TRETSPEF,DIAG_4_01,DISDEST,GPPRAC,RESLADST_ONS\n")
    rows = ["T1,1,2025-03-01,RPA,RPA02,2025-03-01,0930,2025-03-02,1000,21,1,300,I500,19,G82100,E09000022",
            "T2,1,2025-03-01,RPA,RPA02,2025-03-01,0930,2025-03-02,1000,21,1,300,I500,19,V81999,E07000105",
            "T3,1,2025-03-01,RPA,RPA02,2025-03-01,0930,2025-03-02,1000,21,1,300,I500,19,&,E09000022",
            "T4,1,2025-03-01,RJ1,RJ122,2025-03-01,0930,2025-03-02,1000,21,1,300,I500,19,,"]
    report = load(db, None, write(tmp_path / "apc.csv", header + "\n".join(rows) + "\n"), fmt="hes-apc",
                  link="create", source="hes")
    assert report.loaded == {"inpatient_spell": 4}
    assert sql(db, "SELECT l.key_value, s.provider_in_ics, s.commissioned_by_ics FROM inpatient_spell s JOIN "
               "person_link l USING (person_id) ORDER BY 1") == \
        [("T1", True, True), ("T2", True, True), ("T3", True, False), ("T4", False, None)]


def test_without_a_registration_history_the_latest_registration_decides(tmp_path: Path) -> None:
    """No gp_registration: each person's latest registration (person) is the only one; person 3's began on
    2024-07-01, so on 2024-03-10 no registration is known and no commissioner is given."""
    db = tmp_path / "s.duckdb"
    load(db, "person", write(tmp_path / "people.csv", PEOPLE))
    load(db, "ae_attendance", write(tmp_path / "ae.csv", AE))
    assert sql(db, "SELECT attendance_id, provider_in_ics, commissioned_by_ics FROM ae_attendance ORDER BY 1") == \
        [(1, False, True), (2, True, False), (3, True, None), (4, True, False)]


def test_provider_coded_activity_outside_is_kept_and_flagged(db: Path, tmp_path: Path) -> None:
    """RTT, mental health, community, cancer, diagnostics and ambulance records name a provider, not a site:
    RWF (Maidstone and Tunbridge Wells) and RXY (Kent and Medway mental health) are the ICS's; RJ1 (Guy's and
    St Thomas') and RV5 (South London and Maudsley) are not, and are kept with provider_in_ics false. A
    provider code of no ODS form is still refused."""
    rtt = ("pathway_id,person_id,provider_code,specialty,clock_start,clock_stop\n"
           "1,1,RWF,110,2025-01-06,\n2,1,RJ1,110,2025-01-06,2025-02-01\n3,2,RWF,110,2025-01-06,\n")
    report = load(db, "rtt_pathway", write(tmp_path / "rtt.csv", rtt))
    assert report.loaded == {"rtt_pathway": 3}
    assert sql(db, "SELECT pathway_id, provider_in_ics, commissioned_by_ics FROM rtt_pathway ORDER BY 1") == \
        [(1, True, True), (2, False, True), (3, True, False)]
    assert (report.rows_outside_provider, report.rows_not_commissioned) == (1, 1)
    mh = ("referral_id,person_id,provider_code,service,referral_date\n"
          "1,1,RXY,crisis,2025-01-06\n2,1,RV5,eating_disorder,2025-01-07\n")
    load(db, "mental_health_referral", write(tmp_path / "mh.csv", mh))
    assert sql(db, "SELECT referral_id, provider_in_ics FROM mental_health_referral ORDER BY 1") == \
        [(1, True), (2, False)]
    from icsys.dataset.ingest import LoadRejected

    with pytest.raises(LoadRejected) as caught:
        load(db, "rtt_pathway", write(tmp_path / "bad.csv", rtt.splitlines()[0] + "\n9,1,RW,110,2025-01-06,\n"))
    assert "'RW' is not a provider of" in caught.value.report.problems[0].reason
