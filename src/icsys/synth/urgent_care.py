"""Urgent and emergency care: 999 calls, A&E attendances and the emergency admissions they lead to.

Calibration (../shared/reference/calibration.md): A&E ~470 attendances per 1,000 a year (type 1
~300), 28 % of type 1 attendances admitted, 4-hour performance ~58-62 % type 1 and in the 70s for
all types, worse in winter, 12-hour waits frequent in winter; ambulance incidents ~160 per 1,000,
about half conveyed, category 1 mean ~8 minutes, category 2 mean ~30-36 minutes; emergency
admissions ~110 per 1,000; emergency length of stay mean ~9 days for overnight stays (85+ ~12.5),
35-40 % staying 0-1 day. ECDS times within the attendance: initial assessment a median of about 15
minutes after arrival and treatment (seen by a decision-making clinician) about 1-2 hours, both longer
in winter, at the busy hours of the day and at slower departments; the sickest (acuity 1) at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from icsys.synth.context import Population, SynthContext
from icsys.synth.places import Catchment, choose_sites
from icsys.synth.timing import at_seconds, category, expand, hours, inside_the_ics, seasonal_days, weekday, winter

AE_TYPE1_WALK_IN, AE_TYPE3 = 0.21, 0.18  # per person-year; conveyed ambulance patients add ~0.08 type 1
AMBULANCE = 0.16
DIRECT_EMERGENCY = 0.028  # emergency admissions not via A&E (GP, bed bureau, clinic) a year: ~25 % (HES)
ADMITTED_SHARE = 0.28
ARRIVAL_PROFILE = np.array([2.2, 1.8, 1.5, 1.3, 1.2, 1.3, 1.8, 2.8, 4.5, 6.0, 6.6, 6.6, 6.2, 6.0, 5.8, 5.6,
                            5.4, 5.4, 5.2, 4.8, 4.3, 3.8, 3.2, 2.6])
# A person's emergency care grows through the period as they age and grow frailer: without it the
# population's emergency activity would fall each year, as the frailest die and nobody new grows frail.
AGEING_GROWTH = 0.12
WEEKDAY_WEIGHT = np.array([1.12, 1.0, 0.98, 0.97, 0.99, 0.95, 0.99])
HOUR = 3600.0


def person_rates(pop: Population, age: np.ndarray, curve_ages: list[float], curve: list[float],
                 weight: np.ndarray, years: np.ndarray, mean: float) -> np.ndarray:
    """Per-person yearly rates from an age curve times a weight, scaled so the chunk's mean rate
    per person-year is `mean`."""
    raw = np.interp(age, curve_ages, curve) * weight
    return raw * mean / (np.sum(raw * years) / max(np.sum(years), 1e-9))


def event_days(rng: np.random.Generator, first: np.ndarray, span: np.ndarray, owner: np.ndarray,
               amplitude: float, growth: float = 0.0) -> np.ndarray:
    """Seasonal days within each owner's window, with the A&E weekday shape (Monday busiest), rising by
    `growth` a year within the window."""
    day = seasonal_days(rng, first[owner], np.maximum(span[owner], 1), amplitude, growth)
    keep = rng.random(len(day)) * WEEKDAY_WEIGHT.max() < WEEKDAY_WEIGHT[weekday(day)]
    redo = np.flatnonzero(~keep)
    day[redo] = seasonal_days(rng, first[owner[redo]], np.maximum(span[owner[redo]], 1), amplitude, growth)
    return day


def drifting_events(rng: np.random.Generator, ctx: SynthContext, pop: Population, expected: np.ndarray,
                    first: np.ndarray, span: np.ndarray, amplitude: float,
                    growth: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Owners and days of events expected `expected` times per person over their window, more in a
    person's bad years and fewer in their good ones (their yearly drift, thinned from its maximum)."""
    most = pop.drift.max(axis=1) if pop.drift is not None else np.ones(len(pop))
    owner = expand(rng.poisson(expected * most))
    day = event_days(rng, first, span, owner, amplitude, growth)
    keep = rng.random(len(owner)) * most[owner] < pop.drift_on(owner, day, ctx.start_day)
    return owner[keep], day[keep]


