# ruff: noqa: E501 -- the tables are drawn as wide as their columns
"""Spec tests of the measure engine: tiny hand-drawn tables, and the numerator and denominator each
standard's published definition gives for them (4 hours or less from arrival; RTT waits in completed
weeks at the month-end census; 0-29 days for a readmission; caseness for Talking Therapies ...)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from spec_tables import ENGINES, OnSpark, build, measure_on

MARCH = (date(2025, 3, 1), date(2025, 3, 31))
ENGINE: list[str | OnSpark] = ["duckdb"]  # the engine of the running test, set by the fixture below


@pytest.fixture(autouse=True, params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Every spec runs on every engine, as ehrQL's do: the same tables and expectations on DuckDB and Spark."""
    ENGINE[0] = OnSpark(request.getfixturevalue("spark")) if request.param == "spark" else request.param
    return request.param


def measure_store(db: Path, **asked):
    return measure_on(ENGINE[0], db, **asked)


def measured(db: Path, standard: str, org: str = "QKS", period: str = "month",
             start: date = MARCH[0], end: date = MARCH[1]) -> dict[str, tuple[float, float, float]]:
    rows = measure_store(db, standards=[standard], org=org, period=period, start=start, end=end)
    return {r.period: (r.numerator, r.denominator, r.value) for r in rows.itertuples()}


def march(db: Path, standard: str, org: str = "QKS") -> tuple[float, float, float]:
    return measured(db, standard, org)["2025-03-01"]


# --- A&E ---------------------------------------------------------------------------------------------

AE = """
  person_id | site_code | department_type | arrival_time        | departure_time      | decision_to_admit_time
  1         | RPA02     | 1               | 2025-03-01 10:00:00 | 2025-03-01 14:00:00 |
  2         | RPA02     | 1               | 2025-03-01 10:00:00 | 2025-03-01 14:00:01 |
  3         | RPA02     | 1               | 2025-03-31 23:00:00 | 2025-04-01 11:00:00 |
  4         | RPA02     | 1               | 2025-03-02 08:00:00 | 2025-03-02 20:00:01 | 2025-03-02 08:00:00
  5         | RPA10     | 3               | 2025-03-05 09:00:00 | 2025-03-05 10:00:00 |
  6         | RPA02     | 1               | 2025-02-28 23:59:59 | 2025-03-01 01:00:00 |
"""


def test_four_hours_or_less_from_arrival_counts_in_the_month_of_arrival(tmp_path: Path) -> None:
    db = build(tmp_path, ae_attendance=AE)
    # 4:00:00 is within; 4:00:01 is not; the 31 March arrival counts in March; type 3 only in all types
    assert march(db, "ae_4h")[:2] == (2, 5)  # people 1 and 5 within; 1-5 arrived in March
    assert march(db, "ae_4h_type1")[:2] == (1, 4)
    assert march(db, "ae_4h")[2] == pytest.approx(40.0)
    assert march(db, "ae_4h", org="RPA10")[:2] == (1, 1)  # the UTC site
    assert march(db, "ae_4h", org="RPA")[:2] == (2, 5)  # the trust: both its sites
    assert measured(db, "ae_4h", start=date(2025, 2, 1))["2025-02-01"][:2] == (1, 1)


def test_twelve_hours_from_arrival_and_from_decision_to_admit(tmp_path: Path) -> None:
    db = build(tmp_path, ae_attendance=AE)
    assert march(db, "ae_12h")[:2] == (1, 4)  # 12:00:00 is not over 12 hours; 12:00:01 is
    assert march(db, "ae_dta_12h")[:2] == (1, 1)


def test_targets_are_the_thresholds_in_force(tmp_path: Path) -> None:
    db = build(tmp_path, ae_attendance=AE)
    rows = measure_store(db, standards=["ae_4h"], org="QKS", start=date(2024, 3, 1), end=date(2025, 4, 30))
    target = dict(zip(rows.period, rows.target, strict=True))
    assert target["2024-03-01"] == 76 and target["2025-03-01"] == 78 and target["2025-04-01"] == 78
    type1 = measure_store(db, standards=["ae_4h_type1"], org="QKS", start=date(2025, 3, 1), end=date(2025, 3, 31))
    assert type1.target.isna().all()  # no standard or target is set for type 1 alone
    twelve = measure_store(db, standards=["ae_12h"], org="QKS", start=date(2025, 3, 1), end=date(2025, 3, 31))
    assert twelve.target.isna().all()  # RCEM's 2 % is a recommendation, not a target


