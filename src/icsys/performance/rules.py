"""The rules of the measure engine: one small function per way of counting, each returning Ibis
contributions (a numerator and denominator share per record and period, tagged with the practice,
site or provider the record belongs to). The catalogue (standards.toml) names a rule and its params;
the engine (icsys.performance.measure) sums the contributions for any organisation and period.

Three ways of counting, as the NHS collections count:
- events, counted in the period they happen (A&E arrivals, cancer first treatments);
- census, on the last day of each period (RTT and DM01 waiting lists, registers);
- the midnight census of every day, summed over the period (bed occupancy, delayed discharges).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from icsys.dataset.definitions import (
    DIED,
    REGULAR_ATTENDER_CLASSIFICATIONS,
    emergency_admission,
    maternity_admission,
)
from icsys.dataset.schema import MENTAL_HEALTH_SERVICE
from icsys.performance.frame import (
    Frame,
    age_on,
    days_between,
    midnights,
    minutes,
    next_period,
    overlap_days,
    registered_on,
)

Attribution = Literal["practice", "site", "provider"]
Statistic = Literal["ratio", "p90", "p50", "mean_per_day", "count"]
Shape = tuple[tuple[Attribution, ...], Statistic]
PERSON_AND_SITE: tuple[Attribution, ...] = ("practice", "site")
PERSON_AND_PROVIDER: tuple[Attribution, ...] = ("practice", "provider")


@dataclass(frozen=True)
class Contributions:
    """`table` has `period`, `num` and `den` (or `x`, for a centile) and a column per attribution:
    practice_code, site_code, provider_code."""

    table: ir.Table
    attribution: tuple[Attribution, ...]
    statistic: Statistic


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def shape(self) -> Shape:
        """Who a record belongs to and how the engine aggregates, known before anything runs."""
        raise NotImplementedError


@dataclass(frozen=True)
class Rule:
    name: str
    params: type[Params]
    build: Callable[[Frame, Any], Contributions]

    def check_params(self, params: dict[str, Any]) -> Params:
        try:
            return self.params.model_validate(params)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"params of rule {self.name!r}: {problems}") from None


def _contrib(f: Frame, t: ir.Table, period: ir.Value, num: ir.Value, den: ir.Value | float = 1.0, *,
             site: bool = False, provider: bool = False, practice: bool = True) -> ir.Table:
    """One row per record: period, num, den and the columns it is attributed by."""
    cols: dict[str, ir.Value] = {"period": period, "num": num.cast("float64"),
                                 "den": ibis.literal(den).cast("float64") if isinstance(den, float)
                                 else den.cast("float64")}
    if site:
        cols["site_code"] = t.site_code
    if provider:
        cols["provider_code"] = t.provider_code
    if practice and "practice_code" in t.columns:
        return t.select(**cols, practice_code=t.practice_code)
    if practice:
        cols["person_id"] = t.person_id
    out = t.select(**cols)
    return f.practices(out) if practice else out


def _ratio(table: ir.Table, attribution: tuple[Attribution, ...]) -> Contributions:
    return Contributions(table, attribution, "ratio")


# --- urgent and emergency care ---------------------------------------------------------------------

class AEDuration(Params):
    department_types: list[Literal["1", "2", "3", "4"]] = Field(min_length=1)
    hours: float = Field(gt=0)
    count: Literal["within", "over"]

    def shape(self) -> Shape:
        return PERSON_AND_SITE, "ratio"


def ae_duration(f: Frame, p: AEDuration) -> Contributions:
    ae = f.activity("ae_attendance")
    t = ae.filter(ae.department_type.isin(p.department_types), f.in_range(ae.arrival_time))
    stay = minutes(t.arrival_time, t.departure_time)
    hit = stay <= p.hours * 60 if p.count == "within" else stay > p.hours * 60
    return _ratio(_contrib(f, t, f.period_of(t.arrival_time), hit, site=True), PERSON_AND_SITE)


class DecisionToAdmit(Params):
    hours: float = Field(gt=0)

    def shape(self) -> Shape:
        return PERSON_AND_SITE, "ratio"


def ae_decision_to_admit(f: Frame, p: DecisionToAdmit) -> Contributions:
    ae = f.activity("ae_attendance")
    t = ae.filter(ae.decision_to_admit_time.notnull(), f.in_range(ae.arrival_time))
    hit = minutes(t.decision_to_admit_time, t.departure_time) > p.hours * 60
    return _ratio(_contrib(f, t, f.period_of(t.arrival_time), hit, site=True), PERSON_AND_SITE)


class AETiming(Params):
    """Minutes from arrival to the ECDS initial assessment or to the start of treatment (seen by a
    decision-making clinician), type 1 by default: a share within `minutes` or the median."""

    to: Literal["initial_assessment_time", "treatment_time"]
    statistic: Literal["share_within", "median"]
    minutes: float | None = Field(default=None, gt=0)
    department_types: list[Literal["1", "2", "3", "4"]] = Field(default=["1"], min_length=1)

    @model_validator(mode="after")
    def _minutes_for_a_share(self) -> AETiming:
        if self.statistic == "share_within" and self.minutes is None:
            raise ValueError("statistic 'share_within' needs minutes")
        return self

    def shape(self) -> Shape:
        return PERSON_AND_SITE, ("ratio" if self.statistic == "share_within" else "p50")


def ae_timing(f: Frame, p: AETiming) -> Contributions:
    """Attendances with the time recorded, in the period of arrival."""
    ae = f.activity("ae_attendance")
    t = ae.filter(ae.department_type.isin(p.department_types), ae[p.to].notnull(), f.in_range(ae.arrival_time))
    took = minutes(t.arrival_time, t[p.to])
    if p.statistic == "median":
        rows = _contrib(f, t, f.period_of(t.arrival_time), took, site=True)
        return Contributions(rows.rename(x="num").drop("den"), PERSON_AND_SITE, "p50")
    return _ratio(_contrib(f, t, f.period_of(t.arrival_time), took <= (p.minutes or 0.0), site=True),
                  PERSON_AND_SITE)


class AmbulanceResponse(Params):
    category: Literal["1", "2", "3", "4"]
    statistic: Literal["mean", "p90"]

    def shape(self) -> Shape:
        return PERSON_AND_PROVIDER, ("ratio" if self.statistic == "mean" else "p90")


def ambulance_response(f: Frame, p: AmbulanceResponse) -> Contributions:
    amb = f.activity("ambulance_incident")
    t = amb.filter(amb.category == p.category, amb.on_scene_time.notnull(), f.in_range(amb.call_time))
    wait = minutes(t.call_time, t.on_scene_time)
    rows = _contrib(f, t, f.period_of(t.call_time), wait, provider=True)
    return _centile_or_mean(rows, p.statistic, PERSON_AND_PROVIDER)


def _centile_or_mean(rows: ir.Table, statistic: str, attribution: tuple[Attribution, ...]) -> Contributions:
    if statistic == "p90":
        return Contributions(rows.rename(x="num").drop("den"), attribution, "p90")
    return _ratio(rows, attribution)


class Handover(Params):
    statistic: Literal["mean", "share_over", "share_within"]
    minutes: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _minutes_for_a_share(self) -> Handover:
        if self.statistic != "mean" and self.minutes is None:
            raise ValueError(f"statistic {self.statistic!r} needs minutes")
        return self

    def shape(self) -> Shape:
        return PERSON_AND_SITE, "ratio"


def ambulance_handover(f: Frame, p: Handover) -> Contributions:
    amb = f.activity("ambulance_incident")
    t = amb.filter(amb.conveyed, amb.site_code.notnull(), amb.hospital_arrival_time.notnull(),
                   amb.handover_time.notnull(), f.in_range(amb.hospital_arrival_time))
    took = minutes(t.hospital_arrival_time, t.handover_time)
    limit = p.minutes or 0.0
    num = {"mean": took, "share_over": took > limit, "share_within": took <= limit}[p.statistic]
    return _ratio(_contrib(f, t, f.period_of(t.hospital_arrival_time), num, site=True), PERSON_AND_SITE)


class UCRResponse(Params):
    hours: float = Field(gt=0)

    def shape(self) -> Shape:
        return PERSON_AND_PROVIDER, "ratio"


def ucr_response(f: Frame, p: UCRResponse) -> Contributions:
    cc = f.activity("community_contact")
    t = cc.filter(cc.service == "urgent_community_response", f.in_range(cc.referral_time))
    hit = minutes(t.referral_time, t.contact_time) <= p.hours * 60
    return _ratio(_contrib(f, t, f.period_of(t.referral_time), hit, provider=True), PERSON_AND_PROVIDER)


# --- hospital flow ---------------------------------------------------------------------------------

class NoParams(Params):
    def shape(self) -> Shape:
        return ("practice",), "ratio"


def emergency_admission_rate(f: Frame, p: NoParams) -> Contributions:
    """Admissions in the period over person-years: people registered on its first day x days / 365.25."""
    spells = f.activity("inpatient_spell")
    t = spells.filter(emergency_admission(spells.admission_method), f.in_range(spells.admission_time))
    admissions = _contrib(f, t, f.period_of(t.admission_time), ibis.literal(1.0), 0.0)
    people, grid = _people_in_range(f), f.census_grid()
    pairs = people.cross_join(grid)
    pairs = pairs.filter(pairs.registration_start <= pairs.period, pairs.registration_end > pairs.period)
    years = pairs.select(period=pairs.period, num=ibis.literal(0.0),
                         den=pairs.people.cast("float64") * pairs.days.cast("float64") / 365.25,
                         practice_code=pairs.practice_code)
    return _ratio(admissions.union(years), ("practice",))


def _people_in_range(f: Frame, person: ir.Table | None = None, **extra: ir.Value) -> ir.Table:
    """People counted by practice, registration dates and `extra` columns, with every date outside the
    range moved to just before or after it: most people then share a row (`people` counts them), and
    whether they are registered on any day of the range is unchanged. registration_end is the end of
    registration or death, whichever came first."""
    person = f.table("person") if person is None else person
    if "in_ics_population" in person.columns:  # people registered outside the ICS: not in its denominators
        person = person.filter(person.in_ics_population.fill_null(True))
    before, after = ibis.literal(f.start - timedelta(days=1)), ibis.literal(f.end + timedelta(days=1))
    start = ibis.greatest(person.registration_start.fill_null(before), before)
    end = ibis.least(person.registration_end.fill_null(after), person.death_date.fill_null(after), after)
    return person.group_by(practice_code=person.practice_code, registration_start=start, registration_end=end,
                           **extra).aggregate(people=person.count())


class LengthOfStay(Params):
    min_nights: int = Field(ge=0)

    def shape(self) -> Shape:
        return PERSON_AND_SITE, "ratio"


def length_of_stay(f: Frame, p: LengthOfStay) -> Contributions:
    spells = f.activity("inpatient_spell")
    t = spells.filter(emergency_admission(spells.admission_method), spells.discharge_time.notnull(),
                      f.in_range(spells.discharge_time))
    nights = days_between(t.admission_time.date(), t.discharge_time.date())
    t = t.mutate(nights=nights).filter(lambda s: s.nights >= p.min_nights)
    return _ratio(_contrib(f, t, f.period_of(t.discharge_time), t.nights, site=True), PERSON_AND_SITE)


class Readmission(Params):
    days: int = Field(gt=0)

    def shape(self) -> Shape:
        return PERSON_AND_SITE, "ratio"


def readmission(f: Frame, p: Readmission) -> Contributions:
    """Index discharges followed by an emergency admission 0 to days-1 days after the discharge date."""
    spells = f.activity("inpatient_spell")
    index = spells.filter(
        spells.discharge_time.notnull(), f.in_range(spells.discharge_time),
        spells.discharge_destination.isnull() | (spells.discharge_destination != DIED),
        ~maternity_admission(spells.admission_method), ~spells.primary_diagnosis.startswith("C"),
        ~spells.patient_classification.isin(REGULAR_ATTENDER_CLASSIFICATIONS))
    later = spells.filter(emergency_admission(spells.admission_method)).select(
        later_person=spells.person_id, later_spell=spells.spell_id, later_admission=spells.admission_time)
    gap = days_between(index.discharge_time.date(), later.later_admission.date())
    pairs = index.join(later, [index.person_id == later.later_person, index.spell_id != later.later_spell,
                               later.later_admission >= index.discharge_time, gap < p.days])
    readmitted = pairs.select(readmitted_spell=pairs.spell_id).distinct()
    flagged = index.left_join(readmitted, index.spell_id == readmitted.readmitted_spell)
    return _ratio(_contrib(f, flagged, f.period_of(flagged.discharge_time),
                           flagged.readmitted_spell.notnull(), site=True), PERSON_AND_SITE)


MATERNITY_SPECIALTIES = ("501", "560")  # obstetrics; midwife episode


def maternity_spell(spells: ir.Table) -> ir.BooleanValue:
    """A spell in a maternity bed (KH03 keeps maternity beds apart from G&A): a maternity admission
    (ADMIMETH 31, 32) or an obstetric or midwife-led lead specialty."""
    return maternity_admission(spells.admission_method) | spells.specialty.isin(MATERNITY_SPECIALTIES)


def _stays_by_period(f: Frame, sites_with_beds: bool = False, category: str = "general_acute") -> ir.Table:
    """Each spell of a bed category (G&A: every spell not in a maternity bed) joined to every period its
    stay overlaps (a spell still open ends with the range)."""
    spells = f.activity("inpatient_spell")
    spells = spells.filter(maternity_spell(spells) if category == "maternity" else ~maternity_spell(spells))
    if sites_with_beds:
        spells = spells.filter(spells.site_code.isin(list(f.hierarchy.beds_by_category[category])))
    spells = spells.mutate(stay_end=spells.discharge_time.fill_null(f.end_ts + ibis.interval(days=1)))
    grid = f.period_grid()
    return spells.join(grid, [spells.admission_time < grid.closes, spells.stay_end > grid.opens])


def _beds_by_period(f: Frame, category: str = "general_acute") -> ir.Table:
    """(period, site_code, num 0, den beds x days) for every site with beds of the category and every period."""
    beds, grid = f.beds(category), f.census_grid()
    both = beds.cross_join(grid)
    return both.select(period=both.period, num=ibis.literal(0.0), den=both.beds * both.days.cast("float64"),
                       site_code=both.site_code)


class BedOccupancy(Params):
    beds: Literal["general_acute", "maternity"] = "general_acute"  # the categories the spells tell apart

    def shape(self) -> Shape:
        return ("site",), "ratio"


def bed_occupancy(f: Frame, p: BedOccupancy) -> Contributions:
    """Patients in a bed of the category at each midnight of the period, over the category's beds x days."""
    stays = _stays_by_period(f, sites_with_beds=True, category=p.beds)
    nights = midnights(stays.admission_time, stays.stay_end, stays.opens, stays.closes)
    counts = stays.select(period=stays.period, num=nights, den=ibis.literal(0.0), site_code=stays.site_code)
    return _ratio(counts.union(_beds_by_period(f, p.beds)), ("site",))


