"""A scenario made ready to simulate: the calendar laid out hour by hour, every stream's rate with its
profiles and surges, the case mixes as tables, interventions as daily shares, capacity changes as a
timetable. Everything here is fixed for a scenario; what varies by replication is drawn in `patients`.

Time is in days from the start of the warm-up (t = 0 is midnight at the start of day 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from icsys.flow import distributions as dist
from icsys.flow.model import (
    ANOTHER_ROUTE,
    Arrivals,
    CaseMixRow,
    Distribution,
    Empirical,
    FrailtyMDT,
    HomeFirst,
    Pool,
    Scenario,
    UrgentCommunityResponse,
    VirtualWard,
)
from icsys.flow.scenario import ScenarioError


@dataclass(frozen=True)
class Rows:
    """The groups of a stream's admitted patients."""

    age_band: list[str]
    frailty: list[str]
    specialty: list[str]
    cumulative: np.ndarray  # cumulative conditional shares, last = 1
    los: list[Distribution]
    pathway_cumulative: np.ndarray  # (rows, 4)
    los_table: np.ndarray | None = None  # (rows, k) when every stay is empirical on k evenly spaced points
    los_mean: np.ndarray | None = None
    los_scale: float = 1.0  # already applied to los_table and los_mean, not to los


@dataclass(frozen=True)
class Stream:
    spec: Arrivals
    pool: int  # -1: nobody is admitted
    department: int  # -1: not an A&E stream
    ae_pool: int  # the department's majors cubicles (-1: none, A&E has no capacity of its own)
    rows: Rows | None
    all_rows: list[CaseMixRow]  # admitted or not
    share_admitted: float
    hourly: np.ndarray  # arrivals an hour before surges
    surge_hourly: np.ndarray  # demand multiplier each hour
    envelope: float  # thinning bound on the multiplier (a power of two)
    ucr_rows: np.ndarray  # admitted rows each intervention kind can reach
    mdt_rows: np.ndarray
    # expected A&E attendances a day that are not admitted, and of them diverted or avoided
    attend_daily: np.ndarray
    diverted_daily: np.ndarray
    avoided_daily: np.ndarray
    over_4h: float  # P(time in A&E > 4 hours) for those not admitted
    over_12h: float

    @property
    def admitted_hourly(self) -> np.ndarray:
        return self.hourly * self.share_admitted


@dataclass(frozen=True)
class Model:
    scenario: Scenario
    first_day: date  # day 0 (start of the warm-up)
    n_days: int
    warm_up_days: int
    pools: list[Pool]
    capacity: np.ndarray  # beds or hours, escalation included
    core: np.ndarray  # without escalation
    is_acute: np.ndarray
    is_ed: np.ndarray  # A&E majors cubicles: leaving one is leaving A&E
    departments: list[str]
    department_type: list[int]
    streams: list[Stream]
    change_time: np.ndarray  # capacity timetable: when, which pool, by how much
    change_pool: np.ndarray
    change_delta: np.ndarray
    ucr_daily: np.ndarray  # share of reachable patients diverted, by day
    mdt_daily: np.ndarray
    home_first: list[tuple[HomeFirst, np.ndarray]]  # with its daily share
    virtual_wards: list[tuple[VirtualWard, int, np.ndarray]]  # with its pool and daily share

    @property
    def pool_codes(self) -> list[str]:
        return [p.code for p in self.pools]

    def with_envelopes(self, envelopes: dict[str, float]) -> Model:
        """The same model with the thinning bounds of some streams raised (to share arrivals with another)."""
        streams = [replace(s, envelope=max(s.envelope, envelopes.get(s.spec.name, 0.0))) for s in self.streams]
        return replace(self, streams=streams)


