"""Synthetic people: who is registered where, their age, sex, ethnicity, deprivation, long-term
conditions, frailty, and when they join, leave and die. Vectorised over a chunk of practices.

Calibration (see ../shared/reference/calibration.md): each district's share aged 0-15 and 65+
(Census 2021); QOF-like register prevalence by age, sex and deprivation; CFAS II dementia
prevalence by age and sex; eFI shares among 65+ of about 50 % fit, 35 % mild, 12 % moderate, 3 %
severe (Clegg 2016); deaths about 9.4 per 1,000 a year (ONS 2023) with the place-of-death mix of
OHID's 2022 profile.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from scipy.special import ndtri

from icsys.synth.context import Population, SynthContext
from icsys.system.model import District, Practice

AGES = np.arange(105)
ETHNIC_LETTERS = {  # NHS ethnic category letters within each census group, with rough weights
    "White": (("A", "B", "C"), (0.87, 0.02, 0.11)),
    "Asian": (("H", "J", "K", "L"), (0.45, 0.15, 0.1, 0.3)),
    "Black": (("M", "N", "P"), (0.25, 0.65, 0.1)),
    "Mixed": (("D", "E", "F", "G"), (0.3, 0.15, 0.3, 0.25)),
    "Other": (("R", "S"), (0.3, 0.7)),
}
NOT_STATED = 0.03
# Births a year per person registered: ~10.8 per 1,000 (ONS births by local authority 2022: Kent ~10.5,
# Medway ~12),
# so each cohort born in the period is the size of the cohorts born before it. People moving in (any age)
# about balance the 3.5 % a year who leave.
BIRTH_RATE = 0.0108
MOVING_IN = 0.03
PRACTICE_CHANGE = 0.02  # a year: people who move to another practice of the system

# Prevalence (true, by the end of the period) at age points, from QOF register sizes (2023-24)
# with their age gradients; (male:female ratio, deprivation gradient k: most deprived decile has 1+k
# times the average, least deprived 1-k).
AGE_POINTS = np.array([8, 28, 45, 55, 65, 75, 88])
CONDITIONS: dict[str, tuple[tuple[float, ...], float, float]] = {
    "hypertension": ((0.0, 0.03, 0.12, 0.26, 0.45, 0.62, 0.72), 1.1, 0.15),
    "diabetes": ((0.002, 0.01, 0.05, 0.10, 0.15, 0.19, 0.18), 1.3, 0.30),
    "depression": ((0.01, 0.13, 0.16, 0.16, 0.13, 0.11, 0.11), 0.6, 0.20),
    "asthma": ((0.05, 0.07, 0.065, 0.065, 0.07, 0.07, 0.06), 0.9, 0.15),
    "ckd": ((0.0, 0.001, 0.005, 0.015, 0.04, 0.11, 0.25), 0.9, 0.15),
    "cancer": ((0.001, 0.005, 0.015, 0.03, 0.06, 0.10, 0.13), 1.0, 0.05),
    "chd": ((0.0, 0.001, 0.006, 0.02, 0.05, 0.10, 0.16), 1.8, 0.25),
    "atrial_fibrillation": ((0.0, 0.001, 0.003, 0.008, 0.025, 0.07, 0.15), 1.4, 0.05),
    "copd": ((0.0, 0.001, 0.005, 0.015, 0.04, 0.07, 0.08), 1.2, 0.50),
    "stroke": ((0.0, 0.002, 0.005, 0.012, 0.03, 0.06, 0.10), 1.2, 0.20),
    "heart_failure": ((0.0, 0.0005, 0.002, 0.005, 0.015, 0.035, 0.08), 1.4, 0.20),
    "smi": ((0.001, 0.012, 0.014, 0.013, 0.011, 0.009, 0.008), 1.1, 0.50),
    "epilepsy": ((0.006, 0.008, 0.008, 0.008, 0.008, 0.009, 0.009), 1.1, 0.20),
    "rheumatoid_arthritis": ((0.0, 0.002, 0.006, 0.010, 0.015, 0.018, 0.020), 0.4, 0.10),
    "learning_disability": ((0.008, 0.007, 0.006, 0.005, 0.004, 0.003, 0.002), 1.5, 0.20),
    "osteoporosis": ((0.0, 0.0, 0.001, 0.005, 0.015, 0.035, 0.07), 0.2, 0.05),
    "obesity": ((0.02, 0.10, 0.14, 0.16, 0.16, 0.14, 0.08), 1.0, 0.25),
}
# CFAS II dementia prevalence at 65-69 ... 90+ (Matthews 2013), men and women.
DEMENTIA_BANDS = np.array([67, 72, 77, 82, 87, 93])  # band midpoints
DEMENTIA_M = np.array([0.012, 0.030, 0.052, 0.106, 0.178, 0.315])
DEMENTIA_F = np.array([0.018, 0.025, 0.062, 0.094, 0.181, 0.350])
MORBIDITY_CORRELATION = 0.55  # loading of every condition on one shared latent "morbidity"
DEMENTIA_SURVIVAL_YEARS = 5  # mean years lived with dementia after onset (used for incidence)
UNDIAGNOSED = {"dementia": 0.35, "hypertension": 0.30}  # deliberate gaps for case finding
# log rate of other deficits: at 65, per year of age, per SD of morbidity, in a care home (set so the eFI categories of
# people 65+ are Clegg's 50/35/12/3 %)
DEFICIT_LOG_RATE = (0.75, 0.05, 0.35, 0.4)
OTHER_DEFICITS = 26  # eFI deficits that are not one of the conditions above (polypharmacy excluded)
PROPENSITY_SHAPE = 0.3  # gamma shape of the lasting tendency to use urgent care (variance 1 / shape)
DRIFT_SD, DRIFT_CORRELATION = 0.25, 0.5  # log-scale spread of a person's year-to-year drift, and its AR(1)
PLACE_OF_DEATH = ("hospital", "home", "care_home", "hospice", "other")
PLACE_OF_DEATH_ALL = np.array([0.434, 0.287, 0.205, 0.047, 0.026])  # OHID, England 2022
PLACE_OF_DEATH_CARE_HOME = np.array([0.30, 0.0, 0.65, 0.02, 0.03])


def age_distribution(district: District) -> np.ndarray:
    """Single-year age shares 0..104: an England-like shape tilted to the district's 0-15 and 65+ shares."""
    shape = np.where(AGES < 55, 1.0, np.exp(-(((AGES - 55).clip(0)) / 29.0) ** 3))
    shape = shape * np.where(AGES <= 15, 0.88 + 0.24 * AGES / 15, 1.0)  # births have fallen: 0-4s ~5.5 %
    young, old = AGES <= 15, AGES >= 65
    mid = ~young & ~old
    shares = np.empty(len(AGES))
    for mask, target in ((young, district.share_0_15), (old, district.share_65_plus),
                         (mid, 1 - district.share_0_15 - district.share_65_plus)):
        shares[mask] = shape[mask] / shape[mask].sum() * target
    return shares


