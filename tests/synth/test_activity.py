"""Hospital, community, social care and mental health activity for one chunk of people: the schema
is kept and the published figures (../shared/reference/calibration.md) are met."""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from icsys.dataset.schema import TABLES
from icsys.synth.activity import generate_activity, resolve_discharges
from icsys.synth.context import SynthContext
from icsys.synth.generate import chunk_practices
from icsys.synth.population import generate_population
from icsys.system import load_system

SCALE = 0.02
ACTIVITY_TABLES = ("ae_attendance", "ambulance_incident", "inpatient_spell", "rtt_pathway", "outpatient_appointment",
                   "cancer_pathway", "diagnostic_wait", "community_contact", "community_bed_stay",
                   "social_care_package", "mental_health_referral")


@pytest.fixture(scope="module")
def ctx() -> SynthContext:
    return SynthContext(system=load_system(), scale=SCALE, years=3, seed=5)


@pytest.fixture(scope="module")
def pop(ctx):
    practices = [p for chunk in chunk_practices(ctx.system, SCALE) for p in chunk]
    return generate_population(ctx, 0, practices, 1)


@pytest.fixture(scope="module")
def tables(ctx, pop) -> dict[str, pa.Table]:
    return generate_activity(ctx, pop)


@pytest.fixture(scope="module")
def resolved(ctx, tables) -> tuple[pa.Table, dict[str, pa.Table]]:
    spells = tables["inpatient_spell"]
    waiting = spells["awaiting_pathway"]
    done, onward = resolve_discharges(ctx, spells.filter(waiting))
    rest = spells.filter(pc.invert(waiting))
    return pa.concat_tables([rest, done.select(rest.column_names)]), onward


@pytest.fixture(scope="module")
def con(ctx, pop, tables, resolved):
    connection = duckdb.connect()
    for name, data in tables.items():
        if name != "inpatient_spell":
            connection.register(name, data)
    connection.register("inpatient_spell", resolved[0])
    for name, data in resolved[1].items():
        connection.register(f"onward_{name}", data)
    age = pop.age_on(ctx.start_day)
    connection.register("people", pa.table({"person_id": pop.person_id, "birth_date": pop.birth_date,
                                            "age": age, "frailty": pop.frailty, "death_date": pop.death_date}))
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def person_years(ctx, pop) -> float:
    first, last = pop.alive_days(ctx.start_day, ctx.end_day)
    return float((last - first).astype(np.int64).sum() / 365.25)


def one(con, sql: str) -> float:
    return con.execute(sql).fetchone()[0]


def per_1000(con, person_years: float, table: str, where: str = "TRUE") -> float:
    return one(con, f"SELECT count(*) FROM {table} WHERE {where}") / person_years * 1000


def test_same_seed_same_tables(ctx, pop, tables) -> None:
    again = generate_activity(ctx, pop)
    for name in ACTIVITY_TABLES:
        assert again[name].equals(tables[name]), name


def test_tables_follow_the_schema(tables, resolved) -> None:
    all_tables = dict(tables) | {"inpatient_spell": resolved[0]}
    for name in ACTIVITY_TABLES:
        schema = TABLES[name]
        data = all_tables[name]
        assert set(schema.column_names) <= set(data.column_names), name
        ids = data[schema.primary_key].to_numpy()
        if name != "inpatient_spell":
            assert (np.sort(ids) == np.arange(1, len(ids) + 1)).all(), f"{name}: local ids 1..n"
        for col in schema.columns:
            values = data[col.name]
            if col.required:
                assert values.null_count == 0, f"{name}.{col.name} has nulls"
            present = pc.drop_null(values.cast(pa.string()) if col.type == "string" else values)
            if col.codes:
                assert set(pc.unique(present).to_pylist()) <= set(col.codes), f"{name}.{col.name}"
            if col.pattern:
                bad = [v for v in pc.unique(present).to_pylist() if not re.match(col.pattern, v)]
                assert not bad, f"{name}.{col.name}: {bad[:5]}"
            if col.minimum is not None and len(present):
                assert pc.min(present).as_py() >= col.minimum, f"{name}.{col.name}"
            if col.maximum is not None and len(present):
                assert pc.max(present).as_py() <= col.maximum, f"{name}.{col.name}"
        for earlier, later in schema.in_order:
            a, b = data[earlier].cast(pa.timestamp("s")), data[later].cast(pa.timestamp("s"))
            assert not pc.any(pc.greater(a, b)).as_py(), f"{name}: {earlier} after {later}"


