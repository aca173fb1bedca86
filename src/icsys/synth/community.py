"""Care outside hospital: community health services (district nursing, the 2-hour urgent community
response, virtual wards, therapy, frailty and falls teams), step-up community beds, long-term adult
social care, and mental health referrals.

Calibration (../shared/reference/calibration.md): UCR ~15 referrals per 1,000 a year, mostly frail
older people, ~75-85 % reached within 2 hours; adult social care long-term support ~1,400 per 100k
adults at any time; care-home residents 2.5 % of 65+; NHS Talking Therapies ~31 referrals per 1,000
adults a year, ~37 % finishing treatment, ~48 % of finishers reliably recovering.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from icsys.synth.context import Population, SynthContext
from icsys.synth.timing import at_seconds, category, expand, hours, inside_the_ics, seasonal_days

NAT_D = np.datetime64("NaT", "D")
# Long-term home care, for people severely / moderately frail, mildly frail 75+, adults with a learning
# disability, other adults: with care-home placements ~1,400 per 100k adults in long-term support
# (ASC-FR 2023-24) [S45], about 0.5 % of people with home care on a day (~250,000 clients in England).
HOME_CARE = (0.5, 0.2, 0.04, 0.36)
HOME_CARE_OTHER_ADULTS = 0.0016
# Long-term support in the community as ASC-FR 2023-24 counts it [S45]: home care about half, the rest direct
# payments, supported living and day care; working-age adults (mostly people with a learning disability) more
# often in supported living or on direct payments, older people more often with home care.
SOCIAL_CARE_SERVICES = ["domiciliary", "reablement", "residential", "nursing", "direct_payment", "supported_living",
                        "day_care"]
COMMUNITY_SUPPORT = {  # service index: share, for people 65+ and for adults under 65
    0: (0.58, 0.25), 4: (0.26, 0.35), 5: (0.05, 0.30), 6: (0.11, 0.10)}
DAYTIME = np.r_[np.full(8, 0.3), np.full(12, 5.0), np.full(4, 1.0)]
# service: yearly referrals (episodes) for a severely frail person, a moderately frail one, anyone else 75+,
# an adult under 75 with a long-term condition, anyone else; and the mean contacts in an episode. About
# 1,300 contacts per 1,000 people a year (Community Services Data Set: ~100 M contacts in England, 2023-24),
# most of them district nursing visits to housebound frail people.
COMMUNITY_SERVICES: dict[str, tuple[tuple[float, float, float, float, float], float]] = {
    "district_nursing": ((8.0, 3.0, 0.15, 0.02, 0.002), 7.0),
    "urgent_community_response": ((0.55, 0.25, 0.025, 0.002, 0.0), 1.0),  # ~15 referrals per 1,000 a year
    "virtual_ward": ((0.12, 0.04, 0.004, 0.001, 0.0), 4.0),
    "therapy": ((0.6, 0.3, 0.1, 0.06, 0.03), 5.0),
    "frailty_team": ((0.5, 0.2, 0.0, 0.0, 0.0), 2.0),
    "falls_service": ((0.25, 0.1, 0.02, 0.0, 0.0), 3.0),
    "long_term_conditions": ((0.8, 0.4, 0.05, 0.05, 0.0), 3.0),
}
COMMUNITY_PROPENSITY = 0.5  # referrals rise with the lasting tendency to use care (power of propensity)
DAYS_BETWEEN_CONTACTS = {"district_nursing": 5.0, "virtual_ward": 1.0}  # else about a week


def community_contacts(ctx: SynthContext, rng: np.random.Generator, pop: Population, first: np.ndarray,
                       span: np.ndarray, provider: np.ndarray) -> pa.Table:
    """Referrals to each community service, each an episode of one or more contacts (the CSDS counts
    contacts), by frailty, age, long-term conditions and the person's lasting propensity."""
    age = pop.age_on(ctx.start_day)
    years = span / 365.25
    tendency = pop.propensity ** COMMUNITY_PROPENSITY
    tendency = tendency / tendency.mean()
    group = np.select([pop.frailty > 0.36, pop.frailty > 0.24, age >= 75, (age >= 18) & (pop.ltc_count > 0)],
                      [0, 1, 2, 3], 4)
    owners, services, referral, contact, ends = [], [], [], [], []
    last = first + span.astype("timedelta64[D]")
    for index, (service, (rates, per_episode)) in enumerate(COMMUNITY_SERVICES.items()):
        rate = np.array(rates)[group] * tendency
        rate = rate * np.where(pop.care_home, 0.3 if service == "district_nursing" else 1.0, 1.0)
        episode = expand(rng.poisson(rate * years))
        day = seasonal_days(rng, first[episode], np.maximum(span[episode], 1), 0.12)
        ref = at_seconds(day, hours(rng, len(episode), DAYTIME))
        if service == "urgent_community_response":
            delay_min = 75 * np.exp(0.6 * rng.standard_normal(len(episode)))
        else:
            delay_min = rng.uniform(0.5, 10, len(episode)) * 24 * 60
        first_contact = ref + (delay_min * 60).astype("timedelta64[s]")
        # Contacts in the episode: the first, then more at intervals of about DAYS_BETWEEN_CONTACTS.
        count = 1 + rng.poisson(per_episode - 1, len(episode))
        row = np.repeat(np.arange(len(episode)), count)
        step = rng.exponential(DAYS_BETWEEN_CONTACTS.get(service, 7.0), len(row)) * 86_400
        starts = (np.cumsum(count) - count).astype(np.int64)
        step[starts] = 0
        gap = np.cumsum(step)
        gap = gap - np.repeat(gap[starts], count)
        when = first_contact[row] + gap.astype("timedelta64[s]")
        keep = when < last[episode[row]].astype("datetime64[s]")
        row, when = row[keep], when[keep]
        owners.append(episode[row])
        services.append(np.full(len(row), index, np.int32))
        referral.append(ref[row])
        contact.append(when)
        stay = rng.integers(3, 15, len(episode)).astype("timedelta64[D]")
        ends.append(np.where(service == "virtual_ward", day + stay, NAT_D)[row])
    owner = np.concatenate(owners)
    n = len(owner)
    end_date = np.concatenate(ends)
    end_date = np.where(end_date < last[owner], end_date, NAT_D)
    return pa.table({
        "contact_id": np.arange(1, n + 1, dtype=np.int64), "person_id": pop.person_id[owner],
        "provider_code": provider[owner].astype(str), "service": category(np.concatenate(services),
                                                                           list(COMMUNITY_SERVICES)),
        "referral_time": np.concatenate(referral), "contact_time": np.concatenate(contact), "end_date": end_date,
        **inside_the_ics(n),
    })


