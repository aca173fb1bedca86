"""The scenario: the system as a model, as data. `icsys flow schema` prints these models as JSON Schema.

A scenario is as small as one pool of beds and one arrival stream, or as large as a whole ICS:
arrival streams per site (A&E walk-in and ambulance, GP and same-day emergency care, elective,
community step-up) with hour-of-day, day-of-week and monthly profiles; case mixes by age band,
frailty and specialty with their length of stay and discharge pathway mix; pools of capacity
(acute beds with escalation beds, community beds, home care in places or care hours, care-home
places, virtual wards); where each pathway goes from each pool; surges, capacity changes and
interventions over dates; and a census to start from. Every duration is in the unit its field
name says (`_days`, `_hours`).
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# a discharge_to destination that is no pool: people leave by another route (a spot-purchased package or
# placement, an interim arrangement) after the pathway's arranging time, taking no place
ANOTHER_ROUTE = "another_route"
AGE_BANDS = ("0-15", "16-64", "65-74", "75-84", "85+")
EMERGENCY_SOURCES = ("ae_walk_in", "ae_ambulance", "gp_sdec")
AgeBand = Literal["0-15", "16-64", "65-74", "75-84", "85+", "all"]
Frailty = Literal["fit", "mild", "moderate", "severe", "unknown", "all"]
Source = Literal["ae_walk_in", "ae_ambulance", "gp_sdec", "elective", "step_up", "other"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- distributions (one uniform draw each, by inversion, so that common random numbers couple) ----------------

class Exponential(_Strict):
    distribution: Literal["exponential"]
    mean: float = Field(gt=0)


class Lognormal(_Strict):
    distribution: Literal["lognormal"]
    mean: float = Field(gt=0)
    sd: float = Field(gt=0)


class Fixed(_Strict):
    distribution: Literal["fixed"]
    value: float = Field(ge=0)


class Uniform(_Strict):
    distribution: Literal["uniform"]
    low: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high {self.high} is below low {self.low}")
        return self


class Empirical(_Strict):
    """A fitted distribution: values at cumulative probabilities, linear in between."""

    distribution: Literal["empirical"]
    quantiles: list[float] = Field(min_length=2, description="Values, not decreasing, at `probabilities`")
    probabilities: list[float] | None = Field(
        default=None, description="Cumulative probabilities from 0 to 1 (default evenly spaced)")

    @model_validator(mode="after")
    def _monotone(self) -> Empirical:
        q = self.quantiles
        if any(b < a for a, b in itertools.pairwise(q)) or q[0] < 0:
            raise ValueError("quantiles must be 0 or more and must not decrease")
        p = self.probabilities
        if p is not None:
            if len(p) != len(q):
                raise ValueError(f"{len(p)} probabilities for {len(q)} quantiles")
            if abs(p[0]) > 1e-9 or abs(p[-1] - 1) > 1e-9 or any(b <= a for a, b in itertools.pairwise(p)):
                raise ValueError("probabilities must rise from 0 to 1")
        return self


Distribution = Annotated[Exponential | Lognormal | Fixed | Uniform | Empirical, Field(discriminator="distribution")]


# --- the parts of a scenario ---------------------------------------------------------------------------------

class ScenarioInfo(_Strict):
    name: str
    description: str = ""
    start: date = Field(description="First day reported (the warm-up runs before it)")
    days: int = Field(gt=0, le=3660, description="Days reported")
    warm_up_days: int = Field(default=0, ge=0, le=3660, description="Days simulated before `start` and discarded")
    extends: str | None = Field(default=None, description="Base scenario this one overrides (file or shipped name)")


class Pool(_Strict):
    """Capacity patients occupy: beds, places, or care hours a week."""

    code: str = Field(min_length=1)
    name: str = ""
    kind: Literal["acute", "ae", "community", "home_care", "care_home", "virtual_ward", "other"] = Field(
        default="other", description="ae: an A&E department's majors cubicles, held from arrival to leaving A&E")
    capacity: float = Field(ge=0, description="Beds, cubicles or places (or care hours a week when unit is hours)")
    escalation: float = Field(default=0, ge=0, description="Escalation beds, used only when the rest are full")
    unit: Literal["places", "hours"] = "places"
    need_hours: Distribution | None = Field(default=None, description="Care hours a week each person needs "
                                            "(required when unit is hours)")
    stay_days: Distribution | None = Field(default=None, description="How long a place is held by someone "
                                           "discharged to it (and by census clients)")
    arranging_days: Distribution | None = Field(default=None, description="From ready for discharge to the "
                                                "earliest move into this pool, even when a place is free")
    patience_days: Distribution | None = Field(default=None, description="How long someone waits for a place "
                                               "before another route is found (none: they wait)")
    home_days: Distribution | None = Field(default=None, description="From ready to leaving on pathway 0")
    pathway_days: dict[Literal["1", "2", "3"], Distribution] = Field(
        default_factory=dict, description="From ready to the earliest move on pathway 1-3 from this pool, in "
        "place of the destination's arranging_days (a site's own discharge times)")
    onward: list[float] | None = Field(default=None, min_length=4, max_length=4, description="Pathway mix "
                                       "[P0, P1, P2, P3] on leaving this pool (community beds)")
    discharge_to: dict[Literal["1", "2", "3"], dict[str, float]] = Field(
        default_factory=dict, description="For each pathway 1-3, the pools it leads to and their shares ("
        f"{ANOTHER_ROUTE!r}: no pool, people leave by another route after the pathway's arranging time)")
    census: int = Field(default=0, ge=0, description="People in the pool at the start of the run")
    census_ready: dict[Literal["0", "1", "2", "3"], int] = Field(
        default_factory=dict, description="Of the census, people already ready to leave, by pathway")

    @model_validator(mode="after")
    def _consistent(self) -> Pool:
        if self.unit == "hours" and self.need_hours is None:
            raise ValueError("a pool in care hours needs need_hours")
        if self.onward is not None and abs(sum(self.onward) - 1) > 1e-6:
            raise ValueError(f"onward shares add up to {sum(self.onward):.4f}, not 1")
        for pathway, shares in self.discharge_to.items():
            if not shares or abs(sum(shares.values()) - 1) > 1e-6 or min(shares.values()) < 0:
                raise ValueError(f"discharge_to.{pathway}: shares must be 0 or more and add up to 1")
        if sum(self.census_ready.values()) > self.census:
            raise ValueError("census_ready counts more people than census")
        if self.unit == "places" and self.census > self.capacity + self.escalation:
            raise ValueError(f"census {self.census} exceeds capacity and escalation beds")
        return self


class CaseMixRow(_Strict):
    """One group of patients: its share of a stream's arrivals, whether it is admitted, its length of stay
    (admission to ready for discharge) and the discharge pathway it needs."""

    age_band: AgeBand = "all"
    frailty: Frailty = "all"
    specialty: str = Field(default="", description="Treatment function code (empty: any)")
    share: float = Field(gt=0)
    admitted: bool = True
    los_days: Distribution | None = None
    pathway: list[float] = Field(default=[1.0, 0.0, 0.0, 0.0], min_length=4, max_length=4,
                                 description="Pathway mix [P0, P1, P2, P3]")

    @model_validator(mode="after")
    def _consistent(self) -> CaseMixRow:
        if self.admitted and self.los_days is None:
            raise ValueError("an admitted group needs los_days")
        if abs(sum(self.pathway) - 1) > 1e-6 or min(self.pathway) < 0:
            raise ValueError(f"pathway shares add up to {sum(self.pathway):.4f}, not 1")
        return self


class CaseMix(_Strict):
    rows: list[CaseMixRow] = Field(min_length=1)


class Arrivals(_Strict):
    """A stream of arrivals: a Poisson process whose rate follows the profiles (each normalised to mean 1)."""

    name: str = Field(min_length=1)
    source: Source = "other"
    pool: str = Field(default="", description="Pool admitted patients ask for (empty: none are admitted)")
    department: str = Field(default="", description="A&E department the stream attends (A&E sources)")
    department_type: Literal[1, 2, 3, 4] = 1
    per_day: float = Field(ge=0, description="Mean arrivals a day before profiles and surges")
    hour_of_day: list[float] | None = Field(default=None, min_length=24, max_length=24)
    day_of_week: list[float] | None = Field(default=None, min_length=7, max_length=7, description="Monday first")
    month: list[float] | None = Field(default=None, min_length=12, max_length=12, description="January first")
    when_full: Literal["queue", "turn_away", "rebook"] = Field(
        default="queue", description="When its pool is full: wait for a place, leave, or (a planned admission "
        "cancelled on the day) ask again after rebook_days")
    rebook_days: Distribution | None = Field(default=None, description="Cancellation to the rebooked date (at "
                                             "least a day: shorter draws are taken as one day)")
    case_mix: str | None = Field(default=None, description="Name of a case mix (else los_days and pathway)")
    admitted_share: float | None = Field(default=None, ge=0, le=1, description="Overrides the case mix's "
                                         "admitted share for this stream")
    los_days: Distribution | None = None
    pathway: list[float] | None = Field(default=None, min_length=4, max_length=4)
    los_scale: float = Field(default=1.0, gt=0, description="Multiplies the case mix's lengths of stay for this "
                             "stream (a site's stays beside the system's case mix)")
    ed_hours: Distribution | None = Field(default=None, description="Time in A&E of those not admitted")
    dta_hours: Distribution | None = Field(default=None, description="Arrival to decision to admit (with an "
                                           "ae_pool: once in a cubicle)")
    transfer_hours: Distribution | None = Field(
        default=None, description="Decision to admit to leaving A&E for a bed when one is free (finding and "
        "preparing it, handover); the wait for a bed comes on top")
    ae_pool: str = Field(default="", description="Pool of kind ae (the department's majors cubicles) that its "
                         "majors patients hold from arrival until they leave A&E, waiting for one when all are full")
    majors: Literal["all", "admitted"] = Field(
        default="admitted", description="With an ae_pool: who is treated in majors, everyone or only those "
        "admitted (the rest are seen in minors, which has no capacity of its own)")

    @model_validator(mode="after")
    def _consistent(self) -> Arrivals:
        for name in ("hour_of_day", "day_of_week", "month"):
            profile = getattr(self, name)
            if profile is not None and (min(profile) < 0 or sum(profile) <= 0):
                raise ValueError(f"{name}: values must be 0 or more and not all 0")
        if self.case_mix is None and self.los_days is None and self.pool:
            raise ValueError("give either case_mix or los_days")
        if self.case_mix is not None and (self.los_days is not None or self.pathway is not None):
            raise ValueError("give either case_mix or los_days/pathway, not both")
        if self.source.startswith("ae_") and not self.department:
            raise ValueError("an A&E stream needs its department")
        if self.when_full == "rebook" and self.rebook_days is None:
            raise ValueError("when_full = rebook needs rebook_days")
        if self.when_full == "rebook" and self.source.startswith("ae_"):
            raise ValueError("when_full = rebook is for planned admissions, not an A&E stream")
        if self.ae_pool and not self.source.startswith("ae_"):
            raise ValueError("only an A&E stream has an ae_pool")
        return self


class Surge(_Strict):
    """Demand multiplied over dates: winter, or a wave (rising to `multiplier` at the midpoint and back)."""

    name: str
    start: date
    end: date
    multiplier: float = Field(gt=0, le=16)
    shape: Literal["flat", "wave"] = "flat"
    sources: list[Source] = Field(default=list(EMERGENCY_SOURCES))
    streams: list[str] = Field(default_factory=list, description="Only these streams (default: by sources)")

    @model_validator(mode="after")
    def _ordered(self) -> Surge:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class CapacityChange(_Strict):
    """Extra (or closed) beds, places or care hours over dates."""

    pool: str
    change: float = Field(description="Added capacity (negative: closed)")
    start: date
    end: date | None = Field(default=None, description="Last day of the change (none: to the end)")

    @model_validator(mode="after")
    def _ordered(self) -> CapacityChange:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class _Intervention(_Strict):
    name: str = ""
    start: date | None = Field(default=None, description="First day of arrival it applies to")
    end: date | None = None
    age_bands: list[AgeBand] = Field(default=["all"])
    frailty: list[Frailty] = Field(default=["all"])


class UrgentCommunityResponse(_Intervention):
    """2-hour urgent community response: a share of eligible ambulance conveyances is seen at home instead."""

    kind: Literal["urgent_community_response"]
    share: float = Field(gt=0, le=1)
    sources: list[Source] = Field(default=["ae_ambulance"])
    frailty: list[Frailty] = Field(default=["moderate", "severe"])
    responses_per_day: float | None = Field(default=None, gt=0, description="Team capacity: the share falls on "
                                            "days when expected demand exceeds it")


class FrailtyMDT(_Intervention):
    """Proactive frailty MDTs: a share of the cohort's emergency attendances and admissions does not happen."""

    kind: Literal["frailty_mdt"]
    share: float = Field(gt=0, le=1)
    sources: list[Source] = Field(default=list(EMERGENCY_SOURCES))
    frailty: list[Frailty] = Field(default=["moderate", "severe"])