def test_onward_tables_follow_the_schema(resolved) -> None:
    for name, data in resolved[1].items():
        schema = TABLES[name]
        assert set(schema.column_names) <= set(data.column_names)
        for earlier, later in schema.in_order:
            a, b = data[earlier].cast(pa.timestamp("s")), data[later].cast(pa.timestamp("s"))
            assert not pc.any(pc.greater(a, b)).as_py(), f"{name}: {earlier} after {later}"


def test_organisation_codes_exist_in_the_system(ctx, tables, resolved) -> None:
    system = ctx.system
    known = {"site": {s.code for s in system.site}, "provider": {p.code for p in system.provider},
             "council": {c.code for c in system.council}, "care_home": {h.code for h in system.care_home},
             "community_bed_unit": {u.code for u in system.community_bed_unit}}
    all_tables = dict(tables) | {"inpatient_spell": resolved[0]}
    for source in (all_tables, resolved[1]):
        for name, data in source.items():
            for col in TABLES[name].columns:
                if col.references and col.references.startswith("system:"):
                    codes = set(pc.unique(pc.drop_null(data[col.name].cast(pa.string()))).to_pylist())
                    assert codes <= known[col.references[7:]], f"{name}.{col.name}: {codes - known[col.references[7:]]}"


def test_foreign_keys_resolve_within_the_chunk(con) -> None:
    assert one(con, "SELECT count(*) FROM inpatient_spell WHERE attendance_id IS NOT NULL AND attendance_id NOT IN "
                    "(SELECT attendance_id FROM ae_attendance)") == 0
    assert one(con, "SELECT count(*) FROM outpatient_appointment WHERE pathway_id IS NOT NULL AND pathway_id NOT IN "
                    "(SELECT pathway_id FROM rtt_pathway)") == 0
    assert one(con, "SELECT count(*) FROM onward_community_bed_stay WHERE spell_id NOT IN "
                    "(SELECT spell_id FROM inpatient_spell WHERE discharge_pathway = 2)") == 0
    # Every admission from A&E comes from an attendance that ended in admission.
    assert one(con, "SELECT count(*) FROM inpatient_spell s JOIN ae_attendance a USING (attendance_id) "
                    "WHERE a.disposal <> 'admitted' OR s.admission_method <> '21'") == 0


def test_no_activity_after_death(con) -> None:
    for table, column in (("ae_attendance", "arrival_time"), ("inpatient_spell", "admission_time"),
                          ("inpatient_spell", "discharge_time"), ("ambulance_incident", "call_time"),
                          ("outpatient_appointment", "appointment_date"), ("community_contact", "referral_time"),
                          ("mental_health_referral", "referral_date"), ("cancer_pathway", "referral_date"),
                          ("onward_community_bed_stay", "admission_time"),
                          ("onward_social_care_package", "start_date")):
        late = one(con, f"SELECT count(*) FROM {table} t JOIN people p USING (person_id) "
                        f"WHERE p.death_date IS NOT NULL AND t.{column}::DATE > p.death_date")
        assert late == 0, f"{table}.{column}"


def test_hospital_deaths_end_in_a_spell(con, pop) -> None:
    died = one(con, "SELECT count(DISTINCT person_id) FROM inpatient_spell WHERE discharge_destination = '79'")
    expected = int(((pop.place_of_death == "hospital") & (pop.death_date >= np.datetime64("2023-04-01"))).sum())
    assert died >= 0.9 * expected