TIMED = """
  person_id | site_code | department_type | arrival_time        | initial_assessment_time | treatment_time      | departure_time
  1         | RPA02     | 1               | 2025-03-01 10:00:00 | 2025-03-01 10:15:00     | 2025-03-01 11:00:00 | 2025-03-01 12:00:00
  2         | RPA02     | 1               | 2025-03-01 10:00:00 | 2025-03-01 10:15:01     | 2025-03-01 12:00:00 | 2025-03-01 13:00:00
  3         | RPA02     | 1               | 2025-03-02 10:00:00 | 2025-03-02 10:05:00     | 2025-03-02 13:30:00 | 2025-03-02 14:00:00
  4         | RPA02     | 1               | 2025-03-02 10:00:00 |                         |                     | 2025-03-02 11:00:00
  5         | RPA10     | 3               | 2025-03-02 10:00:00 | 2025-03-02 10:01:00     | 2025-03-02 10:10:00 | 2025-03-02 11:00:00
"""


def test_initial_assessment_within_15_minutes_and_median_time_to_treatment(tmp_path: Path) -> None:
    db = build(tmp_path, ae_attendance=TIMED)
    # type 1 with an assessment time: 1 (15:00, within), 2 (15:01, not), 3 (5 minutes); 4 has none; 5 is type 3
    assert march(db, "ae_initial_assessment_15m")[:2] == (2, 3)
    # minutes to treatment 60, 120 and 210: the median is 120
    _, n, median = march(db, "ae_time_to_treatment")
    assert (n, median) == (3, pytest.approx(120))
    assert march(db, "ae_time_to_treatment", org="RPA")[1:] == (3, pytest.approx(120))  # the trust, its sites'
    daily = measured(db, "ae_time_to_treatment", org="RPA02", period="day", start=date(2025, 3, 1),
                     end=date(2025, 3, 2))
    assert daily["2025-03-01"][1:] == (2, pytest.approx(90)) and daily["2025-03-02"][1:] == (1, pytest.approx(210))


# --- ambulance ---------------------------------------------------------------------------------------

def _ambulance() -> str:
    rows = ["person_id | category | call_time | on_scene_time | conveyed | provider_code"]
    for minute in range(1, 11):  # category 1 responses of 1, 2, ..., 10 minutes
        rows.append(f"{minute} | 1 | 2025-03-10 12:00:00 | 2025-03-10 12:{minute:02d}:00 | false | RYD")
    rows.append("11 | 1 | 2025-03-10 12:00:00 | | false | RYD")  # no response: not counted
    rows.append("12 | 2 | 2025-03-10 12:00:00 | 2025-03-10 12:40:00 | false | RYD")
    return "\n".join(rows)


def test_response_mean_and_90th_centile(tmp_path: Path) -> None:
    db = build(tmp_path, ambulance_incident=_ambulance())
    assert march(db, "amb_c1_mean") == (55, 10, 5.5)
    _, n, p90 = march(db, "amb_c1_90th")
    assert n == 10 and p90 == pytest.approx(9.1)  # continuous: 9 + 0.1 x (10 - 9)
    assert march(db, "amb_c2_mean") == (40, 1, 40)
    assert march(db, "amb_c1_mean", org="RYD")[:2] == (55, 10)


HANDOVER = """
  person_id | category | call_time        | conveyed | site_code | hospital_arrival_time | handover_time       | provider_code
  1         | 2        | 2025-03-03 10:00 | true     | RPA02     | 2025-03-03 10:30:00   | 2025-03-03 11:00:00 | RYD
  2         | 2        | 2025-03-03 10:00 | true     | RPA02     | 2025-03-03 10:30:00   | 2025-03-03 11:00:01 | RYD
  3         | 2        | 2025-03-03 10:00 | true     | RN707     | 2025-03-03 10:30:00   | 2025-03-03 11:31:00 | RYD
  4         | 2        | 2025-03-03 10:00 | true     | RN707     | 2025-03-03 10:30:00   | 2025-03-03 10:40:00 | RYD
"""