class VirtualWard(_Intervention):
    """Hospital at home: eligible patients move to a virtual-ward place for the end of their stay, if one is free."""

    kind: Literal["virtual_ward"]
    pool: str = Field(description="A pool of kind virtual_ward: its capacity is the places")
    share: float = Field(gt=0, le=1, description="Share of eligible admissions offered the virtual ward")
    acute_share_of_stay: float = Field(default=0.6, gt=0, lt=1)
    specialties: list[str] = Field(default_factory=list, description="Eligible specialties (empty: all)")
    acute_pools: list[str] = Field(default_factory=list, description="Sites it serves (empty: all acute pools)")


class HomeFirst(_Intervention):
    """Home First / discharge to assess: a share of patients needing one pathway get another."""

    kind: Literal["home_first"]
    from_pathway: Literal[1, 2, 3]
    to_pathway: Literal[0, 1, 2]
    share: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _lower(self) -> HomeFirst:
        if self.to_pathway >= self.from_pathway:
            raise ValueError("Home First moves people to a lower pathway")
        return self


Intervention = Annotated[UrgentCommunityResponse | FrailtyMDT | VirtualWard | HomeFirst, Field(discriminator="kind")]


class Scenario(_Strict):
    scenario: ScenarioInfo
    pool: list[Pool] = Field(min_length=1)
    arrivals: list[Arrivals] = Field(min_length=1)
    case_mix: dict[str, CaseMix] = Field(default_factory=dict)
    surge: list[Surge] = Field(default_factory=list)
    capacity_change: list[CapacityChange] = Field(default_factory=list)
    intervention: list[Intervention] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_resolve(self) -> Scenario:
        problems = _unique(self) + _unresolved(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def pool_by_code(self) -> dict[str, Pool]:
        return {p.code: p for p in self.pool}


def _pathways_routed(s: Scenario, a: Arrivals, pool: Pool) -> list[str]:
    """Every pathway a stream's patients can need must lead somewhere from the pool they are admitted to."""
    rows = s.case_mix[a.case_mix].rows if a.case_mix else [CaseMixRow(share=1, los_days=a.los_days,
                                                                      pathway=a.pathway or [1, 0, 0, 0])]
    needed = {k for r in rows if r.admitted for k in (1, 2, 3) if r.pathway[k] > 0}
    needed |= {i.to_pathway for i in s.intervention
               if isinstance(i, HomeFirst) and i.from_pathway in needed and i.to_pathway > 0}
    return [f"arrivals {a.name!r}: patients may need pathway {k} but pool {pool.code!r} has no discharge_to.{k}"
            for k in sorted(needed) if str(k) not in pool.discharge_to]


def _unique(s: Scenario) -> list[str]:
    problems = []
    for what, names in (("pool code", [p.code for p in s.pool]), ("arrivals name", [a.name for a in s.arrivals])):
        problems += [f"{what} {n!r} appears more than once" for n in sorted(set(names)) if names.count(n) > 1]
    return problems


def _unresolved(s: Scenario) -> list[str]:
    pools = s.pool_by_code()
    streams = {a.name for a in s.arrivals}
    problems = []
    for p in s.pool:
        for pathway, shares in p.discharge_to.items():
            problems += [f"pool {p.code!r}: discharge_to.{pathway} names unknown pool {q!r}"
                         for q in shares if q not in pools and q != ANOTHER_ROUTE]
        if p.onward is not None and any(p.onward[k] > 0 and str(k) not in p.discharge_to for k in (1, 2, 3)):
            problems.append(f"pool {p.code!r}: onward sends people to a pathway with no discharge_to")
    for a in s.arrivals:
        if a.pool and a.pool not in pools:
            problems.append(f"arrivals {a.name!r}: unknown pool {a.pool!r}")
        if a.pool in pools and pools[a.pool].kind == "ae":
            problems.append(f"arrivals {a.name!r}: pool {a.pool!r} is an A&E department (name it as ae_pool)")
        if a.ae_pool and (a.ae_pool not in pools or pools[a.ae_pool].kind != "ae"):
            problems.append(f"arrivals {a.name!r}: ae_pool {a.ae_pool!r} is not a pool of kind ae")
        if a.case_mix is not None and a.case_mix not in s.case_mix:
            problems.append(f"arrivals {a.name!r}: unknown case_mix {a.case_mix!r}")
        elif a.pool in pools:
            problems += _pathways_routed(s, a, pools[a.pool])
    for p in s.pool:
        problems += [f"pool {p.code!r}: census_ready on pathway {k} but no discharge_to.{k}"
                     for k, n in p.census_ready.items() if n and k != "0" and k not in p.discharge_to]
    for c in s.capacity_change:
        if c.pool not in pools:
            problems.append(f"capacity_change: unknown pool {c.pool!r}")
    for g in s.surge:
        problems += [f"surge {g.name!r}: unknown stream {n!r}" for n in g.streams if n not in streams]
    for i in s.intervention:
        if isinstance(i, VirtualWard):
            if i.pool not in pools or pools[i.pool].kind != "virtual_ward":
                problems.append(f"intervention {i.name or i.kind!r}: pool {i.pool!r} is not a virtual_ward pool")
            problems += [f"intervention {i.name or i.kind!r}: unknown pool {q!r}" for q in i.acute_pools
                         if q not in pools]
    return problems