def test_urgent_care_volumes_and_mix(con, person_years) -> None:
    assert 400 <= per_1000(con, person_years, "ae_attendance") <= 540  # ~470 (NHS England A&E)
    assert 260 <= per_1000(con, person_years, "ae_attendance", "department_type = '1'") <= 340  # ~300
    assert 130 <= per_1000(con, person_years, "ambulance_incident") <= 190  # ~160
    assert 0.44 <= one(con, "SELECT avg(conveyed::INT) FROM ambulance_incident") <= 0.58  # 48-51 % to ED
    assert 0.23 <= one(con, "SELECT avg((arrival_mode = 'ambulance')::INT) FROM ae_attendance "
                            "WHERE department_type = '1'") <= 0.36
    admitted = one(con, "SELECT avg((disposal = 'admitted')::INT) FROM ae_attendance WHERE department_type = '1'")
    assert 0.23 <= admitted <= 0.33  # 28 % admitted from major A&E (King's Fund)
    by_day = dict(con.execute("SELECT isodow(arrival_time), count(*) FROM ae_attendance GROUP BY 1").fetchall())
    assert by_day[1] == max(by_day.values())  # Monday busiest
    by_hour = dict(con.execute("SELECT hour(arrival_time), count(*) FROM ae_attendance GROUP BY 1").fetchall())
    assert 9 <= max(by_hour, key=by_hour.get) <= 13 and by_hour[4] < by_hour[11] / 3


def test_four_hour_and_twelve_hour_performance(con) -> None:
    within = "avg((departure_time - arrival_time <= INTERVAL 4 HOUR)::INT)"
    assert 0.70 <= one(con, f"SELECT {within} FROM ae_attendance") <= 0.80  # ~72-76 % all types
    assert 0.55 <= one(con, f"SELECT {within} FROM ae_attendance WHERE department_type = '1'") <= 0.64  # ~58 %
    winter = one(con, f"SELECT {within} FROM ae_attendance WHERE department_type = '1' "
                      "AND month(arrival_time) IN (12, 1, 2)")
    summer = one(con, f"SELECT {within} FROM ae_attendance WHERE department_type = '1' "
                      "AND month(arrival_time) IN (6, 7, 8)")
    assert winter < summer - 0.05
    over_12 = "avg((departure_time - arrival_time > INTERVAL 12 HOUR)::INT)"
    type_1 = "FROM ae_attendance WHERE department_type = '1' AND month(arrival_time)"
    w12 = one(con, f"SELECT {over_12} {type_1} IN (12, 1)")
    s12 = one(con, f"SELECT {over_12} {type_1} IN (7, 8)")
    # Before the wait for a bed, which the whole build adds (beds.py; >1 in 10 in winter is held there, test_beds).
    assert w12 >= 0.05 and s12 < w12
    sites = [r[0] for r in con.execute(f"SELECT {within} FROM ae_attendance WHERE department_type = '1' "
                                       "GROUP BY site_code").fetchall()]
    assert max(sites) - min(sites) > 0.05  # departments differ


def test_ambulance_response_times(con) -> None:
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT category, count(*), avg(epoch(on_scene_time - call_time) / 60), "
        "quantile_cont(epoch(on_scene_time - call_time) / 60, 0.9) FROM ambulance_incident GROUP BY 1").fetchall()}
    total = sum(r[0] for r in rows.values())
    assert 0.08 <= rows["1"][0] / total <= 0.16 and 0.52 <= rows["2"][0] / total <= 0.68
    assert 6 <= rows["1"][1] <= 10  # C1 mean ~8 minutes
    assert 27 <= rows["2"][1] <= 40  # C2 mean ~30-36 minutes
    assert rows["3"][2] > 120 and rows["4"][2] > 180
    handover = one(con, "SELECT avg((handover_time - hospital_arrival_time > INTERVAL 30 MINUTE)::INT) "
                        "FROM ambulance_incident WHERE conveyed")
    assert 0.1 <= handover <= 0.45
    # Every conveyance arrives as an ambulance attendance at the same site at the same time.
    unmatched = one(con, "SELECT count(*) FROM ambulance_incident i WHERE conveyed AND NOT EXISTS (SELECT 1 FROM "
                         "ae_attendance a WHERE a.person_id = i.person_id AND a.site_code = i.site_code AND "
                         "a.arrival_time = i.hospital_arrival_time AND a.arrival_mode = 'ambulance')")
    assert unmatched == 0