def male_share(age: np.ndarray) -> np.ndarray:
    """Boys slightly outnumber girls at birth; women outnumber men from the 50s on."""
    return np.interp(age, [0, 50, 70, 85, 100], [0.512, 0.495, 0.48, 0.42, 0.28])


def lsoas(ctx: SynthContext, district: District, index: int) -> tuple[np.ndarray, np.ndarray]:
    """A district's LSOA codes and their IMD deciles: fixed per district, whatever the chunk."""
    rng = ctx.rng("lsoa", district.code)
    codes = np.array([f"E01{100000 + index * 2000 + j:06d}" for j in range(district.lsoa_count)], dtype=object)
    deciles = rng.choice(np.arange(1, 11), size=district.lsoa_count, p=np.array(district.imd_decile_shares)
                         / sum(district.imd_decile_shares))
    return codes, deciles.astype(np.int8)


def generate_population(ctx: SynthContext, chunk: int, practices: list[Practice],
                        first_person_id: int) -> Population:
    """The people registered with `practices` at the start of the period, plus those who join during it."""
    rng = ctx.rng("population", chunk)
    districts = {d.code: (i, d) for i, d in enumerate(ctx.system.district)}
    sizes = np.array([max(1, round(p.list_size * ctx.scale)) for p in practices])
    births = rng.binomial(sizes, min(0.5, BIRTH_RATE * ctx.years))
    movers = rng.binomial(sizes, min(0.5, MOVING_IN * ctx.years))
    counts = sizes + births + movers
    n = int(counts.sum())
    practice_index = np.repeat(np.arange(len(practices)), counts)
    joined = np.concatenate([np.r_[np.zeros(s, bool), np.ones(b + m, bool)]
                             for s, b, m in zip(sizes, births, movers, strict=True)])
    babies = np.concatenate([np.r_[np.zeros(s, bool), np.ones(b, bool), np.zeros(m, bool)]
                             for s, b, m in zip(sizes, births, movers, strict=True)])
    practice_code = np.array([p.code for p in practices], dtype=object)[practice_index]
    district_code = np.array([p.district for p in practices], dtype=object)[practice_index]

    age = np.empty(n, np.int16)
    imd = np.empty(n, np.int8)
    lsoa = np.empty(n, dtype=object)
    ethnicity = np.empty(n, dtype="<U1")
    for code in np.unique(district_code):
        mask = district_code == code
        k = int(mask.sum())
        index, district = districts[code]
        age[mask] = rng.choice(AGES, size=k, p=age_distribution(district))
        codes, deciles = lsoas(ctx, district, index)
        pick = rng.integers(0, len(codes), k)
        lsoa[mask], imd[mask] = codes[pick], deciles[pick]
        ethnicity[mask] = _ethnicity(rng, district, k)

    start = ctx.start_day
    sex = np.where(rng.random(n) < male_share(age), "M", "F")
    months_back = age.astype(np.int64) * 12 + rng.integers(0, 12, n)
    birth = (start.astype("datetime64[M]") - months_back).astype("datetime64[D]")
    registration_start = birth + rng.integers(14, 60, n).astype("timedelta64[D]")
    years_registered = rng.exponential(9.0, n) * 365.25
    registration_start = np.maximum(registration_start, start - years_registered.astype("timedelta64[D]"))
    registration_start = np.minimum(registration_start, start)
    # Joiners: babies born in the period, and people moving in at any age.
    join_day = start + (rng.random(n) * ctx.days).astype("timedelta64[D]")
    birth = np.where(babies, join_day.astype("datetime64[M]").astype("datetime64[D]"), birth)
    age = np.where(babies, 0, age).astype(np.int16)
    registration_start = np.where(joined, np.maximum(join_day, birth + 14), registration_start)
    leaves = ~joined & (rng.random(n) < 0.035 * ctx.years)
    registration_end = np.where(leaves, start + (rng.random(n) * ctx.days).astype("timedelta64[D]"),
                                np.datetime64("NaT"))

    morbidity = rng.standard_normal(n)
    age_end = age + ctx.years
    conditions, onset = _conditions(rng, ctx, age_end, sex, imd, morbidity, birth)
    diagnosed = {name: has & (rng.random(n) >= UNDIAGNOSED.get(name, 0.0)) for name, has in conditions.items()}
    care_home = _care_home(rng, age, conditions["dementia"], morbidity)
    deficits = _frailty_deficits(rng, age, imd, morbidity, care_home, diagnosed)
    frailty = deficits / 36
    ltc = np.sum([d for d in diagnosed.values()], axis=0).astype(np.int16)
    propensity = _propensity(rng, age, frailty, ltc, imd)
    drift = yearly_drift(ctx.rng("drift", chunk), n, max(ctx.years, 1))

    death = _deaths(rng, ctx, age, sex, frailty, imd, care_home, registration_start, registration_end)
    registration_end = np.where(np.isnat(death), registration_end, death)
    place = _place_of_death(rng, death, care_home)
    pop = Population(
        chunk=chunk, person_id=np.arange(first_person_id, first_person_id + n, dtype=np.int64), sex=sex,
        birth_date=birth, imd_decile=imd, district=district_code, practice_code=practice_code,
        ethnicity=ethnicity, lsoa_code=lsoa, registration_start=registration_start,
        registration_end=registration_end, death_date=death, place_of_death=place, care_home=care_home,
        frailty=frailty, ltc_count=ltc, propensity=propensity, conditions=conditions, onset=onset,
        diagnosed=diagnosed, deficits=deficits, drift=drift)
    _change_practices(ctx, pop, practices)
    return pop


