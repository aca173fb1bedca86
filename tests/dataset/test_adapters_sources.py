"""ECDS, GP data (coded events, medicines, registration history), MHSDS and adult social care Client Level Data
in their own layouts, each a mapping file; the answers were worked by hand from tests/fixtures/extracts/."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from icsys.dataset.ingest import LoadRejected
from icsys.dataset.schema import COMMUNITY_SERVICE, MENTAL_HEALTH_SERVICE
from support.extracts import load, rows, store_with_people

EXTRACTS = Path(__file__).parents[1] / "fixtures" / "extracts"
MAPPINGS = Path(__file__).parents[2] / "src" / "icsys" / "dataset" / "adapters" / "mappings"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return store_with_people(tmp_path)


def test_ecds_snomed_codes_and_times(store: Path) -> None:
    assert load(store, None, EXTRACTS / "ecds.csv", fmt="ecds").loaded == {"ae_attendance": 2}
    got = rows(store, "SELECT attendance_id, person_id, department_type, arrival_time::VARCHAR, "
                      "initial_assessment_time::VARCHAR, treatment_time::VARCHAR, departure_time::VARCHAR, "
                      "arrival_mode, acuity, chief_complaint, diagnosis, disposal FROM ae_attendance "
                      "ORDER BY attendance_id")
    assert got == [
        (901, 1, "1", "2025-05-01 10:15:00", "2025-05-01 10:25:00", "2025-05-01 11:40:00", "2025-05-01 14:05:00",
         "ambulance", "3", "29857009", "22298006", "admitted"),
        # no departure date: 75 minutes after arrival; own transport; low acuity; discharged home
        (902, 2, "3", "2025-05-02 09:30:00", None, None, "2025-05-02 10:45:00", "walk_in", "5", None, None,
         "discharged"),
    ]


def test_ecds_unknown_snomed_code_named_as_written(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "ecds.csv"
    text = (EXTRACTS / "ecds.csv").read_text(encoding="utf-8").replace("1077241000000103", "12345678")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LoadRejected) as caught:
        load(store, None, path, fmt="ecds")
    [problem] = caught.value.report.problems
    assert (problem.row, problem.field) == (2, "ACUITY")
    assert problem.reason.startswith("'12345678' is not a code of ECDS EMERGENCY CARE ACUITY (SNOMED CT) (codes: "
                                     "1077251000000100 Immediate resuscitation level")


def test_gp_events_medicines_and_registration_history(store: Path) -> None:
    report = load(store, None, EXTRACTS / "gp_events.csv", fmt="gp-events")
    assert report.loaded == {"clinical_event": 2}
    assert [p.field for p in report.problems] == ["DATE"]  # the null date 1900-01-01, read as missing
    assert rows(store, "SELECT event_id, person_id, event_date::VARCHAR, snomed_code, value FROM clinical_event "
                       "ORDER BY event_id") == [(1, 1, "2025-01-10", "271649006", 142.0),
                                                (2, 1, "2024-03-02", "44054006", None)]
    assert load(store, None, EXTRACTS / "gp_medicines.csv", fmt="gp-medicines").loaded == {"medication": 1}
    assert rows(store, "SELECT person_id, issue_date::VARCHAR, dmd_code, quantity, practice_code FROM medication"
                ) == [(2, "2025-02-01", "39720311000001101", 28.0, "G82101")]
    load(store, None, EXTRACTS / "gp_registration.csv", fmt="gp-registration")
    load(store, None, EXTRACTS / "gp_registration.csv", fmt="gp-registration", allow_rejects=True)
    got = rows(store, "SELECT registration_id, person_id, practice_code, registration_start::VARCHAR, "
                      "registration_end::VARCHAR FROM gp_registration ORDER BY registration_id")
    # a change of practice is a second registration, not an overwrite of the first; a history loaded again is
    # appended as it stands (superseding restated records is the refreshes' work, not the layout's)
    assert got[:2] == [(1, 1, "G82100", "2000-01-01", "2024-06-30"), (2, 1, "G82103", "2024-07-01", None)]
    assert [r[0] for r in got] == [1, 2, 3, 4]


def test_mhsds_referrals(store: Path) -> None:
    """Team types as MHSDS codes them: A13 is psychological therapy outside Talking Therapies (which has a data
    set of its own), so a core community service; C10 eating disorders, A19 the 24/7 crisis line, F01 a
    mental health support team in schools, Z02 any other service: every code of the value set loads."""
    assert load(store, None, EXTRACTS / "mhsds.csv", fmt="mhsds").loaded == {"mental_health_referral": 6}
    assert rows(store, "SELECT person_id, provider_code, service, referral_date::VARCHAR, discharge_date::VARCHAR "
                       "FROM mental_health_referral ORDER BY referral_id") == [
        (1, "RXY", "community_mental_health", "2025-01-05", "2025-04-02"), (2, "RXY", "eip", "2025-02-01", None),
        (1, "RXY", "eating_disorder", "2025-03-02", None), (2, "RXY", "crisis", "2025-03-04", "2025-03-05"),
        (1, "RXY", "community_mental_health", "2025-03-10", None),
        (2, "RXY", "other_mental_health", "2025-03-11", None)]


def test_mhsds_value_set_is_whole() -> None:
    """Every MHSDS team type maps to a service of the schema (none to a value the table would refuse)."""
    spec = tomllib.loads((MAPPINGS / "mhsds.toml").read_text())["values"]["SERVICE_OR_TEAM_TYPE"]
    assert set(spec["codes"]) == set(spec["to"])
    assert set(spec["to"].values()) <= set(MENTAL_HEALTH_SERVICE) - {"talking_therapies"}
    published = {"A02", "A06", "A11", "A14", "A18", "A19", "B01", "C02", "C10", "E01", "F01", "Z01", "Z02"}
    assert published <= set(spec["to"])


def test_adult_social_care_client_level_data(store: Path) -> None:
    assert load(store, None, EXTRACTS / "ascc_cld.csv", fmt="ascc").loaded == {"social_care_package": 2}
    assert rows(store, "SELECT person_id, council_code, service_type, request_date::VARCHAR, start_date::VARCHAR, "
                       "weekly_hours, care_home_code FROM social_care_package ORDER BY package_id") == [
        (1, "E10000016", "domiciliary", "2025-01-02", "2025-01-10", 14.0, None),
        # no request date: the service's start stands in for it
        (2, "E06000035", "residential", "2025-02-01", "2025-02-01", None, "CH0001")]


def test_csds_care_contacts(store: Path) -> None:
    """CYP201 contacts with their CYP101 referral and CYP102 team type: 51 (crisis response intermediate care)
    is the 2-hour urgent community response, 12 district nursing, 26 physiotherapy (therapy); HES-style
    YYYYMMDD dates and HHMM times are read too, and a missing time is midnight."""
    report = load(store, None, EXTRACTS / "csds.csv", fmt="csds")
    assert report.loaded == {"community_contact": 3}
    assert rows(store, "SELECT contact_id, person_id, provider_code, service, referral_time::VARCHAR, "
                       "contact_time::VARCHAR, end_date::VARCHAR FROM community_contact ORDER BY contact_id") == [
        (1, 1, "RYY", "urgent_community_response", "2025-01-06 09:10:00", "2025-01-06 10:40:00", "2025-01-07"),
        (2, 2, "RYY", "district_nursing", "2025-01-03 00:00:00", "2025-01-09 00:00:00", None),
        (3, 2, "RYY", "therapy", "2025-01-10 00:00:00", "2025-01-14 13:30:00", "2025-03-31")]


def test_csds_team_types_are_all_held_and_unknown_codes_named_in_csds_terms(store: Path, tmp_path: Path) -> None:
    """33 (speech and language therapy) is therapy, 16 (health visiting) a children's service, 45 an
    integrated team: every CSDS team type loads; a code outside the value set is named with the CSDS label."""
    text = (EXTRACTS / "csds.csv").read_text(encoding="utf-8").splitlines()
    good = tmp_path / "good.csv"
    good.write_text("\n".join([text[0], text[1].replace(",51,", ",33,"), text[2].replace(",12,", ",16,"),
                               text[3].replace(",26,", ",45,")]) + "\n", encoding="utf-8")
    assert load(store, None, good, fmt="csds").loaded == {"community_contact": 3}
    assert [r[0] for r in rows(store, "SELECT service FROM community_contact ORDER BY contact_id")] == [
        "therapy", "children_and_families", "integrated_team"]
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([text[0], text[2].replace(",12,", ",99,")]) + "\n", encoding="utf-8")
    with pytest.raises(LoadRejected) as caught:
        load(store, None, bad, fmt="csds")
    found = {p.row: (p.field, p.reason) for p in caught.value.report.problems}
    assert found[1][0] == "TeamType" and found[1][1].startswith("'99' is not a code of CSDS SERVICE OR TEAM TYPE")


def test_csds_value_set_is_whole() -> None:
    """The CSDS v1.6 team types (01-58 but for the retired 08, 18, 22 and 28) each map to a service."""
    spec = tomllib.loads((MAPPINGS / "csds.toml").read_text())["values"]["SERVICE_OR_TEAM_TYPE"]
    expected = {f"{n:02d}" for n in range(1, 59)} - {"08", "18", "22", "28"}
    assert set(spec["codes"]) == set(spec["to"]) == expected
    assert set(spec["to"].values()) <= set(COMMUNITY_SERVICE)


def test_csds_times_written_as_timestamps_are_read_as_times_of_day(store: Path, tmp_path: Path) -> None:
    """NHS England's CSDS model holds Contact_Time as a timestamp of 1 January 1970 and
    ReferralRequest_ReceivedTime as a timestamp of the referral's day; an extract written from it carries
    those, with a space or an ISO 'T': the time of day is the part after the date."""
    text = (EXTRACTS / "csds.csv").read_text(encoding="utf-8").splitlines()
    first = text[1].replace(",09:10:00,", ",2025-01-06 09:10:00,").replace(",10:40:00,", ",1970-01-01T10:40:00,")
    path = tmp_path / "csds.csv"
    path.write_text("\n".join([text[0], first]) + "\n", encoding="utf-8")
    assert load(store, None, path, fmt="csds").loaded == {"community_contact": 1}
    assert rows(store, "SELECT referral_time::VARCHAR, contact_time::VARCHAR FROM community_contact") == [
        ("2025-01-06 09:10:00", "2025-01-06 10:40:00")]