def test_admissions_length_of_stay_and_readmissions(con, person_years) -> None:
    assert 95 <= per_1000(con, person_years, "inpatient_spell", "admission_method LIKE '2%'") <= 130  # ~110
    electives = con.execute("SELECT avg((patient_classification = '2')::INT) FROM inpatient_spell "
                            "WHERE admission_method LIKE '1%'").fetchone()[0]
    assert 0.75 <= electives <= 0.85  # 80 % day cases
    los = "date_diff('day', admission_time::DATE, discharge_time::DATE)"
    overnight, short = con.execute(f"SELECT avg(CASE WHEN {los} >= 1 THEN {los} END), avg(({los} <= 1)::INT) "
                                   "FROM inpatient_spell WHERE admission_method LIKE '2%' "
                                   "AND discharge_time IS NOT NULL").fetchone()
    # Lengths of stay are set by the bed base (test_beds_run_near_the_published_occupancy): the published
    # 9.1 days for overnight emergency stays (Health Foundation 2022) cannot be met together with ~93 %
    # occupancy of ~100,000 G&A beds for ~6.4 M emergency admissions a year, so overnight stays average
    # ~5 midnights here, and people 85+ stay about half as long again (12.5 vs 9.1 published).
    assert 4.3 <= overnight <= 6.5
    assert 0.32 <= short <= 0.42  # 35-40 % stay 0-1 day
    old = one(con, f"SELECT avg(CASE WHEN {los} >= 1 THEN {los} END) FROM inpatient_spell s JOIN people p "
                   "USING (person_id) WHERE admission_method LIKE '2%' AND p.age >= 85")
    assert 1.25 * overnight <= old <= 1.7 * overnight
    readmitted = one(con, "SELECT avg(EXISTS (SELECT 1 FROM inpatient_spell b WHERE b.person_id = a.person_id AND "
                          "b.admission_method LIKE '2%' AND b.admission_time > a.discharge_time AND "
                          "b.admission_time <= a.discharge_time + INTERVAL 30 DAY)::INT) FROM inpatient_spell a "
                          "WHERE a.admission_method LIKE '2%' AND a.discharge_destination NOT IN ('79', '98')")
    assert 0.11 <= readmitted <= 0.17  # ~12-15 %
    assert one(con, "SELECT count(*) FROM inpatient_spell WHERE discharge_time IS NULL "
                    "AND discharge_destination = '98'") > 0


def test_beds_run_near_the_published_occupancy(ctx, con) -> None:
    """Patients in hospital at midnight against the system's G&A beds at this scale: ~93 % on average
    (calibration.md [S38]), higher in winter than in summer."""
    beds = ctx.scale * sum(site.general_acute_beds for site in ctx.system.site)
    census = dict(con.execute(
        "WITH nights AS (SELECT unnest(generate_series(TIMESTAMP '2024-04-01', TIMESTAMP '2026-03-31', "
        "INTERVAL 7 DAY)) AS night) SELECT month(night), avg((SELECT count(*) FROM inpatient_spell s WHERE "
        "s.admission_time < night AND (s.discharge_time IS NULL OR s.discharge_time >= night))) FROM nights "
        "GROUP BY 1").fetchall())
    mean = sum(census.values()) / len(census) / beds
    assert 0.86 <= mean <= 1.0
    assert census[1] + census[2] > census[7] + census[8]


