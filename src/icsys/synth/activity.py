"""All hospital, community, social care and mental health activity for one chunk of people, and
the system-wide discharge queues (`resolve_discharges`) run once every chunk is done."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from icsys.synth import community, planned_care
from icsys.synth.context import Population, SynthContext
from icsys.synth.discharge import resolve_discharges
from icsys.synth.hospital import build_spells, finish_spells, readmissions, spell_table
from icsys.synth.places import Catchment, bed_site, catchment, choose_sites, map_codes, usual_site
from icsys.synth.urgent_care import ambulance_table, attendance_table, generate_urgent_care
from icsys.system import System

__all__ = ["generate_activity", "resolve_discharges"]

MATERNITY = 0.064  # deliveries per woman aged 18-45 a year (about one a birth: ~10.5 births per 1,000 people)
# Admissions before the birth that end without one (false labour, pregnancy complications), per delivery.
ANTENATAL_PER_BIRTH = 0.35
# Primary diagnosis: share of maternity admissions, days in hospital before the birth, and the median and
# log-spread of the days after it. NHS Maternity Statistics 2022-23 (HES): 40 % of deliveries by caesarean,
# 12 % instrumental, the rest spontaneous; most women go home within a day of a spontaneous birth, in 2-3
# days after a caesarean. About 2.4 bed days per birth in all fill KH03's ~58 % of maternity beds.
MATERNITY_MODES: dict[str, tuple[float, float, float, float]] = {
    "O80": (0.48, 0.3, 0.6, 0.7),  # spontaneous vertex delivery
    "O81": (0.12, 0.4, 1.0, 0.5),  # forceps or vacuum
    "O82": (0.40, 0.3, 2.2, 0.4),  # caesarean section
    "O47": (0.35, 0.0, 0.6, 0.9),  # false labour (antenatal admissions, ANTENATAL_PER_BIRTH)
}
_catchments: dict[int, tuple[System, Catchment]] = {}


def _catchment(system: System) -> Catchment:
    cached = _catchments.get(id(system))
    if cached is None or cached[0] is not system:
        cached = (system, catchment(system))
        _catchments[id(system)] = cached
    return cached[1]


def generate_activity(ctx: SynthContext, pop: Population) -> dict[str, pa.Table]:
    cat = _catchment(ctx.system)
    rng = ctx.rng("activity", pop.chunk)
    first, last = pop.alive_days(ctx.start_day, ctx.end_day)
    span = (last - first).astype(np.int64)
    usual = usual_site(ctx, pop, cat)
    acute = map_codes(usual, cat.provider_of_site)
    urgent = generate_urgent_care(ctx, pop, cat, first, span, usual)
    ae = urgent["ae_attendance"]
    admitted = np.flatnonzero(ae["disposal"] == 0)
    from_ae = {"owner": ae["owner"][admitted], "admission_time": ae["departure_time"][admitted],
               "admission_method": np.full(len(admitted), "21", dtype=object), "site_code": ae["site_code"][admitted],
               "attendance_row": admitted.astype(np.int64)}
    paths = planned_care.rtt(ctx, rng, pop, first, span, acute)
    site_of_provider = {p: s for s, p in zip(usual, acute, strict=True)}
    parts = [from_ae, urgent["direct_admission"], planned_care.elective_admissions(ctx, rng, paths, site_of_provider),
             _final_admissions(ctx, rng, pop, first, usual)]
    ae = _through_ae(ctx.rng("final_through_ae", pop.chunk), ae, parts[-1])  # own stream: others' draws unchanged
    beds = ctx.rng("bed_site", pop.chunk)
    parts = [part | {"site_code": bed_site(beds, part["site_code"], cat)} for part in parts]
    parts.append(_maternity(ctx, ctx.rng("maternity", pop.chunk), pop, first, span, usual, cat))  # maternity beds
    spells = build_spells(ctx, pop, parts)
    spells = finish_spells(ctx, pop, [spells, build_spells(ctx, pop, [readmissions(ctx, pop, spells)], "readmitted")])
    spell_rows = spell_table(ctx, pop, spells, np.arange(1, len(ae["owner"]) + 1, dtype=np.int64))
    spell_rows = spell_rows.append_column("district", pa.array(pop.district[spells["owner"]].astype(str)))
    path_ids = np.arange(1, len(paths["owner"]) + 1, dtype=np.int64)
    community_provider = map_codes(pop.district, cat.community_provider)
    return {
        "ambulance_incident": ambulance_table(pop, urgent["ambulance_incident"]),
        "ae_attendance": attendance_table(pop, ae),
        "inpatient_spell": spell_rows,
        "rtt_pathway": planned_care.rtt_table(pop, paths),
        "outpatient_appointment": planned_care.outpatients(ctx, rng, pop, first, span, paths, path_ids, usual),
        "cancer_pathway": planned_care.cancer(ctx, rng, pop, first, span, acute),
        "diagnostic_wait": planned_care.diagnostics(ctx, rng, pop, first, span, acute),
        "community_contact": community.community_contacts(ctx, rng, pop, first, span, community_provider),
        "community_bed_stay": community.step_up_stays(ctx, rng, pop, first, span, _units(ctx.system)),
        "social_care_package": community.social_care(ctx, rng, pop, first, span, map_codes(pop.district, cat.council),
                                                     _care_homes(ctx.system)),
        "mental_health_referral": community.mental_health(ctx, rng, pop, first, span, cat.mental_health_provider),
    }


def _maternity(ctx: SynthContext, rng: np.random.Generator, pop: Population, first: np.ndarray, span: np.ndarray,
               usual: np.ndarray, cat: Catchment) -> dict[str, np.ndarray]:
    """Deliveries and antenatal admissions (ADMIMETH 31), in maternity beds at the trust's maternity units.
    The stay (labour in hospital, then the postnatal stay) follows the mode of delivery; with the antenatal
    admissions it keeps maternity beds about 55-60 % occupied, as KH03 reports (MATERNITY_MODES)."""
    age = pop.age_on(ctx.start_day)
    rate = np.where((pop.sex == "F") & (age >= 18) & (age <= 45), MATERNITY * (1 + ANTENATAL_PER_BIRTH), 0.0)
    owner = np.repeat(np.arange(len(pop)), rng.poisson(rate * span / 365.25))
    n = len(owner)
    day = first[owner] + (rng.random(n) * np.maximum(span[owner], 1)).astype("timedelta64[D]")
    admit = day.astype("datetime64[s]") + rng.integers(0, 86_400, n).astype("timedelta64[s]")
    shares = [share for share, _, _, _ in MATERNITY_MODES.values()]
    mode = rng.choice(len(MATERNITY_MODES), size=n, p=np.array(shares) / sum(shares))
    before, median, spread = (np.array([m[i] for m in MATERNITY_MODES.values()])[mode] for i in (1, 2, 3))
    stay = before + median * np.exp(spread * rng.standard_normal(n))
    return {"owner": owner, "admission_time": admit, "admission_method": np.full(n, "31", dtype=object),
            "site_code": choose_sites(rng, usual[owner], cat.maternity_sites),
            "specialty": np.full(n, "501", dtype=object),
            "stay_days": stay, "diagnosis": np.array(list(MATERNITY_MODES), dtype=object)[mode]}


def _final_admissions(ctx: SynthContext, rng: np.random.Generator, pop: Population, first: np.ndarray,
                      usual: np.ndarray) -> dict[str, np.ndarray]:
    """People who die in hospital are admitted days before (median a week) and die there: most as
    emergencies through A&E (method 21), some by their GP (22) or as an elective (11)."""
    owner = np.flatnonzero((pop.place_of_death == "hospital") & ~np.isnat(pop.death_date)
                           & (pop.death_date >= ctx.start_day))
    n = len(owner)
    stay = np.clip(7 * np.exp(0.9 * rng.standard_normal(n)), 0.2, 90)
    died_at = pop.death_date[owner].astype("datetime64[s]") + rng.integers(0, 86_400, n).astype("timedelta64[s]")
    admit = np.maximum(died_at - (stay * 86_400).astype("timedelta64[s]"), first[owner].astype("datetime64[s]"))
    method = np.array(["21", "22", "2D", "11"], dtype=object)[rng.choice(4, size=n, p=[0.72, 0.14, 0.06, 0.08])]
    return {"owner": owner, "admission_time": admit, "admission_method": method,
            "site_code": usual[owner], "died": np.ones(n, bool)}


def _through_ae(rng: np.random.Generator, ae: dict[str, np.ndarray],
                final: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A final admission through A&E (method 21) comes from an attendance: type 1 at the admitting site,
    very urgent (acuity 2), admitted, leaving the department as the spell begins. Each such admission is
    linked to its attendance (attendance_row)."""
    rows = np.flatnonzero(final["admission_method"] == "21")
    m = len(rows)
    departure = final["admission_time"][rows]
    dta = departure - (rng.uniform(0.5, 4.0, m) * 3600).astype("timedelta64[s]")
    arrival = dta - (3.2 * np.exp(0.5 * rng.standard_normal(m)) * 3600).astype("timedelta64[s]")
    # Not before the admission's day (an admission at the start of the period or of a registration).
    arrival = np.maximum(arrival, departure.astype("datetime64[D]").astype("datetime64[s]"))
    dta = np.maximum(dta, arrival)
    extra = {"owner": final["owner"][rows], "site_code": final["site_code"][rows],
             "department_type": np.zeros(m, np.int8), "arrival_time": arrival, "decision_to_admit_time": dta,
             "departure_time": departure, "arrival_mode": np.zeros(m, np.int8), "acuity": np.ones(m, np.int8),
             "disposal": np.zeros(m, np.int64), "ambulance_row": np.full(m, -1)}
    attendance_row = np.full(len(final["owner"]), -1, np.int64)
    attendance_row[rows] = len(ae["owner"]) + np.arange(m)
    final["attendance_row"] = attendance_row
    return {k: np.concatenate([v, extra[k].astype(v.dtype)]) for k, v in ae.items()}


def _units(system: System) -> dict[str, str]:
    """The community bed unit serving each district: the largest in the district, else in its ICP."""
    icp_of = system.hierarchy.icp_by_district
    out = {}
    for d in system.district:
        local = [u for u in system.community_bed_unit if u.district == d.code] or [
            u for u in system.community_bed_unit if icp_of[u.district] == d.icp] or list(system.community_bed_unit)
        out[d.code] = max(local, key=lambda u: u.beds).code
    return out


def _care_homes(system: System) -> dict[str, tuple[list[str], np.ndarray]]:
    out = {}
    for d in system.district:
        homes = [h for h in system.care_home if h.district == d.code] or list(system.care_home)
        beds = np.array([h.beds for h in homes], float)
        out[d.code] = ([h.code for h in homes], beds / beds.sum())
    return out