def generate_urgent_care(ctx: SynthContext, pop: Population, cat: Catchment, first: np.ndarray,
                         span: np.ndarray, usual: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Ambulance incidents, A&E attendances and emergency admissions (as column dicts of arrays;
    admissions carry their clinical length of stay, for the spell builder)."""
    rng = ctx.rng("urgent_care", pop.chunk)
    age = pop.age_on(ctx.start_day).astype(float)
    years = span / 365.25
    emergency_weight = pop.propensity
    amb = _ambulance(rng, ctx, pop, cat, first, span, age, years, emergency_weight, usual)
    ae = _attendances(rng, ctx, pop, cat, first, span, age, years, amb)
    direct = _direct_admissions(rng, ctx, pop, first, span, age, years, usual)
    return {"ambulance_incident": amb, "ae_attendance": ae, "direct_admission": direct}


def _ambulance(rng: np.random.Generator, ctx: SynthContext, pop: Population, cat: Catchment, first: np.ndarray,
               span: np.ndarray, age: np.ndarray, years: np.ndarray, weight: np.ndarray,
               usual: np.ndarray) -> dict[str, np.ndarray]:
    rate = person_rates(pop, age, [0, 15, 30, 50, 65, 75, 85, 95], [0.06, 0.07, 0.09, 0.10, 0.16, 0.28, 0.55, 0.9],
                        weight, years, AMBULANCE)
    owner, day = drifting_events(rng, ctx, pop, rate * years, first, span, 0.12, AGEING_GROWTH)
    n = len(owner)
    call = at_seconds(day, hours(rng, n, ARRIVAL_PROFILE))
    frail = pop.frailty[owner]
    category_index = rng.choice(4, size=n, p=[0.12, 0.60, 0.22, 0.06])
    category_index = np.where((category_index == 2) & (frail > 0.3) & (rng.random(n) < 0.3), 1, category_index)
    pressure = np.where(winter(day), 1.3, 1.0)
    median_min = np.array([7.0, 21.0, 48.0, 70.0])[category_index]
    sigma = np.array([0.45, 0.85, 0.9, 0.9])[category_index]
    response = median_min * np.exp(sigma * rng.standard_normal(n)) * np.where(category_index == 0, 1.0, pressure)
    on_scene = call + (np.clip(response, 1, 24 * 60) * 60).astype("timedelta64[s]")
    p_convey = np.array([0.78, 0.64, 0.36, 0.2])[category_index] * np.clip(0.8 + 0.4 * frail, 0.8, 1.3)
    conveyed = rng.random(n) < np.clip(p_convey, 0, 0.95)
    site = np.where(conveyed, usual[owner], None)
    travel = 40 * np.exp(0.3 * rng.standard_normal(n)) + 10
    arrival = on_scene + (travel * 60).astype("timedelta64[s]")
    handover_min = 17 * np.exp(0.7 * rng.standard_normal(n))  # lengthened later by the hospital's occupancy
    handover = arrival + (np.clip(handover_min, 3, 600) * 60).astype("timedelta64[s]")
    nat = np.datetime64("NaT", "s")
    return {
        "owner": owner, "category": category_index, "call_time": call, "on_scene_time": on_scene,
        "conveyed": conveyed, "site_code": site,
        "hospital_arrival_time": np.where(conveyed, arrival, nat), "handover_time": np.where(conveyed, handover, nat),
        "provider_code": np.full(n, cat.ambulance_provider, dtype=object),
    }


def _attendances(rng: np.random.Generator, ctx: SynthContext, pop: Population, cat: Catchment,
                 first: np.ndarray, span: np.ndarray, age: np.ndarray, years: np.ndarray,
                 amb: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Walk-in attendances (type 1 and 3) plus one type 1 attendance per ambulance conveyance."""
    weight = (0.5 + 0.5 * pop.propensity) * (1 + 0.3 * (5.5 - pop.imd_decile) / 4.5)
    ages, curve = [0, 4, 10, 20, 40, 60, 75, 85, 95], [0.45, 0.32, 0.25, 0.35, 0.25, 0.24, 0.32, 0.5, 0.6]
    walk1, walk1_day = drifting_events(rng, ctx, pop, person_rates(pop, age, ages, curve, weight, years,
                                                                   AE_TYPE1_WALK_IN) * years, first, span, 0.08,
                                       AGEING_GROWTH / 2)
    walk3 = expand(rng.poisson(person_rates(pop, age, ages, curve, np.ones(len(pop)), years, AE_TYPE3) * years))
    conveyed = np.flatnonzero(amb["conveyed"])
    owner = np.concatenate([walk1, walk3, amb["owner"][conveyed]])
    n1, n3, na = len(walk1), len(walk3), len(conveyed)
    kind = np.r_[np.zeros(n1, np.int8), np.full(n3, 3, np.int8), np.ones(na, np.int8)]  # 0 walk-in t1, 1 amb, 3 t3
    day = np.concatenate([walk1_day,
                          event_days(rng, first, span, walk3, 0.0),
                          amb["hospital_arrival_time"][conveyed].astype("datetime64[D]")])
    arrival = at_seconds(day, hours(rng, len(owner), ARRIVAL_PROFILE))
    arrival[n1 + n3:] = amb["hospital_arrival_time"][conveyed]
    site = np.concatenate([choose_sites(rng, pop.district[walk1], cat.type1_sites),
                           choose_sites(rng, pop.district[walk3], cat.type3_sites), amb["site_code"][conveyed]])
    acuity = _acuity(rng, kind)
    admitted = _admitted(rng, age[owner], acuity, kind, pop.frailty[owner])
    dta, departure = _times_in_department(rng, arrival, admitted, kind, site)
    dta, departure = _long_waits(ctx.rng("ae_long_waits", pop.chunk), arrival, dta, departure, kind,
                                 age[owner])  # own stream: every other draw unchanged
    disposal = np.where(admitted, 0, rng.choice([1, 2, 3, 4, 5], size=len(owner), p=[0.45, 0.25, 0.2, 0.07, 0.03]))
    return {
        "owner": owner, "site_code": site, "department_type": np.where(kind == 3, 1, 0).astype(np.int8),
        "arrival_time": arrival, "decision_to_admit_time": dta, "departure_time": departure,
        "arrival_mode": (kind == 1).astype(np.int8), "acuity": acuity, "disposal": disposal,
        "ambulance_row": np.r_[np.full(n1 + n3, -1), conveyed],
    }


def _acuity(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    """ECDS acuity 1-5 (as 0-4): ambulance arrivals sicker, type 3 mostly minor."""
    p = {0: [0.01, 0.15, 0.45, 0.32, 0.07], 1: [0.05, 0.35, 0.5, 0.09, 0.01], 3: [0.0, 0.01, 0.09, 0.6, 0.3]}
    out = np.empty(len(kind), np.int8)
    for k, probs in p.items():
        mask = kind == k
        out[mask] = rng.choice(5, size=int(mask.sum()), p=probs)
    return out


def _admitted(rng: np.random.Generator, age: np.ndarray, acuity: np.ndarray, kind: np.ndarray,
              frailty: np.ndarray) -> np.ndarray:
    """Admission from type 1 A&E, by acuity, age and frailty, scaled to 28 % of type 1 attendances.
    Infants and young children are admitted more than older children (HES: emergency admissions of
    under-5s ~120 per 1,000 a year, about 8 % of them admitted in a year)."""
    by_age = np.interp(age, [0, 2, 6, 16, 40, 65, 80, 90], [1.4, 1.0, 0.6, 0.6, 0.8, 1.3, 1.7, 1.9])
    base = np.array([0.8, 0.55, 0.3, 0.08, 0.02])[acuity] * by_age
    base = base * (1 + frailty) * np.where(kind == 1, 1.3, 1.0)
    type1 = kind != 3
    scale = ADMITTED_SHARE * type1.sum() / max(base[type1].sum(), 1e-9)
    return type1 & (rng.random(len(age)) < np.clip(base * scale, 0, 0.95))


def _crowding(arrival: np.ndarray) -> np.ndarray:
    """The season's crowding of A&E: winter worst, March and October-November busy."""
    day = arrival.astype("datetime64[D]")
    month = (day.astype("datetime64[M]").astype(int) % 12) + 1
    return np.where(winter(day), 1.25, np.where(np.isin(month, [3, 10, 11]), 1.08, 0.95))


def _times_in_department(rng: np.random.Generator, arrival: np.ndarray, admitted: np.ndarray, kind: np.ndarray,
                         site: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hours in the department: longer in winter, at busier sites and for patients waiting for a bed."""
    n = len(arrival)
    crowding = _crowding(arrival)
    site_effect = _site_effect(site)
    z = rng.standard_normal(n)
    seen = np.where(kind == 3, 1.1 * np.exp(0.5 * z), 2.6 * np.exp(0.62 * z)) * crowding * site_effect
    dta_hours = 3.2 * np.exp(0.5 * rng.standard_normal(n)) * site_effect
    bed_wait = 2.0 * np.exp(1.3 * rng.standard_normal(n)) * crowding**3 * site_effect  # + the wait for a bed (beds.py)
    total = np.where(admitted, dta_hours + bed_wait, seen)
    total = np.clip(total, 0.15, 72)
    dta = np.where(admitted, arrival + (dta_hours * HOUR).astype("timedelta64[s]"), np.datetime64("NaT", "s"))
    return dta, arrival + (total * HOUR).astype("timedelta64[s]")


# Long waits: more than 1 in 10 type 1 attendances spend 12 hours or more from arrival (2023-24; 1 in 8 in
# December 2024, 166,989) [S21][S26][S23], most of them waiting for a specialist's review or a bed, others (mental
# health, frail people) for an assessment or the care to go home to. A share of those already past 4 hours wait
# on (so the 4-hour figure is unchanged), more at 75 or over (RCEM, Age UK: long waits gather in older people);
# winter needs no more, as the waits for a bed already rise then. Admitted patients wait before the decision to
# admit, leaving the wait after it as calibrated.
LONG_WAIT_SHARE = 0.17
LONG_WAIT_MEDIAN_H = 9.0
OLDER_LONG_WAIT = 1.5


def _long_waits(rng: np.random.Generator, arrival: np.ndarray, dta: np.ndarray, departure: np.ndarray,
                kind: np.ndarray, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(arrival)
    chance = LONG_WAIT_SHARE * np.where(age >= 75, OLDER_LONG_WAIT, 1.0)
    waits = (kind != 3) & (departure - arrival > np.timedelta64(4 * 3600, "s")) & (rng.random(n) < chance)
    extra = np.where(waits, LONG_WAIT_MEDIAN_H * np.exp(0.45 * rng.standard_normal(n)) * HOUR, 0).astype(
        "timedelta64[s]")
    extra = np.minimum(extra, np.timedelta64(72 * 3600, "s") - (departure - arrival)).clip(np.timedelta64(0, "s"))
    return dta + extra, departure + extra


ASSESSMENT_MEDIAN_MIN = 15.0  # x crowding: ~15-17 minutes over the year
TREATMENT_MEDIAN_MIN = {"1": 70.0, "3": 35.0}  # after initial assessment; x crowding squared at type 1


def assessment_and_treatment(rng: np.random.Generator, ae: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """ECDS initial assessment and treatment times of each attendance, between arrival and the decision to
    admit (or departure): lognormal waits stretched by the season, the hour's load and the department.
    Patients who left before being seen (disposal 4) have no treatment time."""
    arrival, departure, dta = ae["arrival_time"], ae["departure_time"], ae["decision_to_admit_time"]
    n = len(arrival)
    day = arrival.astype("datetime64[D]")
    hour = ((arrival - day) // np.timedelta64(1, "h")).astype(int)
    crowding = (np.where(winter(day), 1.2, 0.95) * (ARRIVAL_PROFILE[hour] / ARRIVAL_PROFILE.mean()) ** 0.5
                * _site_effect(ae["site_code"]))
    type3 = ae["department_type"] == 1  # 0 type 1, 1 type 3 (as generated)
    sickest = ae["acuity"] == 0
    assess = ASSESSMENT_MEDIAN_MIN * np.exp(0.75 * rng.standard_normal(n)) * crowding ** 1.5
    assess = np.where(sickest, rng.uniform(0, 3, n), assess)
    treat = np.where(type3, TREATMENT_MEDIAN_MIN["3"] * crowding, TREATMENT_MEDIAN_MIN["1"] * crowding ** 2)
    treat = np.where(sickest, rng.uniform(0, 10, n), treat * np.exp(0.8 * rng.standard_normal(n)))
    # Both before the decision to admit (or leaving), a minute short of it where the draw runs past.
    limit = np.where(np.isnat(dta), departure, dta) - np.timedelta64(60, "s")
    limit = np.maximum(limit, arrival)
    initial = np.minimum(arrival + (assess * 60).astype("timedelta64[s]"), limit)
    treated = np.minimum(initial + (treat * 60).astype("timedelta64[s]"), limit)
    treated = np.maximum(treated, initial)
    return initial, np.where(ae["disposal"] == 4, np.datetime64("NaT", "s"), treated)


def _site_effect(site: np.ndarray) -> np.ndarray:
    """A fixed multiplier per site on time in department (some departments are slower than others)."""
    which, codes = pd.factorize(site)  # a hash, not a sort: this runs over every attendance
    effect = [float(np.exp(0.12 * np.random.default_rng(sum(ord(c) * (i + 1) for i, c in enumerate(str(code))))
                           .standard_normal())) for code in codes]
    return np.asarray(effect, float)[which] if len(site) else np.ones(0)


def _direct_admissions(rng: np.random.Generator, ctx: SynthContext, pop: Population, first: np.ndarray,
                       span: np.ndarray, age: np.ndarray, years: np.ndarray,
                       usual: np.ndarray) -> dict[str, np.ndarray]:
    """Emergency admissions that do not come through A&E: via GP, bed bureau, clinic, other means."""
    rate = person_rates(pop, age, [0, 2, 6, 20, 50, 70, 85, 95], [1.5, 0.8, 0.3, 0.3, 0.6, 1.5, 3.5, 4.5],
                        pop.propensity, years,
                        DIRECT_EMERGENCY)
    owner, day = drifting_events(rng, ctx, pop, rate * years, first, span, 0.1, AGEING_GROWTH)
    admit = at_seconds(day, hours(rng, len(owner), np.r_[np.full(8, 0.5), np.full(12, 5.0), np.full(4, 1.5)]))
    method = np.array(["22", "23", "24", "2D"], dtype=object)[rng.choice(4, size=len(owner), p=[0.6, 0.1, 0.1, 0.2])]
    return {"owner": owner, "admission_time": admit, "admission_method": method, "site_code": usual[owner]}


def ambulance_table(pop: Population, amb: dict[str, np.ndarray]) -> pa.Table:
    return pa.table({
        "incident_id": np.arange(1, len(amb["owner"]) + 1, dtype=np.int64), "person_id": pop.person_id[amb["owner"]],
        "provider_code": amb["provider_code"].astype(str), "category": category(amb["category"], ["1", "2", "3", "4"]),
        "call_time": amb["call_time"], "on_scene_time": amb["on_scene_time"], "conveyed": amb["conveyed"],
        "site_code": pa.array(amb["site_code"], pa.string()),
        "hospital_arrival_time": amb["hospital_arrival_time"], "handover_time": amb["handover_time"],
        **inside_the_ics(len(amb["owner"])),
    })


def attendance_table(pop: Population, ae: dict[str, np.ndarray]) -> pa.Table:
    # The ECDS times are drawn here, once every attendance is known (those of final admissions through A&E
    # are added after the urgent care draws), from a stream of their own: the other tables do not move.
    key = int(ae["arrival_time"].astype("datetime64[s]").astype(np.int64).sum()) % (2**32)
    initial, treated = assessment_and_treatment(np.random.default_rng([pop.chunk, key]), ae)
    return pa.table({
        "attendance_id": np.arange(1, len(ae["owner"]) + 1, dtype=np.int64), "person_id": pop.person_id[ae["owner"]],
        "site_code": ae["site_code"].astype(str), "department_type": category(ae["department_type"], ["1", "3"]),
        "arrival_time": ae["arrival_time"], "initial_assessment_time": initial, "treatment_time": treated,
        "decision_to_admit_time": ae["decision_to_admit_time"],
        "departure_time": ae["departure_time"], "arrival_mode": category(ae["arrival_mode"], ["walk_in", "ambulance"]),
        "acuity": category(ae["acuity"], ["1", "2", "3", "4", "5"]),
        # SNOMED CT chief complaint and diagnosis are not drawn: nothing in icsys reads them yet
        "chief_complaint": pa.nulls(len(ae["owner"]), pa.string()),
        "diagnosis": pa.nulls(len(ae["owner"]), pa.string()),
        "disposal": category(ae["disposal"], ["admitted", "discharged", "gp_follow_up", "referred", "left",
                                              "transferred"]),
        **inside_the_ics(len(ae["owner"])),
    })