def step_up_stays(ctx: SynthContext, rng: np.random.Generator, pop: Population, first: np.ndarray,
                  span: np.ndarray, unit_of_district: dict[str, str]) -> pa.Table:
    """Community bed admissions from home (step up), for frail people, instead of a hospital admission."""
    rate = np.where(pop.frailty > 0.36, 0.06, np.where(pop.frailty > 0.24, 0.015, 0.0))
    owner = expand(rng.poisson(rate * span / 365.25))
    n = len(owner)
    day = seasonal_days(rng, first[owner], np.maximum(span[owner], 1), 0.15)
    admit = at_seconds(day, hours(rng, n, DAYTIME))
    stay = np.clip(16 * np.exp(0.5 * rng.standard_normal(n)), 2, 120)
    ready = admit + (stay * 0.85 * 86_400).astype("timedelta64[s]")
    discharge = admit + (stay * 86_400).astype("timedelta64[s]")
    end = ctx.end_day.astype("datetime64[s]")
    death = pop.death_date[owner].astype("datetime64[s]")
    died = ~np.isnat(death) & (death < discharge)
    discharge = np.where(died, np.maximum(death, admit), discharge)
    open_ = discharge >= end
    destination = np.where(died, "79", np.where(rng.random(n) < 0.85, "19", "85"))
    return pa.table({
        "stay_id": np.arange(1, n + 1, dtype=np.int64), "person_id": pop.person_id[owner],
        "unit_code": np.array([unit_of_district[d] for d in pop.district[owner]], dtype=object).astype(str),
        "source": np.full(n, "step_up"), "admission_time": admit,
        "ready_for_discharge_time": np.where((ready >= end) | died | (ready > discharge), np.datetime64("NaT", "s"),
                                             ready),
        "discharge_time": np.where(open_, np.datetime64("NaT", "s"), discharge),
        "discharge_destination": np.where(open_, "98", destination), "spell_id": pa.nulls(n, pa.int64()),
    })