def test_discharge_pathway_mix(con) -> None:
    mix = dict(con.execute(
        "SELECT discharge_pathway, count(*) * 1.0 / sum(count(*)) OVER () FROM inpatient_spell JOIN people p "
        "USING (person_id) WHERE admission_method LIKE '2%' AND discharge_pathway IS NOT NULL AND p.age >= 65 "
        "GROUP BY 1").fetchall())
    assert 0.5 <= mix[0] <= 0.68 and 0.22 <= mix[1] <= 0.36 and 0.03 <= mix[2] <= 0.08 and 0.008 <= mix[3] <= 0.03


def test_planned_care(con, person_years, pop) -> None:
    at = "DATE '2025-09-30'"
    size, within_18, over_52 = con.execute(
        f"SELECT count(*), avg(({at} - clock_start <= 126)::INT), avg(({at} - clock_start > 364)::INT) "
        f"FROM rtt_pathway WHERE clock_start <= {at} AND (clock_stop IS NULL OR clock_stop > {at})").fetchone()
    assert 0.5 <= within_18 <= 0.7 and 0.005 <= over_52 <= 0.06  # 59.8 %, 2.6 % over 52 weeks
    assert 90 <= size / len(pop) * 1000 <= 170  # ~130 per 1,000 on the list (7.42m, March 2025)
    assert 1400 <= per_1000(con, person_years, "outpatient_appointment") <= 1900  # ~1,660
    assert 0.26 <= one(con, "SELECT avg(first_attendance::INT) FROM outpatient_appointment") <= 0.36  # 31 %
    assert 0.05 <= one(con, "SELECT avg((status = 'dna')::INT) FROM outpatient_appointment") <= 0.09
    fds, d62, d31 = con.execute(
        "SELECT avg((diagnosis_date - referral_date <= 28)::INT), "
        "avg(CASE WHEN cancer_confirmed AND first_treatment_date IS NOT NULL "
        "THEN (first_treatment_date - referral_date <= 62)::INT END), "
        "avg(CASE WHEN first_treatment_date IS NOT NULL THEN (first_treatment_date - decision_to_treat_date <= 31)"
        "::INT END) FROM cancer_pathway WHERE diagnosis_date IS NOT NULL").fetchone()
    assert 0.72 <= fds <= 0.82 and 0.6 <= d62 <= 0.76 and 0.88 <= d31 <= 0.97  # 76.6 %, 69.2 %, 92.4 %
    assert 45 <= per_1000(con, person_years, "cancer_pathway") <= 65
    dm01 = one(con, f"SELECT avg(({at} - request_date > 42)::INT) FROM diagnostic_wait "
                    f"WHERE request_date <= {at} AND (test_date IS NULL OR test_date > {at})")
    assert 0.15 <= dm01 <= 0.3  # 22 % over 6 weeks