def test_handovers_over_30_and_60_minutes(tmp_path: Path) -> None:
    db = build(tmp_path, ambulance_incident=HANDOVER)
    assert march(db, "amb_handover_30")[:2] == (2, 4)  # exactly 30 minutes is not over
    assert march(db, "amb_handover_60")[:2] == (1, 4)
    assert march(db, "amb_handover_30", org="RN7")[:2] == (1, 2)  # counted at the receiving hospital
    assert march(db, "amb_handover_mean")[2] == pytest.approx((30 + 30 + 1 / 60 + 61 + 10) / 4)


def test_handovers_within_15_and_over_45_minutes(tmp_path: Path) -> None:
    db = build(tmp_path, ambulance_incident="""
      person_id | category | call_time        | conveyed | site_code | hospital_arrival_time | handover_time       | provider_code
      1         | 2        | 2025-03-03 10:00 | true     | RPA02     | 2025-03-03 10:30:00   | 2025-03-03 10:45:00 | RYD
      2         | 2        | 2025-03-03 10:00 | true     | RPA02     | 2025-03-03 10:30:00   | 2025-03-03 10:45:01 | RYD
      3         | 2        | 2025-03-03 10:00 | true     | RPA02     | 2025-03-03 10:30:00   | 2025-03-03 11:15:00 | RYD
      4         | 2        | 2025-03-03 10:00 | true     | RPA02     | 2025-03-03 10:30:00   | 2025-03-03 11:15:01 | RYD
    """)
    assert march(db, "amb_handover_15")[:2] == (1, 4)  # 15:00 is within, 15:01 is not
    assert march(db, "amb_handover_45")[:2] == (1, 4)  # 45:00 is not over, 45:01 is


def test_two_hour_urgent_community_response(tmp_path: Path) -> None:
    db = build(tmp_path, community_contact="""
      person_id | provider_code | service                   | referral_time       | contact_time
      1         | RYY           | urgent_community_response | 2025-03-04 09:00:00 | 2025-03-04 11:00:00
      2         | RYY           | urgent_community_response | 2025-03-04 09:00:00 | 2025-03-04 11:00:01
      3         | RYY           | district_nursing          | 2025-03-04 09:00:00 | 2025-03-04 09:30:00
    """)
    assert march(db, "ucr_2h")[:2] == (1, 2)


# --- hospital flow -----------------------------------------------------------------------------------

SPELLS = """
  spell_id | person_id | site_code | admission_time      | ready_for_discharge_time | discharge_time      | admission_method | patient_classification | specialty | primary_diagnosis | discharge_destination
  1        | 1         | RPA02     | 2025-03-01 10:00:00 | 2025-03-03 12:00:00      | 2025-03-05 09:00:00 | 21               | 1                      | 300       | J18.9             | 19
  2        | 2         | RPA02     | 2025-03-10 15:00:00 |                          | 2025-03-10 18:00:00 | 21               | 1                      | 300       | R07.4             | 19
  3        | 2         | RPA02     | 2025-04-08 10:00:00 |                          | 2025-04-09 10:00:00 | 22               | 1                      | 300       | R07.4             | 19
  4        | 3         | RN707     | 2025-03-02 09:00:00 |                          | 2025-03-02 17:00:00 | 11               | 2                      | 100       | K80.2             | 19
  5        | 3         | RN707     | 2025-04-01 09:00:00 |                          | 2025-04-02 09:00:00 | 21               | 1                      | 300       | J18.9             | 19
  6        | 4         | RPA02     | 2025-03-20 09:00:00 |                          | 2025-03-25 09:00:00 | 21               | 1                      | 300       | C34.9             | 19
  7        | 4         | RPA02     | 2025-03-26 09:00:00 |                          | 2025-03-27 09:00:00 | 21               | 1                      | 300       | J18.9             | 79
"""


def test_readmission_within_30_days_of_discharge(tmp_path: Path) -> None:
    db = build(tmp_path, inpatient_spell=SPELLS)
    # index discharges in March: 1, 2 (readmitted after 29 days: counted), 4 (readmitted after 30 days:
    # not counted). 6 has cancer as its primary diagnosis and 7 ended in death: not index spells.
    assert march(db, "readmission_30d")[:2] == (1, 3)


def test_length_of_stay_of_emergency_admissions_of_a_night_or_more(tmp_path: Path) -> None:
    db = build(tmp_path, inpatient_spell=SPELLS)
    # discharged in March, emergency, one night or more: 1 (4 days), 6 (5 days), 7 (1 day); 2 is same day
    assert march(db, "length_of_stay") == (10, 3, pytest.approx(10 / 3))