def _change_practices(ctx: SynthContext, pop: Population, practices: list[Practice]) -> None:
    """Some people registered before a day of the period moved to another practice of the system on it: their
    earlier registration was with a practice of the same chunk. A stream of its own, so nothing else moves."""
    n = len(pop)
    pop.earlier_practice = np.full(n, "", dtype=object)
    pop.practice_since = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    if len(practices) < 2:
        return
    rng = ctx.rng("registration", pop.chunk)
    day = ctx.start_day + (rng.random(n) * ctx.days).astype("timedelta64[D]")
    still = np.isnat(pop.registration_end) | (pop.registration_end > day)
    moves = (rng.random(n) < PRACTICE_CHANGE * ctx.years) & (pop.registration_start < day) & still
    codes = np.array([p.code for p in practices], dtype=object)
    other = codes[rng.integers(0, len(codes), n)]
    moves &= other != pop.practice_code
    pop.earlier_practice[moves] = other[moves]
    pop.practice_since[moves] = day[moves]


def latest_registration_start(pop: Population) -> np.ndarray:
    """Start of each person's latest registration (the person table's registration_start)."""
    if pop.practice_since is None:
        return pop.registration_start
    return np.where(np.isnat(pop.practice_since), pop.registration_start, pop.practice_since)


def registration_table(pop: Population) -> pa.Table:
    """gp_registration: the latest registration of everyone, and the earlier one of those who changed practice."""
    latest_start = latest_registration_start(pop)
    if pop.earlier_practice is None or pop.practice_since is None:
        pop.earlier_practice = np.full(len(pop), "", dtype=object)
        pop.practice_since = np.full(len(pop), np.datetime64("NaT"), dtype="datetime64[D]")
    moved = ~np.isnat(pop.practice_since)
    person = np.concatenate([pop.person_id, pop.person_id[moved]])
    practice = np.concatenate([pop.practice_code, pop.earlier_practice[moved]]).astype(str)
    start = np.concatenate([latest_start, pop.registration_start[moved]])
    end = np.concatenate([pop.registration_end, pop.practice_since[moved]])
    order = np.lexsort((start, person))
    return pa.table({"registration_id": np.arange(1, len(order) + 1, dtype=np.int64), "person_id": person[order],
                     "practice_code": practice[order], "registration_start": start[order],
                     "registration_end": end[order]})