class DelayedDischarge(Params):
    statistic: Literal["patients", "bed_days", "share_of_beds", "share_of_bed_days"]

    def shape(self) -> Shape:
        if self.statistic == "share_of_beds":
            return ("site",), "ratio"
        return PERSON_AND_SITE, {"patients": "mean_per_day", "bed_days": "count"}.get(self.statistic, "ratio")


def delayed_discharge(f: Frame, p: DelayedDischarge) -> Contributions:
    attribution, statistic = p.shape()
    stays = _stays_by_period(f, sites_with_beds=p.statistic == "share_of_beds")
    ready = stays.ready_for_discharge_time
    if p.statistic in ("patients", "share_of_beds"):  # at the midnight census of each day
        delayed = ibis.cases((ready.isnull(), 0.0), else_=midnights(
            ready, stays.stay_end, stays.opens, stays.closes))
        if p.statistic == "patients":
            return Contributions(_contrib(f, stays, stays.period, delayed, 0.0, site=True), attribution, statistic)
        rows = stays.select(period=stays.period, num=delayed, den=ibis.literal(0.0), site_code=stays.site_code)
        return Contributions(rows.union(_beds_by_period(f)), attribution, statistic)
    delayed = ibis.cases((ready.isnull(), 0.0), else_=overlap_days(ready, stays.stay_end, stays.opens, stays.closes))
    occupied = overlap_days(stays.admission_time, stays.stay_end, stays.opens, stays.closes)
    return Contributions(_contrib(f, stays, stays.period, delayed, occupied, site=True), attribution, statistic)