def social_care(ctx: SynthContext, rng: np.random.Generator, pop: Population, first: np.ndarray,
                span: np.ndarray, council: np.ndarray, home_of_district: dict[str, tuple[list[str], np.ndarray]]
                ) -> pa.Table:
    """Long-term support: care-home placements for residents; for frail people at home home care, direct
    payments, supported living or day care."""
    age = pop.age_on(ctx.start_day)
    registered = span > 0
    # Council-funded care-home residents (~60 %; the rest fund themselves) and home care for frail
    # people and working-age adults with learning disabilities: ~1,400 per 100k adults in long-term
    # support at any time (ASC-FR 2023-24: 650,085 at 31 March 2024).
    resident = np.flatnonzero(pop.care_home & registered & (rng.random(len(pop)) < 0.6))
    disability = pop.conditions.get("learning_disability", np.zeros(len(pop), bool))
    p_home_care = np.select([pop.frailty > 0.36, pop.frailty > 0.24, (pop.frailty > 0.12) & (age >= 75),
                             disability & (age >= 18)], HOME_CARE, HOME_CARE_OTHER_ADULTS * (age >= 18))
    home_care = np.flatnonzero(~pop.care_home & registered & (rng.random(len(pop)) < p_home_care))
    owner = np.concatenate([resident, home_care])
    n = len(owner)
    years_before = rng.exponential(1.8, n) * 365.25
    start = ctx.start_day - years_before.astype("timedelta64[D]")
    joined_later = first[owner] > ctx.start_day
    start = np.where(joined_later | (rng.random(n) < 0.3), first[owner] + (rng.random(n) * np.maximum(
        span[owner], 1)).astype("timedelta64[D]"), start)
    request = start - rng.integers(3, 40, n).astype("timedelta64[D]")
    death = pop.death_date[owner]
    last = first[owner] + span[owner].astype("timedelta64[D]")
    end_date = np.where(~np.isnat(death) & (death < ctx.end_day), death,
                        np.where(last < ctx.end_day, last, NAT_D))
    nursing = np.zeros(n, bool)
    homes = np.empty(n, dtype=object)
    for code in np.unique(pop.district[resident]):
        mask = np.r_[pop.district[resident] == code, np.zeros(len(home_care), bool)]
        codes, p = home_of_district[code]
        homes[mask] = np.array(codes, dtype=object)[rng.choice(len(codes), size=int(mask.sum()), p=p)]
        nursing[mask] = rng.random(int(mask.sum())) < 0.45
    is_resident = np.r_[np.ones(len(resident), bool), np.zeros(len(home_care), bool)]
    service = np.where(is_resident, np.where(nursing, 3, 2), _community_support(rng, age[owner] >= 65))
    hours_week = np.where(service == 0, np.clip(9 * np.exp(0.55 * rng.standard_normal(n)), 1, 60).round(1), np.nan)
    return pa.table({
        "package_id": np.arange(1, n + 1, dtype=np.int64), "person_id": pop.person_id[owner],
        "council_code": council[owner].astype(str),
        "service_type": category(service, SOCIAL_CARE_SERVICES),
        "request_date": request, "start_date": start, "end_date": np.where(end_date < start, start, end_date),
        "weekly_hours": pa.array(hours_week, from_pandas=True),
        "care_home_code": pa.array(np.where(is_resident, homes, None), pa.string()),
    })