def test_delayed_discharges_and_bed_occupancy_at_the_midnight_census(tmp_path: Path) -> None:
    db = build(tmp_path, inpatient_spell=SPELLS)
    # spell 1 is in hospital at the midnights opening 2, 3, 4 and 5 March; past ready at those of 4 and 5
    assert march(db, "delayed_discharge_patients", org="RPA02") == (2, 31, pytest.approx(2 / 31))
    bed_days = (2 * 24 - 3) / 24  # 3 March 12:00 to 5 March 09:00
    assert march(db, "delayed_discharge_bed_days", org="RPA02")[0] == pytest.approx(bed_days)
    occupied = (4 * 24 - 1) / 24 + 3 / 24 + 5 + 1  # spells 1, 2, 6 and 7
    assert march(db, "delayed_transfer_rate", org="RPA02")[:2] == (pytest.approx(bed_days), pytest.approx(occupied))
    # occupancy: spell 1 at 4 midnights, 6 at 5, 7 at 1; 540 general and acute beds a day
    assert march(db, "bed_occupancy", org="RPA02")[:2] == (10, 540 * 31)


def test_g_and_a_occupancy_leaves_maternity_to_its_own_beds(tmp_path: Path) -> None:
    db = build(tmp_path, inpatient_spell=SPELLS + """
  8        | 5         | RPA02     | 2025-03-10 09:00:00 |                          | 2025-03-12 09:00:00 | 31               | 1                      | 501       | O80.0             | 19
  9        | 6         | RPA02     | 2025-03-10 09:00:00 |                          | 2025-03-11 09:00:00 | 21               | 1                      | 501       | O20.0             | 19
""")
    # spells 8 (maternity admission, 2 midnights) and 9 (an emergency under obstetrics, 1 midnight) lie in
    # maternity beds: G&A occupancy is the 10 midnights of spells 1, 6 and 7 over 540 G&A beds, as before
    assert march(db, "bed_occupancy", org="RPA02")[:2] == (10, 540 * 31)
    assert march(db, "bed_occupancy_maternity", org="RPA02")[:2] == (3, 50 * 31)  # Medway's 50 maternity beds
    assert march(db, "bed_occupancy_maternity", org="RPA")[:2] == (3, 50 * 31)
    assert march(db, "delayed_discharge_bed_share", org="RPA02")[:2] == (2, 540 * 31)


def test_emergency_admissions_per_1000_person_years(tmp_path: Path) -> None:
    db = build(tmp_path, inpatient_spell=SPELLS, person="""
      person_id | practice_code | registration_start | registration_end
      1         | G82100        | 2000-01-01         |
      2         | G82100        | 2000-01-01         |
      3         | G82100        | 2025-03-02         |
      4         | G82187        | 2000-01-01         |
      5         | G82187        | 2000-01-01         | 2025-03-01
    """)
    # registered on 1 March: 1, 2, 4 (3 joins on the 2nd; 5 leaves on the 1st). Emergency admissions in
    # March: spells 1, 2, 6, 7.
    num, den, value = march(db, "emergency_admissions_rate")
    assert (num, den) == (4, pytest.approx(3 * 31 / 365.25))
    assert value == pytest.approx(1000 * 4 / (3 * 31 / 365.25))
    assert march(db, "emergency_admissions_rate", org="G82187")[:2] == (2, pytest.approx(31 / 365.25))
    assert march(db, "emergency_admissions_rate", org="MS")[:2] == (2, pytest.approx(31 / 365.25))  # its ICP
    assert march(db, "emergency_admissions_rate", org="EK")[:2] == (2, pytest.approx(2 * 31 / 365.25))


# --- planned care ------------------------------------------------------------------------------------

RTT = """
  person_id | provider_code | specialty | clock_start | clock_stop
  1         | RPA           | 110       | 2024-11-26  |
  2         | RPA           | 110       | 2024-11-25  |
  3         | RPA           | 110       | 2024-01-01  | 2025-03-31
  4         | RPA           | 110       | 2025-04-01  |
  5         | RPA           | 110       | 2024-01-01  | 2025-04-15
  6         | RPA           | 110       | 2024-04-01  |
  7         | RWF           | 110       | 2025-03-31  |
"""


