"""Planned care: referral-to-treatment pathways with their outpatient appointments and the elective
admissions that stop the clock; cancer pathways; diagnostic tests.

Calibration (../shared/reference/calibration.md): RTT waiting list ~130 per 1,000 at a month end
with ~60 % within 18 weeks and >52 weeks ~2-3 %; outpatient attendances ~1,660 per 1,000 a year, 31 %
first; urgent suspected cancer referrals ~55 per 1,000 a year, faster diagnosis ~76 %, 62-day ~69 %,
31-day ~92 %; DM01 ~22 % waiting 6 weeks or more.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from icsys.synth.context import Population, SynthContext
from icsys.synth.timing import category, expand, inside_the_ics, weekday

RTT_REFERRALS = 0.33  # clock starts per person-year
OUTPATIENT_TOTAL = 1.66  # appointments per person-year, all kinds
CANCER_REFERRALS = 0.055
DIAGNOSTIC_TESTS = 0.40
RTT_SPECIALTIES = {"110": 0.15, "130": 0.10, "100": 0.10, "120": 0.07, "330": 0.08, "301": 0.07, "320": 0.06,
                   "502": 0.08, "101": 0.06, "340": 0.04, "300": 0.05, "410": 0.05, "400": 0.05, "420": 0.04}
TUMOURS = {"breast": 0.20, "lower_gi": 0.22, "skin": 0.15, "urological": 0.12, "upper_gi": 0.08, "lung": 0.05,
           "gynaecological": 0.07, "head_and_neck": 0.06, "haematological": 0.02, "other": 0.03}
TESTS = {"non_obstetric_ultrasound": 0.35, "ct": 0.20, "mri": 0.15, "echocardiography": 0.06, "dexa": 0.03,
         "colonoscopy": 0.03, "gastroscopy": 0.04, "flexi_sigmoidoscopy": 0.01, "cystoscopy": 0.02,
         "audiology": 0.06, "sleep_studies": 0.01, "urodynamics": 0.01, "neurophysiology": 0.03}
NAT = np.datetime64("NaT", "D")


def _days(x: np.ndarray) -> np.ndarray:
    return np.round(x).astype(np.int64).astype("timedelta64[D]")


def _offset(x: np.ndarray) -> np.ndarray:
    """Whole days into a window of x days (floored, so a day never falls past the window's end)."""
    return np.floor(x).astype(np.int64).astype("timedelta64[D]")


def _weekday_after(day: np.ndarray) -> np.ndarray:
    """Move Saturday and Sunday to the next Monday."""
    wd = weekday(day)
    return day + np.where(wd == 5, 2, np.where(wd == 6, 1, 0)).astype("timedelta64[D]")


def _choice(rng: np.random.Generator, n: int, mix: dict[str, float]) -> tuple[np.ndarray, list[str]]:
    keys = list(mix)
    p = np.array([mix[k] for k in keys])
    return rng.choice(len(keys), size=n, p=p / p.sum()), keys


def rtt(ctx: SynthContext, rng: np.random.Generator, pop: Population, first: np.ndarray, span: np.ndarray,
        provider: np.ndarray) -> dict[str, np.ndarray]:
    """Pathways whose clock runs at some time in the period: started up to two years before it."""
    lead = 730
    age = pop.age_on(ctx.start_day).astype(float)
    rate = np.interp(age, [0, 18, 40, 60, 75, 90], [0.12, 0.2, 0.3, 0.45, 0.6, 0.5])
    rate = rate * RTT_REFERRALS / rate.mean()
    window_first = first - np.timedelta64(lead, "D") * (pop.registration_start <= ctx.start_day)
    window = (span + (first - window_first).astype(np.int64))
    owner = expand(rng.poisson(rate * window / 365.25))
    start = window_first[owner] + _days(rng.random(len(owner)) * window[owner])
    start = _weekday_after(start)
    n = len(owner)
    # Waits in weeks: a mixture of quick, routine and long waits, tuned so the month-end list has ~60 %
    # within 18 weeks and a tail past 52, 65 and 78 weeks (RTT, England 2024-25).
    component = np.searchsorted([0.45, 0.93], rng.random(n))
    weeks = np.array([8.0, 26.0, 46.0])[component] * np.exp(np.array([0.6, 0.45, 0.35])[component]
                                                            * rng.standard_normal(n))
    stop = start + _days(weeks * 7)
    # A pathway belongs to the provider: it runs on after a patient moves practice, and stops at death.
    last_day = first[owner] + span[owner].astype("timedelta64[D]")
    death = pop.death_date[owner]
    died = ~np.isnat(death) & (stop > death) & (death < ctx.end_day)
    stopped = stop < ctx.end_day
    reason = rng.choice(6, size=n, p=[0.25, 0.55, 0.1, 0.04, 0.06, 0.0])
    reason = np.where(died, 5, reason)
    clock_stop = np.where(died, death, np.where(stopped, stop, NAT))
    keep = (np.isnat(clock_stop) | (clock_stop >= ctx.start_day)) & (start < last_day)
    spec_index, spec_keys = _choice(rng, n, RTT_SPECIALTIES)
    spec = np.array(spec_keys, dtype=object)[spec_index]
    spec = np.where(age[owner] < 16, "420", spec)
    return {k: v[keep] for k, v in {
        "owner": owner, "provider_code": provider[owner], "specialty": spec, "clock_start": start,
        "clock_stop": clock_stop, "stop_reason": np.where(np.isnat(clock_stop), -1, reason),
    }.items()}


def rtt_table(pop: Population, path: dict[str, np.ndarray]) -> pa.Table:
    reason = path["stop_reason"]
    return pa.table({
        "pathway_id": np.arange(1, len(reason) + 1, dtype=np.int64), "person_id": pop.person_id[path["owner"]],
        "provider_code": path["provider_code"].astype(str), "specialty": path["specialty"].astype(str),
        "clock_start": path["clock_start"], "clock_stop": path["clock_stop"],
        "stop_reason": pa.DictionaryArray.from_arrays(
            pa.array(np.maximum(reason, 0).astype(np.int32), mask=reason < 0),
            pa.array(["admitted", "non_admitted", "active_monitoring", "declined", "no_treatment", "died"])),
        **inside_the_ics(len(reason)),
    })


def elective_admissions(ctx: SynthContext, rng: np.random.Generator, path: dict[str, np.ndarray],
                        site_of_provider: dict[str, str]) -> dict[str, np.ndarray]:
    """Admitted clock stops become elective spells on the stop date: 80 % day cases (HES 2013)."""
    take = np.flatnonzero((path["stop_reason"] == 0) & ~np.isnat(path["clock_stop"])
                          & (path["clock_stop"] >= ctx.start_day))
    n = len(take)
    day_case = rng.random(n) < 0.8
    admit = path["clock_stop"][take].astype("datetime64[s]") + (rng.uniform(7, 11, n) * 3600).astype("timedelta64[s]")
    stay = np.where(day_case, rng.uniform(0.15, 0.4, n), np.clip(2.5 * np.exp(0.6 * rng.standard_normal(n)), 0.6, 40))
    method = np.array(["11", "12", "13"], dtype=object)[rng.choice(3, size=n, p=[0.85, 0.1, 0.05])]
    provider = path["provider_code"][take]
    return {"owner": path["owner"][take], "admission_time": admit, "admission_method": method,
            "site_code": np.array([site_of_provider[p] for p in provider], dtype=object),
            "classpat": np.where(day_case, "2", "1").astype(object), "specialty": path["specialty"][take].copy(),
            "stay_days": stay, "died": np.zeros(n, bool)}


def outpatients(ctx: SynthContext, rng: np.random.Generator, pop: Population, first: np.ndarray, span: np.ndarray,
                path: dict[str, np.ndarray], path_ids: np.ndarray, usual: np.ndarray) -> pa.Table:
    """First appointments on each pathway, follow-ups on it, and follow-ups of people with long-term
    conditions outside RTT, to ~1,660 per 1,000 a year in all (31 % first)."""
    n_path = len(path["owner"])
    last = path["clock_stop"].copy()
    last_day = first[path["owner"]] + span[path["owner"]].astype("timedelta64[D]")
    last = np.where(np.isnat(last), last_day, last)
    first_appt = path["clock_start"] + _days(7 * (2 + 6 * rng.random(n_path)))
    follow = rng.poisson(1.3, n_path)
    f_owner = expand(follow)
    length = np.maximum((last - first_appt).astype(np.int64), 1)[f_owner]
    follow_day = first_appt[f_owner] + _days(rng.random(len(f_owner)) * length)
    # Outside RTT: follow-ups for people with LTCs, sized to make the total ~1,660 per 1,000.
    years = span / 365.25
    in_period = lambda d: (d >= ctx.start_day) & (d < ctx.end_day)  # noqa: E731
    rtt_count = in_period(first_appt).sum() + in_period(follow_day).sum()
    remaining = max(OUTPATIENT_TOTAL * years.sum() - rtt_count, 0)
    weight = (0.3 + pop.ltc_count) * years
    other = expand(rng.poisson(weight * remaining / max(weight.sum(), 1e-9)))
    other_day = first[other] + _days(rng.random(len(other)) * np.maximum(span[other], 1))
    owner = np.concatenate([path["owner"], path["owner"][f_owner], other])
    day = _weekday_after(np.concatenate([first_appt, follow_day, other_day]))
    pathway = np.concatenate([path_ids, path_ids[f_owner], np.zeros(len(other), np.int64)])
    specialty = np.concatenate([path["specialty"], path["specialty"][f_owner],
                                np.array(list(RTT_SPECIALTIES), dtype=object)[rng.integers(0, len(RTT_SPECIALTIES),
                                                                                            len(other))]])
    # Firsts outside RTT (clinics that start no clock) bring the first share to ~31 % (HES 2008-09).
    is_first = np.r_[np.ones(n_path, bool), np.zeros(len(f_owner), bool), rng.random(len(other)) < 0.2]
    death = pop.death_date[owner]
    keep = in_period(day) & (np.isnat(death) | (day <= death)) & (day < first[owner] + span[owner].astype(
        "timedelta64[D]") + 1)
    owner, day, pathway, specialty, is_first = owner[keep], day[keep], pathway[keep], specialty[keep], is_first[keep]
    n = len(owner)
    status = rng.choice(4, size=n, p=[0.88, 0.07, 0.025, 0.025])
    medium = rng.choice(3, size=n, p=[0.85, 0.12, 0.03])
    return pa.table({
        "appointment_id": np.arange(1, n + 1, dtype=np.int64), "person_id": pop.person_id[owner],
        "site_code": usual[owner].astype(str), "appointment_date": day, "specialty": specialty.astype(str),
        "first_attendance": is_first,
        "status": category(status, ["attended", "dna", "cancelled_by_patient", "cancelled_by_provider"]),
        "consultation_medium": category(medium, ["face_to_face", "telephone", "video"]),
        "pathway_id": pa.array(pathway, mask=pathway == 0), **inside_the_ics(n),
    })


def cancer(ctx: SynthContext, rng: np.random.Generator, pop: Population, first: np.ndarray, span: np.ndarray,
           provider: np.ndarray) -> pa.Table:
    age = pop.age_on(ctx.start_day).astype(float)
    years = span / 365.25
    rate = np.interp(age, [0, 30, 50, 65, 75, 85], [0.002, 0.015, 0.05, 0.09, 0.12, 0.12])
    rate = rate * CANCER_REFERRALS * years.sum() / max((rate * years).sum(), 1e-9)
    owner = expand(rng.poisson(rate * years))
    n = len(owner)
    day = first[owner] + _offset(rng.random(n) * np.maximum(span[owner], 1))
    referral = _weekday_after(day)
    # A weekend referral moves to Monday, or back to Friday where Monday is after the person's death or move.
    wd = weekday(day)
    friday = day - np.where(wd == 5, 1, np.where(wd == 6, 2, 0)).astype("timedelta64[D]")
    last = first[owner] + span[owner].astype("timedelta64[D]")
    referral = np.where(referral < last, referral, np.where(friday >= first[owner], friday, day))
    tumour, keys = _choice(rng, n, TUMOURS)
    female = pop.sex[owner] == "F"
    tumour = np.where((np.array(keys)[tumour] == "gynaecological") & ~female, keys.index("urological"), tumour)
    tumour = np.where((np.array(keys)[tumour] == "breast") & ~female & (rng.random(n) < 0.97), keys.index("skin"),
                      tumour)
    to_diagnosis = 19 * np.exp(0.55 * rng.standard_normal(n))
    diagnosis = referral + _days(to_diagnosis)
    confirmed = rng.random(n) < np.interp(age[owner], [30, 60, 80], [0.03, 0.065, 0.1])
    dtt = diagnosis + _days(16 * np.exp(0.6 * rng.standard_normal(n)))
    treat = dtt + _days(np.clip(12.5 * np.exp(0.62 * rng.standard_normal(n)), 1, None))
    end = first[owner] + span[owner].astype("timedelta64[D]")
    diagnosis = np.where(diagnosis < end, diagnosis, NAT)
    known = ~np.isnat(diagnosis)
    dtt = np.where(confirmed & known & (dtt < end), dtt, NAT)
    treat = np.where(~np.isnat(dtt) & (treat < end), treat, NAT)
    modality = rng.choice(4, size=n, p=[0.45, 0.25, 0.2, 0.1])
    return pa.table({
        "pathway_id": np.arange(1, n + 1, dtype=np.int64), "person_id": pop.person_id[owner],
        "provider_code": provider[owner].astype(str), "tumour_group": category(tumour, keys),
        "referral_date": referral, "diagnosis_date": diagnosis,
        "cancer_confirmed": pa.array(confirmed, mask=~known), "decision_to_treat_date": dtt,
        "first_treatment_date": treat,
        "treatment_modality": pa.DictionaryArray.from_arrays(pa.array(modality.astype(np.int32), mask=np.isnat(treat)),
                                                             pa.array(["surgery", "chemotherapy", "radiotherapy",
                                                                       "other"])),
        **inside_the_ics(n),
    })


def diagnostics(ctx: SynthContext, rng: np.random.Generator, pop: Population, first: np.ndarray, span: np.ndarray,
                provider: np.ndarray) -> pa.Table:
    age = pop.age_on(ctx.start_day).astype(float)
    years = span / 365.25
    rate = np.interp(age, [0, 20, 40, 60, 80], [0.1, 0.25, 0.35, 0.6, 0.8]) * (1 + 0.15 * pop.ltc_count)
    rate = rate * DIAGNOSTIC_TESTS * years.sum() / max((rate * years).sum(), 1e-9)
    owner = expand(rng.poisson(rate * years))
    n = len(owner)
    request = first[owner] + _offset(rng.random(n) * np.maximum(span[owner], 1))
    slow = rng.random(n) < 0.42  # DM01: ~22 % of the list waiting 6 weeks or more
    wait_days = np.where(slow, 45 * np.exp(0.5 * rng.standard_normal(n)), 14 * np.exp(0.6 * rng.standard_normal(n)))
    test_date = request + _days(wait_days)
    end = first[owner] + span[owner].astype("timedelta64[D]")
    left = (test_date >= end) & (end < ctx.end_day)  # moved away or died before the test: not counted here
    test_date = np.where(test_date < end, test_date, NAT)
    test, keys = _choice(rng, n, TESTS)
    owner, request, test_date, test = owner[~left], request[~left], test_date[~left], test[~left]
    n = len(owner)
    return pa.table({
        "request_id": np.arange(1, n + 1, dtype=np.int64), "person_id": pop.person_id[owner],
        "provider_code": provider[owner].astype(str), "test": category(test, keys),
        "request_date": request, "test_date": test_date,
        **inside_the_ics(n),
    })