def compile_scenario(scenario: Scenario) -> Model:
    info = scenario.scenario
    first_day = info.start - timedelta(days=info.warm_up_days)
    n_days = info.warm_up_days + info.days
    days = np.arange(n_days)
    dow = (np.array([first_day.weekday()]) + days) % 7
    month = np.array([(first_day + timedelta(days=int(d))).month - 1 for d in days])
    pools = list(scenario.pool)
    index = {p.code: i for i, p in enumerate(pools)}
    _check_destinations(scenario, index)
    departments = sorted({a.department for a in scenario.arrivals if a.department})
    dept_type = {a.department: a.department_type for a in scenario.arrivals if a.department}
    ucr = _daily_share(scenario, UrgentCommunityResponse, first_day, n_days)
    mdt = _daily_share(scenario, FrailtyMDT, first_day, n_days)
    streams = [_stream(scenario, a, index, departments, first_day, n_days, dow, month) for a in scenario.arrivals]
    _limit_ucr(scenario, streams, ucr, first_day, n_days)
    streams = [_not_admitted(scenario, s, ucr, mdt) for s in streams]
    change_time, change_pool, change_delta = _changes(scenario, index, first_day, n_days)
    return Model(
        scenario=scenario, first_day=first_day, n_days=n_days, warm_up_days=info.warm_up_days, pools=pools,
        capacity=np.array([p.capacity + p.escalation for p in pools], dtype=np.float64),
        core=np.array([p.capacity for p in pools], dtype=np.float64),
        is_acute=np.array([p.kind == "acute" for p in pools]),
        is_ed=np.array([p.kind == "ae" for p in pools]),
        departments=departments, department_type=[dept_type[d] for d in departments], streams=streams,
        change_time=change_time, change_pool=change_pool, change_delta=change_delta,
        ucr_daily=ucr, mdt_daily=mdt,
        home_first=[(i, _window(i.start, i.end, first_day, n_days) * i.share) for i in scenario.intervention
                    if isinstance(i, HomeFirst)],
        virtual_wards=[(i, index[i.pool], _window(i.start, i.end, first_day, n_days) * i.share)
                       for i in scenario.intervention if isinstance(i, VirtualWard)],
    )


def _check_destinations(scenario: Scenario, index: dict[str, int]) -> None:
    """A pool people are discharged to must say how long they stay in it; one onward step at most."""
    pools = scenario.pool_by_code()
    problems = []
    for p in scenario.pool:
        for pathway, shares in p.discharge_to.items():
            for code in shares:
                if code == ANOTHER_ROUTE:
                    continue
                target = pools[code]
                if target.stay_days is None:
                    problems.append(f"pool {code!r} receives pathway {pathway} from {p.code!r} but has no stay_days")
                if p.onward is not None and target.onward is not None:
                    problems.append(f"pool {code!r}: people reach it by an onward step from {p.code!r}, so it "
                                    "cannot have its own onward mix (one onward step at most)")
        if p.census and not _fed(scenario, p) and p.stay_days is None:
            problems.append(f"pool {p.code!r}: a census needs stay_days or an arrival stream to draw stays from")
    if problems:
        raise ScenarioError("; ".join(problems))


def _fed(scenario: Scenario, pool: Pool) -> bool:
    return any(a.pool == pool.code and a.per_day > 0 for a in scenario.arrivals)


def _window(start: date | None, end: date | None, first_day: date, n_days: int) -> np.ndarray:
    """1.0 on the days from start to end (inclusive), else 0."""
    day = np.arange(n_days)
    lo = (start - first_day).days if start else 0
    hi = (end - first_day).days if end else n_days
    return ((day >= lo) & (day <= hi)).astype(np.float64)


def _profile(values: list[float] | None, n: int) -> np.ndarray:
    if values is None:
        return np.ones(n)
    v = np.asarray(values, dtype=np.float64)
    return v / v.mean()


def _case_rows(scenario: Scenario, a: Arrivals) -> list[CaseMixRow]:
    if a.case_mix is not None:
        return list(scenario.case_mix[a.case_mix].rows)
    return [CaseMixRow(share=1.0, los_days=a.los_days, pathway=a.pathway or [1.0, 0.0, 0.0, 0.0],
                       admitted=bool(a.pool))]


def _matches(row: CaseMixRow, ages: list[str], frailty: list[str]) -> bool:
    return ("all" in ages or row.age_band in ages) and ("all" in frailty or row.frailty in frailty)