def _ethnicity(rng: np.random.Generator, district: District, k: int) -> np.ndarray:
    groups = list(district.ethnicity_shares)
    weights = np.array([district.ethnicity_shares[g] for g in groups])
    group = rng.choice(len(groups), size=k, p=weights / weights.sum())
    out = np.empty(k, dtype="<U1")
    for gi, name in enumerate(groups):
        letters, w = ETHNIC_LETTERS[name]
        mask = group == gi
        out[mask] = rng.choice(letters, size=int(mask.sum()), p=np.array(w) / sum(w))
    out[rng.random(k) < NOT_STATED] = "Z"
    return out


def _conditions(rng: np.random.Generator, ctx: SynthContext, age: np.ndarray, sex: np.ndarray, imd: np.ndarray,
                morbidity: np.ndarray, birth: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each condition's marginal prevalence exactly as tabled, correlated through one latent morbidity
    (a Gaussian copula), with an onset date: most before the period, some during it."""
    n = len(age)
    male = sex == "M"
    deprivation = (5.5 - imd) / 4.5  # +1 most deprived decile, -1 least
    rho = MORBIDITY_CORRELATION
    conditions: dict[str, np.ndarray] = {}
    onset: dict[str, np.ndarray] = {}
    tables = dict(CONDITIONS)
    for name, (points, ratio, k) in tables.items():
        base = np.interp(age, AGE_POINTS, points)
        base = base * np.where(male, 2 * ratio / (1 + ratio), 2 / (1 + ratio))
        p = np.clip(base * (1 + k * deprivation), 0, 0.95)
        latent = rho * morbidity + np.sqrt(1 - rho**2) * rng.standard_normal(n)
        has = latent < ndtri(np.clip(p, 1e-9, 1 - 1e-9))
        conditions[name] = has & (p > 0)
        # Onset: spread over the 15 years before the end of the period, never before age 1 (18 for most).
        earliest = birth + np.where(name in ("asthma", "epilepsy", "learning_disability"), 365, 18 * 365)
        first = np.maximum(earliest, ctx.end_day - 15 * 365)
        span = np.maximum((ctx.end_day - first).astype(int), 1)
        onset[name] = np.where(conditions[name], first + (rng.random(n) * span).astype("timedelta64[D]"),
                               np.datetime64("NaT"))
    conditions["dementia"], onset["dementia"] = _dementia(rng, ctx, age, male, deprivation, morbidity)
    return conditions, onset


def _dementia(rng: np.random.Generator, ctx: SynthContext, age: np.ndarray, male: np.ndarray,
              deprivation: np.ndarray, morbidity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CFAS II point prevalence at the start of the period (onsets in the years before it), and new
    cases during it at about prevalence / mean survival a year, so the register neither drains as
    people with dementia die nor swells."""
    def prevalence(years_old: np.ndarray) -> np.ndarray:
        p = np.where(male, np.interp(years_old, DEMENTIA_BANDS, DEMENTIA_M, left=0.0),
                     np.interp(years_old, DEMENTIA_BANDS, DEMENTIA_F, left=0.0))
        return np.clip(np.where(years_old < 60, 0.0003, p) * (1 + 0.1 * deprivation), 0, 0.95)

    n = len(age)
    rho = MORBIDITY_CORRELATION
    latent = rho * morbidity + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    prevalent = latent < ndtri(np.clip(prevalence(age - ctx.years), 1e-9, 1 - 1e-9))
    incidence = prevalence(age - ctx.years / 2) / DEMENTIA_SURVIVAL_YEARS
    incident = ~prevalent & (rng.random(n) < -np.expm1(-incidence * ctx.years))
    before = ctx.start_day - (rng.random(n) * DEMENTIA_SURVIVAL_YEARS * 365).astype("timedelta64[D]")
    during = ctx.start_day + (rng.random(n) * ctx.years * 365).astype("timedelta64[D]")
    onset = np.where(prevalent, before, np.where(incident, during, np.datetime64("NaT")))
    return prevalent | incident, onset.astype("datetime64[D]")


def _care_home(rng: np.random.Generator, age: np.ndarray, dementia: np.ndarray,
               morbidity: np.ndarray) -> np.ndarray:
    """About 2.5 % of people 65+ live in a care home, 56 % of them 85+, 79 % with dementia (ONS 2021, CFAS II)."""
    base = np.interp(age, [65, 75, 85, 95], [0.002, 0.008, 0.045, 0.16]) * (age >= 65)
    p = base * np.where(dementia, 4.0, 0.35) * np.exp(0.3 * morbidity)
    return rng.random(len(age)) < np.clip(p, 0, 0.9)


def _frailty_deficits(rng: np.random.Generator, age: np.ndarray, imd: np.ndarray, morbidity: np.ndarray,
                      care_home: np.ndarray, diagnosed: dict[str, np.ndarray]) -> np.ndarray:
    """Count of eFI deficits on the record: those that are conditions above plus others (falls,
    mobility, hearing ...) drawn from age, morbidity, deprivation and living in a care home."""
    from_conditions = sum(diagnosed[c].astype(np.int16) for c in EFI_CONDITIONS)
    deprivation = (5.5 - imd) / 4.5
    log_rate = (DEFICIT_LOG_RATE[0] + DEFICIT_LOG_RATE[1] * (age - 65) + DEFICIT_LOG_RATE[2] * morbidity
                + 0.15 * deprivation + DEFICIT_LOG_RATE[3] * care_home)
    rate = np.exp(log_rate) * (age >= 18)
    # binomial over the 26 other deficits (each on the record or not): less spread than a Poisson count
    other = rng.binomial(OTHER_DEFICITS, np.clip(rate / OTHER_DEFICITS, 0, 1))
    return (from_conditions + other).astype(np.int16)


# Conditions that are themselves eFI deficits (asthma and COPD both count as "respiratory disease",
# rheumatoid arthritis as "arthritis"; counted once each in the codelist, approximately here).
EFI_CONDITIONS = ("hypertension", "diabetes", "ckd", "chd", "atrial_fibrillation", "copd", "stroke",
                  "heart_failure", "dementia", "osteoporosis")


def _propensity(rng: np.random.Generator, age: np.ndarray, frailty: np.ndarray, ltc: np.ndarray,
                imd: np.ndarray) -> np.ndarray:
    """Person-level multiplier on emergency care (mean about 1), lasting through the period: frailty
    hazard ratios 1.9/3.0/4.7 for mild/moderate/severe (Clegg 2016), about 1.15x per LTC, deprivation
    about 1.5x most vs least deprived at working age (NEW Devon CCG, BMJ Open 2017), times a gamma
    "tendency to use urgent care" (mean 1, variance 1 / PROPENSITY_SHAPE) for what the record does not
    show (social circumstances, health behaviour, severity within a condition). The gamma's spread is
    set so a small share of people hold most emergency bed days and one emergency admission makes
    another in the next year 3-5 times as likely (see icsys.synth.calibration_people)."""
    frail = np.select([frailty > 0.36, frailty > 0.24, frailty > 0.12], [4.7, 3.0, 1.9], 1.0)
    deprivation = 1 + 0.22 * (5.5 - imd) / 4.5 * np.where(age >= 67, 0.6, 1.0)
    tendency = rng.gamma(PROPENSITY_SHAPE, 1 / PROPENSITY_SHAPE, len(age))
    raw = frail * 1.15 ** np.minimum(ltc, 8) * deprivation * tendency
    return raw / raw.mean()


def yearly_drift(rng: np.random.Generator, n: int, years: int) -> np.ndarray:
    """Each person's multiplier on their propensity in each year of the period (n x years, mean 1 per
    person): good and bad years around the lasting level, correlated from one year to the next."""
    z = rng.standard_normal((n, years))
    x = np.empty((n, years))
    x[:, 0] = z[:, 0]
    for y in range(1, years):
        x[:, y] = DRIFT_CORRELATION * x[:, y - 1] + np.sqrt(1 - DRIFT_CORRELATION**2) * z[:, y]
    d = np.exp(DRIFT_SD * x)
    return d / d.mean(axis=1, keepdims=True)


def _deaths(rng: np.random.Generator, ctx: SynthContext, age: np.ndarray, sex: np.ndarray, frailty: np.ndarray,
            imd: np.ndarray, care_home: np.ndarray, reg_start: np.ndarray, reg_end: np.ndarray) -> np.ndarray:
    """Gompertz mortality by age and sex (about 9.4 per 1,000 for England's age structure, ONS 2023),
    with frailty hazard ratios 1.9/3.1/4.5 (Clegg 2016), deprivation and care-home residence."""
    q = np.exp(-10.52 + 0.094 * age) + np.where(age < 1, 0.004, 0.0002)
    q = q * np.where(sex == "M", 1.2, 0.85)
    frail = np.select([frailty > 0.36, frailty > 0.24, frailty > 0.12], [4.5, 3.1, 1.9], 1.0)
    hazard = -np.log1p(-np.clip(q, 0, 0.6)) * frail / 1.9 * (1 + 0.1 * (5.5 - imd) / 4.5)
    hazard = hazard * np.where(care_home, 2.0, 1.0)
    first = np.maximum(reg_start, ctx.start_day)
    last = np.where(np.isnat(reg_end), ctx.end_day, reg_end)
    exposure = np.maximum((last - first).astype(int), 0)
    when = rng.exponential(1 / np.maximum(hazard, 1e-9)) * 365.25
    day = first + when.astype("timedelta64[D]")
    dies = when < exposure
    return np.where(dies, day, np.datetime64("NaT"))


def _place_of_death(rng: np.random.Generator, death: np.ndarray, care_home: np.ndarray) -> np.ndarray:
    """Care-home residents mostly die in the care home or hospital; others' mix is set so the overall
    mix matches England 2022 (hospital 43 %, home 29 %, care home 20.5 %, hospice 4.7 %, other 2.6 %)."""
    died = ~np.isnat(death)
    share_resident = (died & care_home).sum() / max(died.sum(), 1)
    others = (PLACE_OF_DEATH_ALL - share_resident * PLACE_OF_DEATH_CARE_HOME) / max(1 - share_resident, 1e-9)
    others = np.clip(others, 0.005, None)
    others /= others.sum()
    # Stratified draws (one per equal slice of [0, 1) among the deaths, in random order), so that even a
    # small build's few hundred deaths carry the published mix rather than its sampling error.
    who = np.flatnonzero(died)
    u = np.zeros(len(death))
    u[who] = (rng.permutation(len(who)) + rng.random(len(who))) / max(len(who), 1)
    resident_place = np.searchsorted(np.cumsum(PLACE_OF_DEATH_CARE_HOME), u * PLACE_OF_DEATH_CARE_HOME.sum())
    other_place = np.searchsorted(np.cumsum(others), u)
    place = np.where(care_home, resident_place, other_place).clip(0, 4)
    return np.where(died, np.array(PLACE_OF_DEATH, dtype=object)[place], "")