def test_rtt_waits_in_completed_weeks_at_the_month_end_census(tmp_path: Path) -> None:
    db = build(tmp_path, rtt_pathway=RTT)
    # census 31 March 2025. Waiting: 1 (125 days = 17 weeks: within 18), 2 (126 days = 18 weeks: not),
    # 5 (stopped after the census: 455 days), 6 (364 days = 52 weeks), 7 (0 days). 3 stopped on the
    # census day and 4 started after it.
    assert march(db, "rtt_18w")[:2] == (2, 5)
    assert march(db, "rtt_52w")[:2] == (2, 5)  # 5 and 6
    assert march(db, "rtt_65w")[:2] == (1, 5)
    assert march(db, "rtt_18w", org="RPA")[:2] == (1, 4)
    weekly = measured(db, "rtt_18w", period="week", start=date(2025, 3, 24), end=date(2025, 3, 30))
    assert weekly["2025-03-24"][:2] == (2, 5)  # census Sunday 30 March: 1 waited 124 days, 2 125, 3 waits


def test_diagnostics_within_6_weeks(tmp_path: Path) -> None:
    db = build(tmp_path, diagnostic_wait="""
      person_id | provider_code | test | request_date | test_date
      1         | RPA           | mri  | 2025-02-18   |
      2         | RPA           | mri  | 2025-02-17   |
      3         | RPA           | ct   | 2025-01-01   | 2025-03-15
    """)
    assert march(db, "diagnostics_6w")[:2] == (1, 2)  # 41 days waited: within; 42 days: 6 weeks


def test_cancer_28_62_and_31_days(tmp_path: Path) -> None:
    db = build(tmp_path, cancer_pathway="""
      person_id | provider_code | tumour_group | referral_date | diagnosis_date | cancer_confirmed | decision_to_treat_date | first_treatment_date
      1         | RPA           | lung         | 2025-02-05    | 2025-03-05     | false            |                        |
      2         | RPA           | lung         | 2025-02-04    | 2025-03-05     | true             | 2025-03-10             | 2025-04-07
      3         | RPA           | breast       | 2025-01-01    | 2025-02-20     | true             | 2025-02-28             | 2025-03-04
      4         | RPA           | breast       | 2025-01-01    | 2025-02-20     | true             | 2025-02-01             | 2025-03-05
    """)
    assert march(db, "cancer_fds_28d")[:2] == (1, 2)  # 28 days: within; 29 days: not
    assert march(db, "cancer_62d")[:2] == (1, 2)  # 62 days (3) within; 63 (4) not; 2 is treated in April
    assert march(db, "cancer_31d")[:2] == (1, 2)  # 4 days (3) within; 32 days (4) not


# --- mental health, learning disability and dementia -------------------------------------------------

TALKING = """
  person_id | provider_code | service           | referral_date | first_contact_date | last_contact_date | discharge_date | sessions | phq9_first | gad7_first | phq9_last | gad7_last
  1         | RXY           | talking_therapies | 2025-01-01    | 2025-02-12         | 2025-03-01        | 2025-03-10     | 6        | 15         | 12         | 9         | 7
  2         | RXY           | talking_therapies | 2025-01-01    | 2025-02-13         | 2025-03-01        | 2025-03-10     | 6        | 10         | 5          | 10        | 5
  3         | RXY           | talking_therapies | 2025-01-01    | 2025-02-13         | 2025-03-01        | 2025-03-10     | 6        | 9          | 7          | 2         | 2
  4         | RXY           | talking_therapies | 2025-01-01    | 2025-02-13         | 2025-02-13        | 2025-03-10     | 1        | 15         | 12         |           |
  5         | RXY           | talking_therapies | 2024-10-01    | 2025-02-05         | 2025-03-01        | 2025-03-10     | 4        | 12         | 9          | 8         | 7
"""


def test_talking_therapies_waits_and_recovery(tmp_path: Path) -> None:
    db = build(tmp_path, mental_health_referral=TALKING)
    # finished a course (2+ sessions) in March: 1, 2, 3, 5. Waited 42 days: 1; 43: 2, 3; 127: 5
    assert march(db, "talking_therapies_6w")[:2] == (1, 4)
    assert march(db, "talking_therapies_18w")[:2] == (3, 4)
    # at caseness at first contact: 1, 2, 5 (3 is not); recovered: 1 and 5 (2 is still at caseness)
    assert march(db, "talking_therapies_recovery")[:2] == (2, 3)
    # reliable improvement: 1 (PHQ-9 falls 6), not 5 (PHQ-9 falls 4, GAD-7 falls 2)
    assert march(db, "talking_therapies_reliable_recovery")[:2] == (1, 3)