def test_community_and_mental_health(con, person_years, pop, ctx) -> None:
    ucr = per_1000(con, person_years, "community_contact", "service = 'urgent_community_response'")
    assert 10 <= ucr <= 22  # ~15 per 1,000
    two_hours = one(con, "SELECT avg((contact_time - referral_time <= INTERVAL 2 HOUR)::INT) FROM community_contact "
                         "WHERE service = 'urgent_community_response'")
    assert 0.72 <= two_hours <= 0.88
    assert 24 <= per_1000(con, person_years, "mental_health_referral", "service = 'talking_therapies'") <= 40
    recovery = one(con, "SELECT avg((phq9_last < 10 AND gad7_last < 8 AND (phq9_first - phq9_last >= 6 OR "
                        "gad7_first - gad7_last >= 4))::INT) FROM mental_health_referral WHERE service = "
                        "'talking_therapies' AND phq9_last IS NOT NULL AND (phq9_first >= 10 OR gad7_first >= 8)")
    assert 0.40 <= recovery <= 0.56  # 48.4 % reliable recovery
    eip, seen = con.execute("SELECT avg((first_contact_date - referral_date <= 14)::INT), count(*) FROM mental_health"
                            "_referral WHERE service = 'eip' AND first_contact_date IS NOT NULL").fetchone()
    assert seen < 20 or 0.4 <= eip <= 0.9  # a handful of people in a chunk at 0.02 (5 in this one): too few to judge
    adults = int((pop.age_on(np.datetime64("2025-03-31")) >= 18).sum())
    # The standing stock and the placements and packages begun at a discharge (short-term reablement aside).
    support = one(con, "SELECT count(*) FROM (SELECT * FROM social_care_package UNION ALL SELECT * FROM "
                       "onward_social_care_package) WHERE service_type != 'reablement' AND start_date <= "
                       "DATE '2025-03-31' AND (end_date IS NULL OR end_date > DATE '2025-03-31')") / adults * 100_000
    assert 900 <= support <= 2000  # ~1,400 per 100k adults in long-term support


def test_births_are_in_maternity_units(ctx, con) -> None:
    """Deliveries and antenatal admissions are at sites with maternity beds, and a caesarean keeps a woman
    longer than a spontaneous birth (NHS Maternity Statistics: home within a day after most spontaneous
    births, in 2-3 days after a caesarean)."""
    units = {s.code for s in ctx.system.site if s.maternity_beds}
    sites = {r[0] for r in con.execute("SELECT DISTINCT site_code FROM inpatient_spell "
                                       "WHERE admission_method LIKE '3%'").fetchall()}
    assert sites and sites <= units and "RVV01" not in sites  # Kent and Canterbury has no maternity beds
    stay = dict(con.execute("SELECT primary_diagnosis, median(epoch(discharge_time - admission_time)) / 86400 "
                            "FROM inpatient_spell WHERE admission_method LIKE '3%' GROUP BY 1").fetchall())
    assert stay["O80"] < 1.5 < stay["O82"] < 3.5
    caesarean = one(con, "SELECT avg((primary_diagnosis = 'O82')::INT) FROM inpatient_spell "
                         "WHERE primary_diagnosis IN ('O80', 'O81', 'O82')")
    assert 0.33 <= caesarean <= 0.47  # 40 % of deliveries (2022-23)


def test_maternity_units_of_a_trust_share_its_births_by_beds() -> None:
    from icsys.synth.places import catchment
    sites = catchment(load_system()).maternity_sites
    east_kent = dict(zip(*sites["RVV01"], strict=True))  # Kent and Canterbury: William Harvey 45, QEQM 35 beds
    assert east_kent == pytest.approx({"RVV09": 45 / 80, "RVVKC": 35 / 80})
    mtw = dict(zip(*sites["RWF03"], strict=True))  # Maidstone's birth centre 6, Tunbridge Wells 45 beds
    assert mtw == pytest.approx({"RWF03": 6 / 51, "RWFTW": 45 / 51})


def test_long_term_support_at_home_is_half_home_care(con) -> None:
    """ASC-FR 2023-24: home care is about half of long-term support in the community; the rest direct
    payments, supported living and day care (packages open on a day, not counting those after a discharge)."""
    shares = dict(con.execute("SELECT service_type, count(*) / sum(count(*)) OVER () FROM social_care_package "
                              "WHERE service_type NOT IN ('residential', 'nursing', 'reablement') AND start_date <= "
                              "DATE '2025-03-31' AND coalesce(end_date, DATE '2026-01-01') > DATE '2025-03-31' "
                              "GROUP BY 1").fetchall())
    assert 0.40 <= shares["domiciliary"] <= 0.60
    assert {"direct_payment", "supported_living", "day_care"} <= set(shares)
    assert shares["direct_payment"] > shares["supported_living"]