def _community_support(rng: np.random.Generator, older: np.ndarray) -> np.ndarray:
    """The service of each person's long-term support at home (COMMUNITY_SUPPORT), by age."""
    services = np.array(list(COMMUNITY_SUPPORT))
    shares = np.array(list(COMMUNITY_SUPPORT.values()))
    u = rng.random(len(older))
    cumulative = np.cumsum(np.where(older[:, None], shares[:, 0], shares[:, 1]), axis=1)
    return services[np.minimum((u[:, None] > cumulative).sum(axis=1), len(services) - 1)]


# Referral to first contact (median days, spread of its log), share contacted and share finishing treatment.
ADULT_MENTAL_HEALTH = {
    "talking_therapies": (20.0, 0.8, 0.72, 0.52),  # 37 % of referrals finish (IAPT)
    "eip": (11.0, 0.7, 0.95, 0.8), "crisis": (0.5, 0.8, 0.95, 0.8), "community_mental_health": (25.0, 0.7, 0.95, 0.8),
}
# Children and young people's services: referrals a person-year by age (0-4, 5-10, 11-17; girls, boys at
# 11-17), about 0.07 overall, so about 5-6 % of under-18s have a contact in a year (48 % of the 1.4 million
# with a disorder, Children's Commissioner 2023) and a third of referrals close without treatment (32 %
# in 2021/22). Services as shares of referrals, with their times.
CYP_REFERRAL_RATE = (0.01, 0.05, 0.15, 0.11)
CYP_MENTAL_HEALTH = {
    "community_mental_health": (0.85, (42.0, 0.8, 0.68, 0.8)), "crisis": (0.08, (0.5, 0.8, 0.9, 0.8)),
    "eating_disorder": (0.04, (14.0, 0.6, 0.9, 0.8)), "learning_disability_autism": (0.03, (60.0, 0.8, 0.68, 0.8)),
}


def mental_health(ctx: SynthContext, rng: np.random.Generator, pop: Population, first: np.ndarray,
                  span: np.ndarray, provider: str) -> pa.Table:
    """Referrals to adult services (with Talking Therapies' PHQ-9 and GAD-7), then, on their own stream so
    the adults' draws stay as they were, children and young people's services (numbered after the adults';
    each part's service column keeps its own dictionary)."""
    adults = _adult_mental_health(ctx, rng, pop, first, span, provider)
    young = _young_mental_health(ctx, ctx.rng("young_mental_health", pop.chunk), pop, first, span, provider,
                                 first_id=adults.num_rows + 1)
    return pa.concat_tables([adults, young])


def _adult_mental_health(ctx: SynthContext, rng: np.random.Generator, pop: Population, first: np.ndarray,
                         span: np.ndarray, provider: str) -> pa.Table:
    age = pop.age_on(ctx.start_day).astype(float)
    depressed = pop.diagnosed["depression"]
    smi = pop.diagnosed["smi"]
    adult = (age >= 18) & (age < 85)
    rates = {
        "talking_therapies": adult * np.where(pop.sex == "F", 0.05, 0.031) * np.where(depressed, 3.0, 0.75),
        "eip": ((age >= 14) & (age <= 35)) * 0.0003 * np.where(smi, 20, 1),
        "crisis": adult * (0.004 + 0.15 * smi),
        "community_mental_health": adult * (0.006 + 0.3 * smi),
    }
    owners, services = [], []
    for index, rate in enumerate(rates.values()):
        owner = expand(rng.poisson(rate * span / 365.25))
        owners.append(owner)
        services.append(np.full(len(owner), index, np.int32))
    times = np.array(list(ADULT_MENTAL_HEALTH.values()))
    return _referrals(rng, pop, first, span, np.concatenate(owners), np.concatenate(services),
                      list(ADULT_MENTAL_HEALTH), times, provider)


