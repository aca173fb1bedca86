"""The GP record of a chunk of people: the person rows, coded events (diagnoses, eFI deficits,
observations, reviews and health checks), repeat medicines and appointments.

Deliberate gaps for case finding (documented in the README): people with dementia that is not
diagnosed, some of them on dementia medicines; people with hypertension that is not diagnosed, whose
blood pressure readings are raised; people with 3+ long-term conditions and no annual review; missing
learning disability and SMI annual health checks.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa

from icsys.codes import codelists
from icsys.synth import lifestyle
from icsys.synth.context import Population, SynthContext
from icsys.synth.population import EFI_CONDITIONS, latest_registration_start, registration_table
from icsys.synth.timing import at_seconds, category, expand, hours, pick, seasonal_days, weekday

GP_RATE = 5.8  # appointments per registered patient per year, 2024 (IfG performance tracker)
# Appointments by day of the week, Monday to Sunday: Monday busiest (about 1.15 x Wednesday), Friday
# quietest of the weekdays, about 1.5 % at weekends (NHS Digital, Appointments in General Practice 2024).
GP_WEEKDAY = np.array([0.226, 0.203, 0.196, 0.194, 0.166, 0.011, 0.004])
GP_PROPENSITY = 0.3  # GP use rises with the lasting tendency to use care, less steeply than emergency care
REVIEW_COVERAGE = 0.8  # share of people with an LTC who have their annual review recorded
LD_CHECK_COVERAGE, SMI_CHECK_COVERAGE = 0.72, 0.55
DEMENTIA_DRUG_DIAGNOSED, DEMENTIA_DRUG_UNDIAGNOSED = 0.6, 0.15
# Repeat medicines of no register condition (acid suppression, vitamin D, laxatives, analgesics, eye drops,
# ...: repeat_medicines.csv, weighted by how often they are prescribed): people 65+ take ~5 medicines in
# all, almost half 5 or more (Gao et al. 2017, CFAS), over 1 in 10 eight or more (Age UK, More harm than
# good, 2019, from HSE 2016). Their number rises with age from 40, with conditions and with frailty.
REPEATS = Path(__file__).with_name("repeat_medicines.csv")
REPEAT_RATE = 2.2  # expected repeat medicines at 65 with no condition and no frailty, besides the registers'
REPEAT_SPREAD = 6.0  # gamma shape of the person-to-person spread (mean 1)


def generate_primary_care(ctx: SynthContext, pop: Population) -> dict[str, pa.Table]:
    rng = ctx.rng("primary_care", pop.chunk)
    first, last = pop.alive_days(ctx.start_day, ctx.end_day)
    span = (last - first).astype(np.int64)
    return {
        "person": person_table(pop),
        "gp_registration": registration_table(pop),
        "clinical_event": _events(ctx, rng, pop, first, span),
        "medication": _medication(ctx, rng, pop, first, span),
        "gp_appointment": _appointments(rng, pop, first, span),
    }


def nhs_numbers(person_id: np.ndarray) -> np.ndarray:
    """A valid, unique 10-digit NHS number for each person id, from the 900-999 million range of
    9-digit stems, which is not issued to patients (999 is NHS England's test range). Each id owns a
    block of 11 consecutive stems (scrambled by a bijection) and takes the first whose modulus 11
    check digit is not 10 (invalid)."""
    stem = 900_000_000 + ((person_id.astype(np.int64) * 7919) % 9_000_000) * 11
    number = np.zeros(len(stem), np.int64)
    todo = np.arange(len(stem))
    for step in range(11):
        candidate = stem[todo] + step
        check = _check_digit(candidate)
        ok = check != 10
        number[todo[ok]] = candidate[ok] * 10 + check[ok]
        todo = todo[~ok]
    return np.char.zfill(number.astype(str), 10)


def _check_digit(stem: np.ndarray) -> np.ndarray:
    """NHS number modulus 11 check digit of 9-digit stems (10 means the stem cannot be used)."""
    total = np.zeros(len(stem), np.int64)
    rest = stem.copy()
    for weight in range(2, 11):  # last digit has weight 2, first weight 10
        total += (rest % 10) * weight
        rest //= 10
    return (11 - total % 11) % 11


def person_table(pop: Population) -> pa.Table:
    return pa.table({
        "person_id": pop.person_id, "nhs_number": nhs_numbers(pop.person_id), "sex": pop.sex,
        "birth_date": pop.birth_date, "ethnicity": pop.ethnicity, "lsoa_code": pop.lsoa_code.astype(str),
        "imd_decile": pop.imd_decile.astype(np.int64), "practice_code": pop.practice_code.astype(str),
        "registration_start": latest_registration_start(pop), "registration_end": pop.registration_end,
        "death_date": pop.death_date,
        "place_of_death": pa.array(np.where(pop.place_of_death == "", None, pop.place_of_death), pa.string()),
    })


class _Rows:
    """Collects event columns from several sources, then builds one table. Codes are kept as indices
    into a small table of distinct codes, so the column is dictionary-encoded at no cost."""

    def __init__(self) -> None:
        self.owner: list[np.ndarray] = []
        self.day: list[np.ndarray] = []
        self.code: list[np.ndarray] = []
        self.value: list[np.ndarray] = []
        self.codes: list[str] = []

    def index(self, code: str) -> int:
        if code not in self.codes:
            self.codes.append(code)
        return self.codes.index(code)

    def add(self, owner: np.ndarray, day: np.ndarray, code: np.ndarray | str, value: np.ndarray | None = None) -> None:
        """`code` is one code for every row, or an array of codes (few distinct values)."""
        self.owner.append(owner)
        self.day.append(day.astype("datetime64[D]"))
        if isinstance(code, str):
            self.code.append(np.full(len(owner), self.index(code), np.int32))
        else:
            distinct, inverse = np.unique(np.asarray(code, dtype=str), return_inverse=True)
            self.code.append(np.array([self.index(c) for c in distinct], np.int32)[inverse])
        self.value.append(np.full(len(owner), np.nan) if value is None else value)


def _events(ctx: SynthContext, rng: np.random.Generator, pop: Population, first: np.ndarray,
            span: np.ndarray) -> pa.Table:
    rows = _Rows()
    conditions = codelists("conditions")
    for name, has in pop.diagnosed.items():
        onset = pop.onset[name]
        who = np.flatnonzero(has & (onset < ctx.end_day) & (np.isnat(pop.death_date) | (onset <= pop.death_date)))
        rows.add(who, pop.onset[name][who], conditions[name][0])
    _deficit_events(ctx, rng, pop, rows)
    _observations(ctx, rng, pop, first, span, rows)
    _reviews(ctx, rng, pop, first, span, rows)
    lifestyle.add_records(ctx, pop, first, span, rows)
    owner = np.concatenate(rows.owner)
    value = np.concatenate(rows.value)
    code = np.concatenate(rows.code)
    units = {"271649006": "mm[Hg]", "271650006": "mm[Hg]", "60621009": "kg/m2", "27113001": "kg",
             "999791000000106": "mmol/mol", "80274001": "mL/min/{1.73_m2}"} | lifestyle.UNITS
    unit_labels = [None, *sorted(set(units.values()))]
    unit_of_code = np.array([unit_labels.index(units.get(c)) for c in rows.codes], np.int32)
    unit = pa.DictionaryArray.from_arrays(pa.array(unit_of_code[code], mask=unit_of_code[code] == 0),
                                          pa.array(unit_labels, pa.string()))
    return pa.table({
        "event_id": np.arange(1, len(owner) + 1, dtype=np.int64), "person_id": pop.person_id[owner],
        "event_date": np.concatenate(rows.day), "snomed_code": category(code, rows.codes),
        "value": pa.array(value, from_pandas=True), "unit": unit,
        "practice_code": practices(pop, owner),
    })


def practices(pop: Population, rows: np.ndarray) -> pa.DictionaryArray:
    """The practice code of each row's person, dictionary-encoded."""
    labels, inverse = _practice_index(pop)
    return category(inverse[rows], labels)


def _practice_index(pop: Population) -> tuple[list[str], np.ndarray]:
    cached = getattr(pop, "_practice_index", None)
    if cached is None:
        labels, inverse = np.unique(pop.practice_code.astype(str), return_inverse=True)
        cached = (labels.tolist(), inverse)
        pop._practice_index = cached  # type: ignore[attr-defined]
    return cached


def _deficit_events(ctx: SynthContext, rng: np.random.Generator, pop: Population, rows: _Rows) -> None:
    """The eFI deficits that are not one of the long-term conditions, as coded findings."""
    lists = codelists("efi_deficits")
    condition_deficits = {"atrial_fibrillation", "cerebrovascular_disease", "chronic_kidney_disease", "diabetes",
                          "heart_failure", "hypertension", "ischaemic_heart_disease", "osteoporosis",
                          "respiratory_disease", "polypharmacy"}
    others = [name for name in lists if name not in condition_deficits]
    from_conditions = sum(pop.diagnosed[c].astype(np.int16) for c in EFI_CONDITIONS)
    extra = np.clip(pop.deficits - from_conditions, 0, len(others))  # type: ignore[operator]
    who = np.flatnonzero(extra)
    order = np.argsort(rng.random((len(who), len(others))), axis=1)  # a random distinct set per person
    take = np.arange(len(others))[None, :] < extra[who][:, None]
    owner = np.repeat(who, extra[who])
    deficit = order[take]
    code = np.array([lists[others[d]][0] for d in range(len(others))], dtype=object)[deficit]
    years_before = rng.exponential(3.0, len(owner)) * 365.25
    day = np.maximum(ctx.start_day - years_before.astype("timedelta64[D]"), pop.birth_date[owner] + 365)
    rows.add(owner, day, code)


def _observations(ctx: SynthContext, rng: np.random.Generator, pop: Population, first: np.ndarray,
                  span: np.ndarray, rows: _Rows) -> None:
    """Blood pressure, BMI, HbA1c, eGFR and smoking status, measured more often in people with LTCs.
    Undiagnosed hypertension shows as raised readings: the case-finding gap."""
    age = pop.age_on(ctx.start_day).astype(float)
    years = span / 365.25
    adult = age >= 18
    true_htn, known_htn = pop.conditions["hypertension"], pop.diagnosed["hypertension"]
    bp_rate = np.where(adult, 0.25 + 0.02 * np.clip(age - 40, 0, 40), 0) + 1.2 * (pop.ltc_count > 0)
    bp_rate = bp_rate + 1.0 * (true_htn & ~known_htn)  # raised readings get repeated
    n = rng.poisson(bp_rate * years)
    owner = expand(n)
    day = seasonal_days(rng, first[owner], span[owner], 0.05)
    systolic = 116 + 0.3 * np.clip(age[owner] - 30, 0, None) + rng.normal(0, 10, len(owner))
    systolic += np.where(true_htn[owner] & ~known_htn[owner], 30, np.where(known_htn[owner], 12, 0))
    systolic = np.round(np.clip(systolic, 85, 230))
    diastolic = np.round(np.clip(0.45 * systolic + 18 + rng.normal(0, 7, len(owner)), 45, 130))
    rows.add(owner, day, "271649006", systolic)
    rows.add(owner, day, "271650006", diastolic)

    bmi_owner = expand(rng.poisson(np.where(adult, 0.3, 0) * years))
    obese = pop.conditions["obesity"][bmi_owner]
    bmi = np.round(np.where(obese, rng.uniform(30, 45, len(bmi_owner)), rng.normal(25.5, 3.5, len(bmi_owner))), 1)
    rows.add(bmi_owner, seasonal_days(rng, first[bmi_owner], span[bmi_owner], 0.0), "60621009", np.clip(bmi, 14, 70))

    dm = expand(rng.poisson(2.0 * pop.diagnosed["diabetes"] * years))
    rows.add(dm, seasonal_days(rng, first[dm], span[dm], 0.0), "999791000000106",
             np.round(np.clip(rng.normal(56, 13, len(dm)), 30, 130)))
    ckd = pop.conditions["ckd"]
    egfr_owner = expand(rng.poisson((1.5 * ckd + 0.3 * (pop.ltc_count > 0)) * years))
    egfr = np.where(ckd[egfr_owner], rng.normal(45, 9, len(egfr_owner)), rng.normal(82, 12, len(egfr_owner)))
    rows.add(egfr_owner, seasonal_days(rng, first[egfr_owner], span[egfr_owner], 0.0), "80274001",
             np.round(np.clip(egfr, 8, 130)))

    smoker_owner = np.flatnonzero(adult & (rng.random(len(age)) < np.clip(0.15 * years, 0, 1)))
    p_smoke = 0.08 + 0.1 * (5.5 - pop.imd_decile[smoker_owner]) / 4.5 + 0.1 * pop.conditions["copd"][smoker_owner]
    status = np.where(rng.random(len(smoker_owner)) < p_smoke, "77176002",
                      np.where(rng.random(len(smoker_owner)) < 0.35, "8517006", "266919005"))
    rows.add(smoker_owner, seasonal_days(rng, first[smoker_owner], span[smoker_owner], 0.0), status)


def _reviews(ctx: SynthContext, rng: np.random.Generator, pop: Population, first: np.ndarray,
             span: np.ndarray, rows: _Rows) -> None:
    """Annual LTC reviews (missing for some people), medication reviews, LD and SMI health checks."""
    years = np.ceil(span / 365.25).astype(np.int64)
    has_ltc = pop.ltc_count > 0
    reviewed = has_ltc & (rng.random(len(pop)) < REVIEW_COVERAGE)
    for mask, code, yearly in ((reviewed, "170777000", 1.0), (reviewed, "182836005", 1.0),
                               (pop.diagnosed["learning_disability"], "401235004", LD_CHECK_COVERAGE),
                               (pop.diagnosed["smi"], "1105241000000109", SMI_CHECK_COVERAGE)):
        counts = np.where(mask, rng.binomial(years, yearly), 0) if yearly < 1 else np.where(mask, years, 0)
        owner = expand(counts)
        rows.add(owner, seasonal_days(rng, first[owner], np.maximum(span[owner], 1), 0.0), code)


def _medication(ctx: SynthContext, rng: np.random.Generator, pop: Population, first: np.ndarray,
                span: np.ndarray) -> pa.Table:
    """Repeat prescriptions every 28-84 days for people on the register of a condition. Some people with
    undiagnosed dementia are on dementia medicines (the gap for case finding)."""
    meds = codelists("medications")
    table = [code for codes in meds.values() for code in codes]
    meds = {name: [table.index(c) for c in codes] for name, codes in meds.items()}
    owners, codes = [], []
    n = len(pop)
    for name, drug_codes in meds.items():
        if name == "dementia":
            on = np.where(pop.diagnosed["dementia"], rng.random(n) < DEMENTIA_DRUG_DIAGNOSED,
                          pop.conditions["dementia"] & (rng.random(n) < DEMENTIA_DRUG_UNDIAGNOSED))
        elif name == "thyroid_disease":
            on = rng.random(n) < 0.03 * (pop.age_on(ctx.start_day) >= 40)
        elif name == "pain":
            on = rng.random(n) < np.clip(pop.frailty * 1.5, 0, 0.7)
        else:
            p_second = 0.45 if name in ("hypertension", "chd", "diabetes", "heart_failure") else 0.0
            on = pop.diagnosed.get(name, np.zeros(n, bool)) & (rng.random(n) < 0.85)
            if p_second:
                second = np.flatnonzero(on & (rng.random(n) < p_second))
                owners.append(second)
                codes.append(np.full(len(second), drug_codes[min(1, len(drug_codes) - 1)], np.int32))
        who = np.flatnonzero(on)
        owners.append(who)
        codes.append(np.array(drug_codes, np.int32)[rng.integers(0, len(drug_codes), len(who))])
    repeats = repeat_medicines()
    owner, code = _repeats(ctx, rng, pop, len(table))
    owners.append(owner)
    codes.append(code)
    table = table + [r["code"] for r in repeats]
    owner = np.concatenate(owners)
    code = np.concatenate(codes)
    gap = rng.choice([28, 56, 84], size=len(owner), p=[0.3, 0.3, 0.4])
    issues = np.maximum(span[owner] // gap, 0)
    row = expand(issues)
    k = np.arange(len(row)) - np.repeat(np.cumsum(issues) - issues, issues)
    offset = rng.integers(0, gap)[row] if len(row) else np.zeros(0, np.int64)
    day = first[owner][row] + (k * gap[row] + offset % np.maximum(gap[row], 1)).astype("timedelta64[D]")
    keep = day < first[owner][row] + span[owner][row]
    row, day = row[keep], day[keep]
    return pa.table({
        "medication_id": np.arange(1, len(row) + 1, dtype=np.int64), "person_id": pop.person_id[owner][row],
        "issue_date": day, "dmd_code": category(code[row], table),
        "bnf_code": lifestyle.bnf_column(code[row], table, {r["code"]: r["bnf_code"] for r in repeats}),
        "quantity": np.where(gap[row] == 28, 28.0, np.where(gap[row] == 56, 56.0, 84.0)),
        "practice_code": practices(pop, owner[row]),
    })


@cache
def repeat_medicines() -> tuple[dict[str, str], ...]:
    """The rows of repeat_medicines.csv: dm+d code, BNF code, term, weight."""
    with REPEATS.open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


def _repeats(ctx: SynthContext, rng: np.random.Generator, pop: Population,
             offset: int) -> tuple[np.ndarray, np.ndarray]:
    """(owner, code index from `offset`) of each repeat medicine of no register condition: each medicine
    independently, with a chance from its weight and the person's expected number (age, conditions, frailty)."""
    weights = np.array([float(r["weight"]) for r in repeat_medicines()])
    weights = weights / weights.sum()
    age = pop.age_on(ctx.start_day)
    who = np.flatnonzero(age >= 40)
    expected = (REPEAT_RATE * np.clip((age[who] - 40) / 25, 0, 2) * (1 + 0.1 * pop.ltc_count[who])
                * (1 + 1.5 * pop.frailty[who]) * rng.gamma(REPEAT_SPREAD, 1 / REPEAT_SPREAD, len(who)))
    on = rng.random((len(who), len(weights))) < 1 - np.exp(-expected[:, None] * weights[None, :])
    person, medicine = np.nonzero(on)
    return who[person], (offset + medicine).astype(np.int32)


def _appointments(rng: np.random.Generator, pop: Population, first: np.ndarray, span: np.ndarray) -> pa.Table:
    """About 5.8 appointments per patient per year, more for the very young, the old, women 20-45,
    people with LTCs and the deprived; weekdays 08:00-18:30 with a morning peak; 8 % more in winter."""
    age = pop.age_on(first).astype(float)
    curve = np.interp(age, [0, 4, 10, 20, 45, 65, 75, 85, 95], [6, 4, 2.2, 3.2, 4.5, 7, 9.5, 12, 13])
    female_boost = np.where((pop.sex == "F") & (age >= 20) & (age <= 45), 1.6, 1.0)
    raw = curve * female_boost * (1 + 0.12 * pop.ltc_count) * (1 + 0.08 * (5.5 - pop.imd_decile) / 4.5)
    raw = raw * pop.propensity ** GP_PROPENSITY
    years = span / 365.25
    rate = raw * GP_RATE / (np.sum(raw * years) / max(np.sum(years), 1e-9))
    owner = expand(rng.poisson(rate * years))
    n = len(owner)
    day = seasonal_days(rng, first[owner], np.maximum(span[owner], 1), 0.08)
    # Keep the week (and so the season), draw the day of the week from the published shape.
    day = day - weekday(day).astype("timedelta64[D]") + rng.choice(7, n, p=GP_WEEKDAY).astype("timedelta64[D]")
    day = np.clip(day, first[owner], first[owner] + np.maximum(span[owner] - 1, 0))
    profile = np.zeros(24)
    profile[8:19] = [10, 12, 11, 10, 7, 5, 7, 8, 8, 6, 3]
    time = at_seconds(day, hours(rng, n, profile))
    same_day = rng.random(n) < 0.45
    booked = day - np.where(same_day, 0, rng.integers(1, 29, n)).astype("timedelta64[D]")
    frail_home = pop.care_home[owner] | (pop.frailty[owner] > 0.36)
    mode_index = rng.choice(3, size=n, p=[0.67, 0.30, 0.03])
    mode_index = np.where(frail_home & (rng.random(n) < 0.3), 3, mode_index)
    age_o = age[owner]
    p_dna = 0.035 * np.where((age_o >= 18) & (age_o < 35), 1.8, 1.0) * (1 + 0.3 * (5.5 - pop.imd_decile[owner]) / 4.5)
    return pa.table({
        "appointment_id": np.arange(1, n + 1, dtype=np.int64), "person_id": pop.person_id[owner],
        "practice_code": practices(pop, owner), "appointment_time": time, "booked_date": booked,
        "mode": category(mode_index, ["face_to_face", "telephone", "online", "home_visit"]),
        "staff_type": pick(rng, n, {"gp": 0.5, "nurse": 0.3, "other": 0.2}),
        "status": category((rng.random(n) < p_dna).astype(np.int8), ["attended", "dna"]),
    })