def test_early_intervention_in_psychosis_within_two_weeks(tmp_path: Path) -> None:
    db = build(tmp_path, mental_health_referral="""
      person_id | provider_code | service | referral_date | first_contact_date
      1         | RXY           | eip     | 2025-02-20    | 2025-03-06
      2         | RXY           | eip     | 2025-02-20    | 2025-03-07
      3         | RXY           | eip     | 2025-03-20    |
    """)
    assert march(db, "eip_2w")[:2] == (1, 2)  # 14 days: within; 15: not; 3 has not started treatment


def test_dementia_diagnosis_rate_against_cfas_ii(tmp_path: Path) -> None:
    db = build(tmp_path, person="""
      person_id | sex | birth_date | registration_start | death_date
      1         | F   | 1958-03-01 | 2000-01-01         |
      2         | F   | 1958-04-01 | 2000-01-01         |
      3         | M   | 1930-01-01 | 2000-01-01         |
      4         | M   | 1930-01-01 | 2000-01-01         | 2025-03-15
      5         | F   | 1945-06-01 | 2000-01-01         |
    """, clinical_event="""
      person_id | event_date | snomed_code | practice_code
      3         | 2020-05-01 | 52448006    | G82100
      5         | 2025-04-02 | 52448006    | G82100
    """)
    # census 31 March 2025: 1 is 67 and 2 is 66, a month before the birthday (F 65-69: 1.8 %); 3 is 95
    # (M 90+: 31.5 %) and diagnosed; 4 died before the census; 5 is 79 (F 75-79: 6.2 %), diagnosed in April
    num, den, value = march(db, "dementia_diagnosis_rate")
    assert num == 1 and den == pytest.approx(0.018 + 0.018 + 0.315 + 0.062)
    assert value == pytest.approx(100 / 0.413)


def test_annual_health_checks_in_the_year_to_the_census(tmp_path: Path) -> None:
    db = build(tmp_path, person="""
      person_id | birth_date | registration_start
      1         | 1990-01-01 | 2000-01-01
      2         | 1990-01-01 | 2000-01-01
      3         | 2012-01-01 | 2012-01-01
      4         | 1990-01-01 | 2000-01-01
    """, clinical_event="""
      person_id | event_date | snomed_code      | practice_code
      1         | 2019-01-01 | 110359009        | G82100
      1         | 2024-04-01 | 401235004        | G82100
      2         | 2019-01-01 | 110359009        | G82100
      2         | 2024-03-31 | 401235004        | G82100
      3         | 2019-01-01 | 110359009        | G82100
      4         | 2019-01-01 | 58214004         | G82100
      4         | 2025-01-10 | 1105241000000109 | G82100
    """)
    # learning disability register, 14+: 1 (check 364 days before the census: counts) and 2 (365 days
    # before: outside the year); 3 is 13
    assert march(db, "ld_health_check")[:2] == (1, 2)
    assert march(db, "smi_health_check")[:2] == (1, 1)


# --- organisations -----------------------------------------------------------------------------------

def test_a_person_belongs_to_the_place_of_their_practice(tmp_path: Path) -> None:
    db = build(tmp_path, person="""
      person_id | practice_code
      1         | G82100
      2         | G82187
    """, ae_attendance="""
      person_id | site_code | department_type | arrival_time        | departure_time
      1         | RPA02     | 1               | 2025-03-01 10:00:00 | 2025-03-01 11:00:00
      2         | RPA02     | 1               | 2025-03-01 10:00:00 | 2025-03-01 19:00:00
    """)
    assert march(db, "ae_4h", org="G82100")[:2] == (1, 1)
    assert march(db, "ae_4h", org="U60001")[:2] == (1, 1)  # its PCN
    assert march(db, "ae_4h", org="EK")[:2] == (1, 1)  # its ICP
    assert march(db, "ae_4h", org="MS")[:2] == (0, 1)
    assert march(db, "ae_4h", org="WK")[:2] == (0, 0)
    assert march(db, "ae_4h", org="WK")[2] != march(db, "ae_4h", org="WK")[2]  # no attendances: no value