def _stream(scenario: Scenario, a: Arrivals, index: dict[str, int], departments: list[str], first_day: date,
            n_days: int, dow: np.ndarray, month: np.ndarray) -> Stream:
    rows = _case_rows(scenario, a)
    total = sum(r.share for r in rows)
    admitted = [r for r in rows if r.admitted]
    share_admitted = sum(r.share for r in admitted) / total
    if a.admitted_share is not None:
        if a.admitted_share > 0 and not admitted:
            raise ScenarioError(f"arrivals {a.name!r}: admitted_share {a.admitted_share} but its case mix has "
                                "no admitted group")
        share_admitted = a.admitted_share
    if admitted and not a.pool:
        raise ScenarioError(f"arrivals {a.name!r}: its case mix admits patients but the stream has no pool")
    if a.source.startswith("ae_") and share_admitted < 1 and a.ed_hours is None:
        raise ScenarioError(f"arrivals {a.name!r}: an A&E stream needs ed_hours (time in A&E if not admitted)")
    if a.source.startswith("ae_") and share_admitted > 0 and a.dta_hours is None:
        raise ScenarioError(f"arrivals {a.name!r}: an A&E stream that admits needs dta_hours")
    hourly = np.repeat(a.per_day / 24 * _profile(a.day_of_week, 7)[dow] * _profile(a.month, 12)[month], 24)
    hourly = hourly * np.tile(_profile(a.hour_of_day, 24), n_days)
    surge = _surge(scenario, a, first_day, n_days)
    peak = float(surge.max()) if len(surge) else 1.0
    table = None
    if admitted:
        shares = np.array([r.share for r in admitted])
        table = Rows(
            age_band=[r.age_band for r in admitted], frailty=[r.frailty for r in admitted],
            specialty=[r.specialty for r in admitted], cumulative=_cumulative(shares),
            los=[r.los_days for r in admitted if r.los_days is not None],
            pathway_cumulative=np.array([_cumulative(np.array(r.pathway)) for r in admitted]),
            los_table=_scaled(_table([r.los_days for r in admitted if r.los_days is not None]), a.los_scale),
            los_mean=np.array([dist.mean(r.los_days) for r in admitted if r.los_days is not None]) * a.los_scale,
            los_scale=a.los_scale)
    reach = {kind: np.array([any(isinstance(i, kind) and a.source in i.sources and _matches(r, i.age_bands,
                                                                                           i.frailty)
                                 for i in scenario.intervention) for r in admitted], dtype=bool)
             for kind in (UrgentCommunityResponse, FrailtyMDT)}
    ed = a.ed_hours
    return Stream(
        spec=a, pool=index[a.pool] if a.pool else -1,
        department=departments.index(a.department) if a.department else -1,
        ae_pool=index[a.ae_pool] if a.ae_pool else -1, rows=table, all_rows=rows,
        share_admitted=share_admitted, hourly=hourly, surge_hourly=surge,
        envelope=float(2 ** math.ceil(math.log2(max(2.0, peak)))),
        ucr_rows=reach[UrgentCommunityResponse], mdt_rows=reach[FrailtyMDT],
        attend_daily=np.zeros(n_days), diverted_daily=np.zeros(n_days), avoided_daily=np.zeros(n_days),
        over_4h=dist.exceeds(ed, 4.0) if ed else 0.0, over_12h=dist.exceeds(ed, 12.0) if ed else 0.0)


def _scaled(table: np.ndarray | None, scale: float) -> np.ndarray | None:
    return table * scale if table is not None and scale != 1 else table


def _table(dists: list[Distribution]) -> np.ndarray | None:
    """Empirical stays on the same evenly spaced points, as one array: drawn for all groups at once."""
    if not dists or not all(isinstance(d, Empirical) and d.probabilities is None for d in dists):
        return None
    sizes = {len(d.quantiles) for d in dists}  # type: ignore[union-attr]
    if len(sizes) != 1:
        return None
    return np.array([d.quantiles for d in dists], dtype=np.float64)  # type: ignore[union-attr]


def _cumulative(shares: np.ndarray) -> np.ndarray:
    c = np.cumsum(shares / shares.sum())
    c[-1] = 1.0
    return c