# --- planned care ----------------------------------------------------------------------------------

WEEKS_CAP = 104  # waits are kept in completed weeks up to 104 (the published tables' last band)


class Incomplete(Params):
    weeks: int = Field(gt=0, le=WEEKS_CAP)
    count: Literal["within", "over"] = "within"

    def shape(self) -> Shape:
        return PERSON_AND_PROVIDER, "ratio"


def _waiting_weeks(f: Frame, name: str, start: str, stop: str) -> ir.Table:
    """Records waiting at each period's census (started on or before it, not stopped by it), counted
    by completed weeks waited, (census - start) // 7; shared by every standard on the list."""
    t = f.table(name)
    t = t.filter(t[start] <= ibis.literal(f.end), t[stop].isnull() | (t[stop] > ibis.literal(f.start)))
    after = ibis.literal(f.end + timedelta(days=1))  # still waiting: a plain range join, not an OR
    t = f.practices(t.select("person_id", "provider_code", start, stop=t[stop].fill_null(after)))
    grid = f.census_grid()
    waiting = t.join(grid, [t[start] <= grid.census, t.stop > grid.census])
    weeks = ibis.least(days_between(waiting[start], waiting.census) // 7, WEEKS_CAP)
    counts = waiting.group_by(period=waiting.period, practice_code=waiting.practice_code,
                              provider_code=waiting.provider_code, weeks=weeks).aggregate(n=waiting.count())
    return f.materialise(f"{name}_waiting", counts)


def _waiting_at_census(f: Frame, name: str, start: str, stop: str, p: Incomplete) -> Contributions:
    w = _waiting_weeks(f, name, start, stop)
    hit = w.weeks < p.weeks if p.count == "within" else w.weeks >= p.weeks
    n = w.n.cast("float64")
    rows = w.select(period=w.period, num=ibis.cases((hit, n), else_=0.0), den=n, practice_code=w.practice_code,
                    provider_code=w.provider_code)
    return _ratio(rows, PERSON_AND_PROVIDER)


def rtt_incomplete(f: Frame, p: Incomplete) -> Contributions:
    return _waiting_at_census(f, "rtt_pathway", "clock_start", "clock_stop", p)


def diagnostic_incomplete(f: Frame, p: Incomplete) -> Contributions:
    return _waiting_at_census(f, "diagnostic_wait", "request_date", "test_date", p)


class CancerWait(Params):
    start: Literal["referral_date", "decision_to_treat_date"]
    end: Literal["diagnosis_date", "first_treatment_date"]
    days: int = Field(gt=0)
    confirmed_only: bool

    def shape(self) -> Shape:
        return PERSON_AND_PROVIDER, "ratio"


def cancer_wait(f: Frame, p: CancerWait) -> Contributions:
    cp = f.activity("cancer_pathway")
    t = cp.filter(cp[p.start].notnull(), cp[p.end].notnull(), f.in_range(cp[p.end]))
    if p.confirmed_only:
        t = t.filter(t.cancer_confirmed.fill_null(False))
    hit = days_between(t[p.start], t[p.end]) <= p.days
    return _ratio(_contrib(f, t, f.period_of(t[p.end]), hit, provider=True), PERSON_AND_PROVIDER)


# --- mental health, learning disability and dementia -----------------------------------------------

class TalkingTherapiesWait(Params):
    weeks: int = Field(gt=0)

    def shape(self) -> Shape:
        return PERSON_AND_PROVIDER, "ratio"


def _finished_courses(f: Frame) -> ir.Table:
    """Talking Therapies referrals that ended in the period after 2 or more treatment sessions."""
    mh = f.activity("mental_health_referral")
    return mh.filter(mh.service == "talking_therapies", mh.discharge_date.notnull(), f.in_range(mh.discharge_date),
                     mh.first_contact_date.notnull(), mh.sessions >= 2)


def talking_therapies_wait(f: Frame, p: TalkingTherapiesWait) -> Contributions:
    t = _finished_courses(f)
    hit = days_between(t.referral_date, t.first_contact_date) <= p.weeks * 7
    return _ratio(_contrib(f, t, f.period_of(t.discharge_date), hit, provider=True), PERSON_AND_PROVIDER)


class Recovery(Params):
    reliable: bool

    def shape(self) -> Shape:
        return PERSON_AND_PROVIDER, "ratio"


PHQ9_CASENESS, GAD7_CASENESS = 10, 8  # at caseness: PHQ-9 >= 10 or GAD-7 >= 8
PHQ9_RELIABLE, GAD7_RELIABLE = 6, 4  # reliable change: beyond the measurement error of each scale


def talking_therapies_recovery(f: Frame, p: Recovery) -> Contributions:
    t = _finished_courses(f)
    t = t.filter(t.phq9_first.notnull(), t.gad7_first.notnull(), t.phq9_last.notnull(), t.gad7_last.notnull(),
                 (t.phq9_first >= PHQ9_CASENESS) | (t.gad7_first >= GAD7_CASENESS))
    hit = (t.phq9_last < PHQ9_CASENESS) & (t.gad7_last < GAD7_CASENESS)
    if p.reliable:
        improved = ((t.phq9_first - t.phq9_last) >= PHQ9_RELIABLE) | ((t.gad7_first - t.gad7_last) >= GAD7_RELIABLE)
        worse = ((t.phq9_last - t.phq9_first) >= PHQ9_RELIABLE) | ((t.gad7_last - t.gad7_first) >= GAD7_RELIABLE)
        hit = hit & improved & ~worse
    return _ratio(_contrib(f, t, f.period_of(t.discharge_date), hit, provider=True), PERSON_AND_PROVIDER)


class EIPWait(Params):
    days: int = Field(gt=0)

    def shape(self) -> Shape:
        return PERSON_AND_PROVIDER, "ratio"


def eip_wait(f: Frame, p: EIPWait) -> Contributions:
    mh = f.activity("mental_health_referral")
    t = mh.filter(mh.service == "eip", mh.first_contact_date.notnull(), f.in_range(mh.first_contact_date))
    hit = days_between(t.referral_date, t.first_contact_date) <= p.days
    return _ratio(_contrib(f, t, f.period_of(t.first_contact_date), hit, provider=True), PERSON_AND_PROVIDER)


AGE_BANDS = ("65-69", "70-74", "75-79", "80-84", "85-89", "90+")


class DementiaDiagnosis(Params):
    prevalence: dict[Literal["F", "M"], dict[Literal[AGE_BANDS], float]]  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _every_band(self) -> DementiaDiagnosis:
        missing = [f"{sex} {band}" for sex in ("F", "M") for band in AGE_BANDS
                   if band not in self.prevalence.get(sex, {})]  # type: ignore[call-overload]
        if missing:
            raise ValueError(f"prevalence has no rate for {', '.join(missing)}")
        return self

    def shape(self) -> Shape:
        return ("practice",), "ratio"


def _registered_at_census(f: Frame, min_age: int, people: ir.Table | None = None) -> ir.Table:
    """(period, census, year_before, person columns, age) for people (all by default) registered and
    at least min_age at each census."""
    person, grid = people if people is not None else f.table("person"), f.census_grid()
    latest_birth = date(f.end.year - min_age, 12, 31)  # a cheap first cut; exact ages below
    old_enough = person.filter(person.birth_date <= ibis.literal(latest_birth))
    pairs = old_enough.cross_join(grid)
    pairs = pairs.filter(registered_on(pairs, pairs.census)).mutate(age=age_on(pairs.birth_date, pairs.census))
    return pairs.filter(pairs.age >= min_age)


def _first_coded(f: Frame, codes: list[str]) -> ir.Table:
    events = f.table("clinical_event")
    hits = events.filter(events.snomed_code.isin(codes))
    return hits.group_by(coded_person=hits.person_id).aggregate(first_coded=hits.event_date.min())


def dementia_diagnosis(f: Frame, p: DementiaDiagnosis) -> Contributions:
    from icsys.codes import codelists

    rows = [(sex, band, rate / 100) for sex, bands in p.prevalence.items() for band, rate in bands.items()]
    rates = ibis.memtable({"rate_sex": [r[0] for r in rows], "rate_band": [r[1] for r in rows],
                           "rate": [r[2] for r in rows]})
    coded = _first_coded(f, codelists("conditions")["dementia"])
    person = f.table("person")
    person = person.left_join(coded, person.person_id == coded.coded_person)
    person = person.filter(person.birth_date <= ibis.literal(date(f.end.year - 65, 12, 31)))
    after = ibis.literal(f.end + timedelta(days=1))
    people = _people_in_range(f, person, sex=person.sex, birth_date=person.birth_date,
                              diagnosed=ibis.least(person.first_coded.fill_null(after), after))
    pairs = people.cross_join(f.census_grid())
    pairs = pairs.filter(pairs.registration_start <= pairs.census, pairs.registration_end > pairs.census)
    pairs = pairs.mutate(age=age_on(pairs.birth_date, pairs.census)).filter(lambda t: t.age >= 65)
    band = ibis.cases(*[(pairs.age < 65 + 5 * (i + 1), b) for i, b in enumerate(AGE_BANDS[:-1])], else_="90+")
    pairs = pairs.mutate(band=band)
    pairs = pairs.join(rates, [pairs.sex == rates.rate_sex, pairs.band == rates.rate_band])
    people_n = pairs.people.cast("float64")
    diagnosed = (pairs.diagnosed <= pairs.census).cast("float64") * people_n
    return _ratio(_contrib(f, pairs, pairs.period, diagnosed, pairs.rate * people_n), ("practice",))


class HealthCheck(Params):
    condition: Literal["learning_disability", "smi"]
    check: Literal["ld_health_check", "smi_health_check"]
    min_age: int = Field(ge=0)

    def shape(self) -> Shape:
        return ("practice",), "ratio"


def health_check(f: Frame, p: HealthCheck) -> Contributions:
    """People on the register at each census; a check counts in the 365 days to the census."""
    from icsys.codes import codelists

    coded = _first_coded(f, codelists("conditions")[p.condition])
    person = f.table("person")
    members = person.join(coded, person.person_id == coded.coded_person)
    people = _registered_at_census(f, p.min_age, members)
    people = people.filter(people.first_coded <= people.census)
    events = f.table("clinical_event")
    checks = events.filter(events.snomed_code.isin(codelists("observations")[p.check]))
    checks = checks.select(check_person=checks.person_id, check_date=checks.event_date)
    done = people.join(checks, [people.person_id == checks.check_person, checks.check_date > people.year_before,
                                checks.check_date <= people.census])
    done = done.select(done_person=done.person_id, done_period=done.period).distinct()
    people = people.left_join(done, [people.person_id == done.done_person, people.period == done.done_period])
    return _ratio(_contrib(f, people, people.period, people.done_person.notnull()), ("practice",))


# --- NHS Oversight Framework 2025/26 ------------------------------------------------------------------

class GPWait(Params):
    days: int = Field(gt=0)

    def shape(self) -> Shape:
        return ("practice",), "ratio"


def gp_appointment_wait(f: Frame, p: GPWait) -> Contributions:
    """Appointments in the period taking place within `days` days of being booked, counted at the
    practice that held them (as GPAD counts them)."""
    gp = f.table("gp_appointment")
    t = gp.filter(f.in_range(gp.appointment_time)).mutate(day=lambda r: r.appointment_time.date())
    hit = (days_between(t.booked_date, t.day) <= p.days).cast("float64")
    # counted by practice and day first: tens of millions of appointments, each day's period found once
    daily = t.group_by([t.practice_code, t.day]).aggregate(num=hit.sum(), den=t.count())
    return _ratio(_contrib(f, daily, f.period_of(daily.day), daily.num, daily.den), ("practice",))


class MentalHealthAccess(Params):
    services: list[str] = Field(min_length=1)
    count: Literal["referrals", "people"]
    max_age: int | None = Field(default=None, gt=0, description="Under this age at first contact")

    @model_validator(mode="after")
    def _known_services(self) -> MentalHealthAccess:
        unknown = sorted(set(self.services) - set(MENTAL_HEALTH_SERVICE))
        if unknown:
            raise ValueError(f"unknown mental health service {', '.join(unknown)}; "
                             f"the services are {', '.join(MENTAL_HEALTH_SERVICE)}")
        return self

    def shape(self) -> Shape:
        return PERSON_AND_PROVIDER, "count"


def mental_health_access(f: Frame, p: MentalHealthAccess) -> Contributions:
    """Referrals entering treatment (first contact in the period), or people with a first contact in the
    period (each counted once a period, at the provider of their first referral to do so)."""
    mh = f.table("mental_health_referral")
    t = mh.filter(mh.service.isin(p.services), mh.first_contact_date.notnull(), f.in_range(mh.first_contact_date))
    if p.max_age is not None:
        person = f.table("person").select(age_person="person_id", birth_date="birth_date")
        t = t.join(person, t.person_id == person.age_person)
        t = t.filter(age_on(t.birth_date, t.first_contact_date) < p.max_age)
    t = t.mutate(period=f.period_of(t.first_contact_date))
    if p.count == "people":
        t = t.group_by(["person_id", "period"]).aggregate(provider_code=t.provider_code.min())
    rows = _contrib(f, t, t.period, ibis.literal(1.0), 0.0, provider=True)
    return Contributions(rows, PERSON_AND_PROVIDER, "count")


class VirtualWard(Params):
    def shape(self) -> Shape:
        return PERSON_AND_PROVIDER, "mean_per_day"


def virtual_ward_patients(f: Frame, p: VirtualWard) -> Contributions:
    """Patients on a virtual ward at each midnight (from first contact to discharge from the ward; a stay
    still open runs to the end of the range), a mean a day."""
    cc = f.table("community_contact")
    t = cc.filter(cc.service == "virtual_ward")
    # discharged on end_date, in the day: on the ward at that date's opening midnight, not at the next
    ends = (t.end_date.cast("timestamp") + ibis.interval(days=1)).fill_null(f.end_ts + ibis.interval(days=1))
    t = t.mutate(stay_end=ends)
    grid = f.period_grid()
    t = t.join(grid, [t.contact_time < grid.closes, t.stay_end > grid.opens])
    on_ward = midnights(t.contact_time, t.stay_end, t.opens, t.closes)
    return Contributions(_contrib(f, t, t.period, on_ward, 0.0, provider=True), PERSON_AND_PROVIDER, "mean_per_day")


class BloodPressureTarget(Params):
    imd_deciles: list[int] | None = Field(default=None, description="Only people living in these deciles")

    def shape(self) -> Shape:
        return ("practice",), "ratio"


SYSTOLIC_TARGET = {"under_80": 140, "80_and_over": 150}  # QOF HYP008 and HYP009 (mmHg)
DIASTOLIC_TARGET = 90


EPOCH = date(1970, 1, 1)


def _born_by(census: date, age: int) -> date:
    """The latest birth date of people `age` or older on `census` (as age_on counts: on 28 February for
    a census of 29 February in a year whose `age`-th year before has none)."""
    try:
        return census.replace(year=census.year - age)
    except ValueError:
        return census.replace(year=census.year - age, day=28)


def _census_ages(f: Frame) -> ir.Table:
    """The census grid with the day numbers of the first day of the year to each census and the latest
    birth dates of people 18 and 80 or older on it: date comparisons instead of an age a row."""
    starts = f.starts()
    censuses = [next_period(s, f.period) - timedelta(days=1) for s in starts]
    return ibis.memtable({
        "period": starts, "census": censuses,
        "first_day": [(c - timedelta(days=364) - EPOCH).days for c in censuses],
        "born_by_18": [_born_by(c, 18) for c in censuses], "born_by_80": [_born_by(c, 80) for c in censuses],
    }, schema={"period": "date", "census": "date", "first_day": "int64", "born_by_18": "date", "born_by_80": "date"})


def _day_and_verdict(day: ir.IntegerValue, met: ir.BooleanValue) -> ir.IntegerValue:
    """A reading's day number and whether it met a target in one number (day x 2 + met), so a running
    maximum over the days with a reading carries the latest one's day and verdict forward."""
    return day * 2 + met.cast("int64")


def _readings_timeline(f: Frame, people: ir.Table) -> ir.Table:
    """A row for each day any of `people` has a blood pressure reading (with the person's columns),
    standing until the person's next such day (next_date), with the latest systolic and diastolic reading
    so far (the lowest of its day) as day x 2 + whether it met the target: under_80 and at_80 (systolic),
    diastolic_met. Systolic and diastolic on one timeline, so a census joins one row a person, not one a
    reading and then each other."""
    from icsys.codes import codelists

    obs = codelists("observations")
    systolic, diastolic = obs["systolic_bp"], obs["diastolic_bp"]
    events = f.table("clinical_event")
    ev = events.filter(events.snomed_code.isin(systolic + diastolic), events.value.notnull(),
                       events.person_id.isin(people.person_id))
    d = ev.group_by([ev.person_id, ev.event_date]).aggregate(
        sbp=ev.value.min(where=ev.snomed_code.isin(systolic)), dbp=ev.value.min(where=ev.snomed_code.isin(diastolic)))
    d = d.join(people, d.person_id == people.person_id)  # before the window, which the census join cannot pass
    day = days_between(ibis.literal(EPOCH), d.event_date)
    d = d.mutate(
        under_80=ibis.cases((d.sbp.notnull(), _day_and_verdict(day, d.sbp <= SYSTOLIC_TARGET["under_80"]))),
        at_80=ibis.cases((d.sbp.notnull(), _day_and_verdict(day, d.sbp <= SYSTOLIC_TARGET["80_and_over"]))),
        diastolic_met=ibis.cases((d.dbp.notnull(), _day_and_verdict(day, d.dbp <= DIASTOLIC_TARGET))))
    so_far = ibis.cumulative_window(group_by=d.person_id, order_by=d.event_date)
    d = d.select(*people.columns, event_date=d.event_date,
                 next_date=d.event_date.lead().over(group_by=d.person_id, order_by=d.event_date),
                 under_80=d.under_80.max().over(so_far), at_80=d.at_80.max().over(so_far),
                 diastolic_met=d.diastolic_met.max().over(so_far))
    return d.filter(d.at_80.notnull(), d.diastolic_met.notnull())


def blood_pressure_to_target(f: Frame, p: BloodPressureTarget) -> Contributions:
    """People on the hypertension register at the census (coded on or before it, registered, 18+) whose
    latest blood pressure in the 12 months to it is at or below target: 140/90 mmHg under 80, 150/90 at
    80 and over (QOF HYP008, HYP009). No personalised care adjustments: every register member counts.
    The register (the denominator, people sharing dates counted together) and those to target (the
    numerator) are counted apart and summed."""
    from icsys.codes import codelists

    coded = _first_coded(f, codelists("conditions")["hypertension"])
    person = f.table("person")
    if p.imd_deciles is not None:
        person = person.filter(person.imd_decile.isin(p.imd_deciles))
    person = person.filter(person.birth_date <= ibis.literal(_born_by(f.end, 18)))
    members = person.join(coded, person.person_id == coded.coded_person)
    before, after = ibis.literal(f.start - timedelta(days=1)), ibis.literal(f.end + timedelta(days=1))
    adult_throughout = ibis.literal(_born_by(f.start, 18))  # born by then: 18 or over at every census
    coded_on = ibis.least(ibis.greatest(members.first_coded, before), after)
    people = _people_in_range(f, members, birth_date=ibis.greatest(members.birth_date, adult_throughout),
                              first_coded=coded_on)
    grid = _census_ages(f)
    on = people.cross_join(grid)
    on = on.filter(on.registration_start <= on.census, on.registration_end > on.census, on.first_coded <= on.census,
                   on.birth_date <= on.born_by_18)
    register = _contrib(f, on, on.period, ibis.literal(0.0), on.people)
    each = _people_in_range(f, members, person_id=members.person_id,
                            birth_date=members.birth_date, first_coded=coded_on)
    t = _readings_timeline(f, each)
    t = t.join(grid, [t.event_date <= grid.census, t.next_date.isnull() | (t.next_date > grid.census),
                      t.at_80 // 2 >= grid.first_day, t.diastolic_met // 2 >= grid.first_day,
                      t.registration_start <= grid.census, t.registration_end > grid.census,
                      t.first_coded <= grid.census, t.birth_date <= grid.born_by_18])
    systolic_met = ibis.cases((t.birth_date > t.born_by_80, t.under_80), else_=t.at_80) % 2 == 1
    t = t.filter(systolic_met & (t.diastolic_met % 2 == 1))
    return _ratio(register.union(_contrib(f, t, t.period, ibis.literal(1.0), 0.0)), ("practice",))


RULES: dict[str, Rule] = {r.name: r for r in (
    Rule("ae_duration", AEDuration, ae_duration),
    Rule("ae_decision_to_admit", DecisionToAdmit, ae_decision_to_admit),
    Rule("ae_timing", AETiming, ae_timing),
    Rule("ambulance_response", AmbulanceResponse, ambulance_response),
    Rule("ambulance_handover", Handover, ambulance_handover),
    Rule("ucr_response", UCRResponse, ucr_response),
    Rule("emergency_admission_rate", NoParams, emergency_admission_rate),
    Rule("length_of_stay", LengthOfStay, length_of_stay),
    Rule("readmission", Readmission, readmission),
    Rule("bed_occupancy", BedOccupancy, bed_occupancy),
    Rule("delayed_discharge", DelayedDischarge, delayed_discharge),
    Rule("rtt_incomplete", Incomplete, rtt_incomplete),
    Rule("diagnostic_incomplete", Incomplete, diagnostic_incomplete),
    Rule("cancer_wait", CancerWait, cancer_wait),
    Rule("talking_therapies_wait", TalkingTherapiesWait, talking_therapies_wait),
    Rule("talking_therapies_recovery", Recovery, talking_therapies_recovery),
    Rule("eip_wait", EIPWait, eip_wait),
    Rule("dementia_diagnosis", DementiaDiagnosis, dementia_diagnosis),
    Rule("health_check", HealthCheck, health_check),
    Rule("gp_appointment_wait", GPWait, gp_appointment_wait),
    Rule("mental_health_access", MentalHealthAccess, mental_health_access),
    Rule("virtual_ward_patients", VirtualWard, virtual_ward_patients),
    Rule("blood_pressure_to_target", BloodPressureTarget, blood_pressure_to_target),
)}