def _young_mental_health(ctx: SynthContext, rng: np.random.Generator, pop: Population, first: np.ndarray,
                         span: np.ndarray, provider: str, first_id: int) -> pa.Table:
    age = pop.age_on(ctx.start_day).astype(float)
    under5, child, girls, boys = CYP_REFERRAL_RATE
    teen = np.where(pop.sex == "F", girls, boys)
    rate = np.select([age < 5, age < 11, age < 18], [under5, child, teen], 0.0)
    owner = expand(rng.poisson(rate * span / 365.25))
    shares = np.array([share for share, _ in CYP_MENTAL_HEALTH.values()])
    service = rng.choice(len(shares), size=len(owner), p=shares / shares.sum()).astype(np.int32)
    times = np.array([t for _, t in CYP_MENTAL_HEALTH.values()])
    return _referrals(rng, pop, first, span, owner, service, list(CYP_MENTAL_HEALTH), times, provider, first_id)


def _referrals(rng: np.random.Generator, pop: Population, first: np.ndarray, span: np.ndarray, owner: np.ndarray,
               service: np.ndarray, names: list[str], times: np.ndarray, provider: str,
               first_id: int = 1) -> pa.Table:
    """Referral, first and last contact and discharge of each referral, inside the owner's time in the area;
    PHQ-9 and GAD-7 at first and last contact for Talking Therapies."""
    n = len(owner)
    median_wait, spread, p_contact, p_finish = (times[service, i] for i in range(4))
    referral = first[owner] + (rng.random(n) * np.maximum(span[owner], 1)).astype("timedelta64[D]")
    wait = np.round(median_wait * np.exp(spread * rng.standard_normal(n)))
    contacted = rng.random(n) < p_contact
    first_contact = np.where(contacted, referral + wait.astype("timedelta64[D]"), NAT_D)
    finished = contacted & (rng.random(n) < p_finish)
    sessions = np.where(finished, rng.integers(2, 13, n), np.where(contacted, 1, 0))
    last_contact = np.where(finished, first_contact + (sessions * 7 + rng.integers(0, 14, n)).astype(
        "timedelta64[D]"), first_contact)
    discharge = np.where(contacted, last_contact + rng.integers(1, 30, n).astype("timedelta64[D]"),
                         referral + rng.integers(20, 90, n).astype("timedelta64[D]"))
    end = first[owner] + span[owner].astype("timedelta64[D]")
    first_contact = np.where(first_contact < end, first_contact, NAT_D)
    last_contact = np.where(~np.isnat(first_contact) & (last_contact < end), last_contact, NAT_D)
    discharge = np.where(discharge < end, discharge, NAT_D)
    talking = service == (names.index("talking_therapies") if "talking_therapies" in names else -1)
    phq_first = np.clip(np.round(rng.normal(15, 5, n)), 0, 27)
    gad_first = np.clip(np.round(rng.normal(13, 4, n)), 0, 21)
    improve = rng.random(n) < 0.9
    phq_last = np.clip(phq_first - np.where(improve, rng.normal(10, 4, n), rng.normal(1, 3, n)), 0, 27).round()
    gad_last = np.clip(gad_first - np.where(improve, rng.normal(8, 3, n), rng.normal(1, 2, n)), 0, 21).round()
    has_first = talking & ~np.isnat(first_contact)
    has_last = talking & ~np.isnat(last_contact) & (sessions >= 2)
    return pa.table({
        "referral_id": np.arange(first_id, first_id + n, dtype=np.int64), "person_id": pop.person_id[owner],
        "provider_code": np.full(n, provider), "service": category(service, names),
        "referral_date": referral, "first_contact_date": first_contact, "last_contact_date": last_contact,
        "discharge_date": discharge,
        "phq9_first": pa.array(phq_first.astype(np.int64), mask=~has_first),
        "phq9_last": pa.array(phq_last.astype(np.int64), mask=~has_last),
        "gad7_first": pa.array(gad_first.astype(np.int64), mask=~has_first),
        "gad7_last": pa.array(gad_last.astype(np.int64), mask=~has_last),
        "sessions": pa.array(sessions.astype(np.int64), mask=np.isnat(first_contact)),
        **inside_the_ics(n),
    })