def _surge(scenario: Scenario, a: Arrivals, first_day: date, n_days: int) -> np.ndarray:
    """The product of the surges that apply to this stream, hour by hour."""
    out = np.ones(n_days * 24)
    t = (np.arange(n_days * 24) + 0.5) / 24
    for g in scenario.surge:
        if not (a.name in g.streams if g.streams else a.source in g.sources):
            continue
        lo, hi = (g.start - first_day).days, (g.end - first_day).days + 1
        inside = (t >= lo) & (t < hi)
        if g.shape == "flat":
            out[inside] *= g.multiplier
        else:  # a wave: a raised cosine from 1 up to the multiplier at the midpoint and back
            x = (t[inside] - lo) / (hi - lo)
            out[inside] *= 1 + (g.multiplier - 1) * 0.5 * (1 - np.cos(2 * np.pi * x))
    return out


def _daily_share(scenario: Scenario, kind: type, first_day: date, n_days: int) -> np.ndarray:
    """Share of reachable patients an intervention kind takes, by day (several add up, to at most 1)."""
    share = np.zeros(n_days)
    for i in scenario.intervention:
        if isinstance(i, kind):
            share += _window(i.start, i.end, first_day, n_days) * i.share
    return np.minimum(share, 1.0)


def _limit_ucr(scenario: Scenario, streams: list[Stream], ucr: np.ndarray, first_day: date,
               n_days: int) -> None:
    """A response team with a capacity diverts a smaller share on days when expected demand exceeds it."""
    limits = [i for i in scenario.intervention if isinstance(i, UrgentCommunityResponse) and i.responses_per_day]
    if not limits:
        return
    reachable = np.zeros(n_days)
    for s in streams:
        total = sum(r.share for r in s.all_rows)
        daily = (s.hourly * s.surge_hourly).reshape(n_days, 24).sum(axis=1)
        for i in limits:
            if s.spec.source in i.sources:
                reachable += daily * sum(r.share for r in s.all_rows if _matches(r, i.age_bands, i.frailty)) / total
    capacity = sum(_window(i.start, i.end, first_day, n_days) * (i.responses_per_day or 0) for i in limits)
    ucr[:] = np.where(reachable > 0, np.minimum(ucr, capacity / np.maximum(reachable, 1e-12)), ucr)


def _not_admitted(scenario: Scenario, s: Stream, ucr: np.ndarray, mdt: np.ndarray) -> Stream:
    """Expected attendances not admitted, after 2-hour response diversions and MDT avoidance, by day."""
    rows = [r for r in s.all_rows if not r.admitted]
    daily = (s.hourly * s.surge_hourly).reshape(-1, 24).sum(axis=1) * (1 - s.share_admitted)
    if not rows or s.share_admitted >= 1:
        return replace(s, attend_daily=np.zeros_like(daily))
    total = sum(r.share for r in rows)
    ucr_reach = sum(r.share for r in rows if _reached(scenario, s, r, UrgentCommunityResponse)) / total
    mdt_reach = sum(r.share for r in rows if _reached(scenario, s, r, FrailtyMDT)) / total
    diverted = daily * ucr_reach * ucr
    avoided = (daily - diverted) * mdt_reach * mdt
    return replace(s, attend_daily=daily - diverted - avoided, diverted_daily=diverted, avoided_daily=avoided)


def _reached(scenario: Scenario, s: Stream, row: CaseMixRow, kind: type) -> bool:
    return any(isinstance(i, kind) and s.spec.source in i.sources and _matches(row, i.age_bands, i.frailty)
               for i in scenario.intervention)


def _changes(scenario: Scenario, index: dict[str, int], first_day: date,
             n_days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    events: list[tuple[float, int, float]] = []
    for c in scenario.capacity_change:
        lo = max(0, (c.start - first_day).days)
        hi = (c.end - first_day).days + 1 if c.end else n_days
        if hi <= 0 or lo >= n_days:
            continue
        events.append((float(lo), index[c.pool], c.change))
        if hi < n_days:
            events.append((float(hi), index[c.pool], -c.change))
    events.sort(key=lambda e: (e[0], -e[2]))
    return (np.array([e[0] for e in events], dtype=np.float64), np.array([e[1] for e in events], dtype=np.int64),
            np.array([e[2] for e in events], dtype=np.float64))