def test_every_organisation_with_activity_and_every_period_is_listed(tmp_path: Path) -> None:
    db = build(tmp_path, ae_attendance=AE)
    rows = measure_store(db, standards=["ae_4h"], start=date(2025, 1, 1), end=date(2025, 3, 31))
    assert set(rows.org) == {"QKS", "EK", "U60001", "G82100", "RPA", "RPA02", "RPA10"}
    assert len(rows) == 3 * 7  # three months each, January with nothing counted
    january = rows[rows.period == "2025-01-01"]
    assert (january.denominator == 0).all() and january.value.isna().all()


# --- NHS Oversight Framework 2025/26 -----------------------------------------------------------------

def test_gp_appointments_within_two_weeks_of_booking(tmp_path: Path) -> None:
    db = build(tmp_path, gp_appointment="""
      person_id | practice_code | appointment_time    | booked_date | mode         | staff_type | status
      1         | G82100        | 2025-03-15 09:00:00 | 2025-03-01  | face_to_face | gp         | attended
      2         | G82100        | 2025-03-16 09:00:00 | 2025-03-01  | telephone    | gp         | attended
      3         | G82187        | 2025-03-16 09:00:00 | 2025-03-16  | face_to_face | nurse      | dna
      4         | G82100        | 2025-04-01 09:00:00 | 2025-03-20  | face_to_face | gp         | attended
    """)
    # 14 days after booking is within two weeks, 15 is not; 4 is an April appointment
    assert march(db, "gp_appointments_2w", org="G82100")[:2] == (1, 2)
    assert march(db, "gp_appointments_2w")[:2] == (2, 3)


def test_talking_therapies_and_children_and_young_peoples_mental_health_access(tmp_path: Path) -> None:
    db = build(tmp_path, person="""
      person_id | birth_date
      1         | 1990-01-01
      2         | 2008-03-15
      3         | 2007-03-10
    """, mental_health_referral="""
      person_id | provider_code | service                 | referral_date | first_contact_date
      1         | RXY           | talking_therapies       | 2025-02-01    | 2025-03-03
      1         | RXY           | talking_therapies       | 2025-03-01    | 2025-03-20
      1         | RXY           | talking_therapies       | 2025-03-01    |
      2         | RXY           | community_mental_health | 2025-02-01    | 2025-03-10
      2         | RXY           | crisis                  | 2025-03-01    | 2025-03-12
      3         | RXY           | community_mental_health | 2025-02-01    | 2025-03-10
    """)
    # referrals entering treatment in March: person 1's two with a first contact
    assert march(db, "talking_therapies_access")[0] == 2
    # under 18 at first contact: 2 (16, counted once for two referrals); 3 turned 18 on the day of first
    # contact; person 1 is 35
    assert march(db, "cyp_mental_health_access")[0] == 1
    assert march(db, "cyp_mental_health_access", org="RXY")[0] == 1


def test_children_and_young_people_are_counted_in_every_mhsds_service(tmp_path: Path) -> None:
    """The access measure counts a contact with any NHS-funded mental health service: an eating disorder
    service or a learning disability team counts as much as a community team."""
    db = build(tmp_path, person="""
      person_id | birth_date
      1         | 2010-06-01
      2         | 2012-01-01
      3         | 2011-05-05
    """, mental_health_referral="""
      person_id | provider_code | service                    | referral_date | first_contact_date
      1         | RXY           | eating_disorder            | 2025-02-20    | 2025-03-04
      2         | RXY           | learning_disability_autism | 2025-01-10    | 2025-03-21
      3         | RXY           | other_mental_health        | 2025-03-02    |
    """)
    assert march(db, "cyp_mental_health_access")[0] == 2  # 3 has no contact yet


def test_the_ics_figure_is_its_own_providers_and_its_own_population(tmp_path: Path) -> None:
    """Activity at a provider outside the ICS is kept (provider_in_ics false) and counts for the people's
    practice and place, but a provider's standard at the ICS adds up the ICS's own providers only, as NHS
    England adds up an ICB's; a standard of the population counts people registered at its practices."""
    db = build(tmp_path, person="""
      person_id | practice_code
      1         | G82100
      2         | G82100
      3         | Y99999
    """, ae_attendance="""
      person_id | site_code | department_type | arrival_time        | departure_time      | provider_in_ics
      1         | RPA02     | 1               | 2025-03-01 10:00:00 | 2025-03-01 11:00:00 | true
      2         | RJZ01     | 1               | 2025-03-02 10:00:00 | 2025-03-02 19:00:00 | false
      3         | RPA02     | 1               | 2025-03-03 10:00:00 | 2025-03-03 18:00:00 | true
    """)
    # the ICS's sites: persons 1 and 3 (3 is registered elsewhere, seen at an ICS site); 2 at King's is not
    assert march(db, "ae_4h")[:2] == (1, 2)
    assert march(db, "ae_4h", org="G82100")[:2] == (1, 2)  # the practice's people, wherever they were seen
    assert march(db, "ae_4h", org="EK")[:2] == (1, 2)  # and its ICP
    assert march(db, "ae_4h", org="RPA")[:2] == (1, 2)  # the trust: its own site


def test_the_ics_figure_of_a_provider_coded_standard_is_its_own_providers(tmp_path: Path) -> None:
    """A record naming a provider (mental health, RTT, community ...): RXY is the ICS's, RV5 (South London
    and Maudsley) is not, so the ICS counts RXY's referrals only."""
    db = build(tmp_path, mental_health_referral="""
      person_id | provider_code | service           | referral_date | first_contact_date | provider_in_ics
      1         | RXY           | talking_therapies | 2025-03-01    | 2025-03-03         | true
      2         | RV5           | talking_therapies | 2025-03-01    | 2025-03-04         | false
    """)
    assert march(db, "talking_therapies_access")[0] == 1
    assert march(db, "talking_therapies_access", org="RXY")[0] == 1


def test_virtual_ward_patients_at_each_midnight(tmp_path: Path) -> None:
    db = build(tmp_path, community_contact="""
      person_id | provider_code | service      | referral_time       | contact_time        | end_date
      1         | RYY           | virtual_ward | 2025-03-01 08:00:00 | 2025-03-01 10:00:00 | 2025-03-05
      2         | RYY           | virtual_ward | 2025-03-30 08:00:00 | 2025-03-30 10:00:00 |
      3         | RYY           | therapy      | 2025-03-01 08:00:00 | 2025-03-01 10:00:00 | 2025-03-20
    """)
    # 1 is on the ward at the midnights opening 2-5 March (4); 2 at those opening 31 March and 1 April,
    # the last of the month's census instants (2); 3 is not a virtual ward: 6 patient-nights over 31 days
    assert march(db, "virtual_ward_patients") == (6, 31, pytest.approx(6 / 31))


HYPERTENSION = """
  person_id | event_date | snomed_code | value | practice_code
  1         | 2015-01-01 | 59621000    |       | G82100
  1         | 2024-06-01 | 271649006   | 150   | G82100
  1         | 2025-01-10 | 271649006   | 138   | G82100
  1         | 2025-01-10 | 271650006   | 88    | G82100
  1         | 2025-04-15 | 271649006   | 170   | G82100
  2         | 2015-01-01 | 59621000    |       | G82100
  2         | 2025-02-01 | 271649006   | 145   | G82100
  2         | 2025-02-01 | 271650006   | 85    | G82100
  3         | 2015-01-01 | 59621000    |       | G82100
  3         | 2025-02-01 | 271649006   | 141   | G82100
  3         | 2025-02-01 | 271649006   | 139   | G82100
  3         | 2025-02-01 | 271650006   | 91    | G82100
  4         | 2015-01-01 | 59621000    |       | G82100
  4         | 2024-03-30 | 271649006   | 120   | G82100
  4         | 2024-03-30 | 271650006   | 70    | G82100
  5         | 2024-01-01 | 271649006   | 120   | G82100
"""


def test_hypertension_treated_to_target_and_in_the_core20(tmp_path: Path) -> None:
    db = build(tmp_path, person="""
      person_id | birth_date | imd_decile
      1         | 1960-01-01 | 1
      2         | 1940-01-01 | 2
      3         | 1960-01-01 | 5
      4         | 1960-01-01 | 1
      5         | 1960-01-01 | 1
    """, clinical_event=HYPERTENSION)
    # census 31 March 2025, register 1-4 (5 has no hypertension code). 1: latest 138/88, under 80: to target
    # (the 170 of 15 April comes after the census).
    # 2 is 85: 145/85 within 150/90. 3: lowest systolic of the day 139 but diastolic 91: not. 4: the last
    # reading is over a year old: not.
    assert march(db, "hypertension_to_target")[:2] == (2, 4)
    assert march(db, "core20_hypertension_to_target")[:2] == (2, 3)  # IMD deciles 1-2: people 1, 2 and 4
