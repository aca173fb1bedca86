"""The patients of one replication, drawn before the event loop runs.

Every random quantity belongs to a patient and is drawn here, from random streams named by
(seed, replication, arrival stream): the event loop itself is deterministic. That gives common
random numbers across scenarios: patient j of a stream arrives at the same moment and draws the
same group, length of stay, pathway and onward stays in two scenarios, whatever the capacity.

Arrivals are a non-homogeneous Poisson process drawn by inversion and thinning: candidates come
from the stream's profiled rate times an envelope (a power of two at least the largest surge
multiplier) by inverting the cumulative rate; a candidate is kept with probability multiplier /
envelope. Two scenarios with the same profiles and envelope share their candidates, so a surge
adds patients without moving the others. Attendances not admitted are simulated one by one where they
hold an A&E majors cubicle (`_majors`); the rest (minors, or an A&E without cubicles) wait for nothing, so
they are counted per day (Poisson by inversion).

A journey is up to six stages: a majors cubicle in A&E (where the department has them), the first pool
(where the patient is admitted), a virtual ward
(taken only if a place is free), the pool their discharge pathway leads to, one onward step (from
community beds), and leaving. Each stage has the pool, what the patient needs of it (1 place, or
care hours), how long they hold it, how long arranging it takes once they are ready for it, and
how long they will wait for it before another route is found.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from scipy import stats

from icsys.flow import distributions as dist
from icsys.flow.compiled import Model, Stream
from icsys.flow.model import ANOTHER_ROUTE, Distribution

STAGES = 6  # a majors cubicle, the first pool, a virtual ward, the pathway's pool, an onward step, leaving
TURN_AWAY, SKIP, REBOOK, CORRIDOR = 1, 2, 4, 8
ACCEPT, ROW, DTA, LOS, NEED0, UCR, MDT, VW, HOME_FIRST = range(9)
MOVES = (9, 15, 15)  # first column of each move's draws: pathway, destination, need, stay, arranging, patience
HOME = 21
UNIFORMS = 22
_ARRIVALS, _ATTRIBUTES, _COUNTS, _CENSUS, _TRANSFER, _MAJORS_ARRIVALS, _MAJORS_ATTRIBUTES, _REBOOK = range(8)


@dataclass
class Patients:
    """The patients of a replication. Each patient's numbers are packed in one row of `floats` and one of
    `ints` (what an event of theirs touches sits together in memory); the properties name the columns."""

    floats: np.ndarray  # (n, 2 + 4 x STAGES): request, arrival, then need, hold, arrange, patience by stage
    ints: np.ndarray  # (n, 2 + 2 x STAGES): A&E department (-1 none), pathway (-1 none), then pool, flags
    stream: np.ndarray  # arrival stream index, -1 for the census
    order: np.ndarray  # patients in order of their first request (ties: the census first)
    # per day, not simulated one by one: A&E attendances not admitted (by department) and removals
    ed_attend: np.ndarray  # (departments, days)
    ed_within_4h: np.ndarray
    ed_over_12h: np.ndarray
    diverted: np.ndarray  # (days,) 2-hour urgent community response instead of conveyance
    avoided: np.ndarray  # (days,) frailty MDT: attendance or admission that did not happen

    def __len__(self) -> int:
        return self.floats.shape[0]

    @property
    def request(self) -> np.ndarray:  # when the first pool is asked for (days)
        return self.floats[:, 0]

    @property
    def arrival(self) -> np.ndarray:  # arrival at A&E (or the request)
        return self.floats[:, 1]

    @property
    def need(self) -> np.ndarray:
        return self.floats[:, 2:2 + STAGES]

    @property
    def hold(self) -> np.ndarray:
        return self.floats[:, 2 + STAGES:2 + 2 * STAGES]

    @property
    def arrange(self) -> np.ndarray:
        return self.floats[:, 2 + 2 * STAGES:2 + 3 * STAGES]

    @property
    def patience(self) -> np.ndarray:
        return self.floats[:, 2 + 3 * STAGES:2 + 4 * STAGES]

    @property
    def department(self) -> np.ndarray:
        return self.ints[:, 0]

    @property
    def pathway(self) -> np.ndarray:  # pathway needed on leaving the first pool
        return self.ints[:, 1]

    @property
    def pool(self) -> np.ndarray:  # (n, STAGES): -1 means leave
        return self.ints[:, 2:2 + STAGES]

    @property
    def flags(self) -> np.ndarray:
        return self.ints[:, 2 + STAGES:2 + 2 * STAGES]


_FLOATS = (("request", 1), ("arrival", 1), ("need", STAGES), ("hold", STAGES), ("arrange", STAGES),
           ("patience", STAGES))
_INTS = (("department", 1), ("pathway", 1), ("pool", STAGES), ("flags", STAGES))


def _pack(parts: list[dict[str, np.ndarray]], columns: tuple[tuple[str, int], ...], dtype: type,
          order: np.ndarray) -> np.ndarray:
    """The parts' columns side by side, their rows one after another, then put in `order`."""
    out = np.empty((sum(len(p["request"]) for p in parts), sum(w for _, w in columns)), dtype=dtype)
    row = 0
    for part in parts:
        n = len(part["request"])
        col = 0
        for name, width in columns:
            out[row:row + n, col:col + width] = part[name].reshape(n, width)
            col += width
        row += n
    return np.take(out, order, axis=0)  # far quicker than out[order] for rows


def seed_sequence(seed: int, replication: int, name: str, purpose: int) -> np.random.SeedSequence:
    """The random stream of one purpose of one named stream in one replication: independent of every other,
    and the same whatever else the scenario contains (keyed by name, not position)."""
    return np.random.SeedSequence(seed, spawn_key=(replication, zlib.crc32(name.encode()), purpose))


def generator(seed: int, replication: int, name: str, purpose: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, replication, name, purpose)))


def draw(model: Model, seed: int, replication: int) -> Patients:
    parts = [_census(model, seed, replication, i) for i, p in enumerate(model.pools) if p.census > 0]
    parts += [_arrivals(model, s, i, seed, replication) for i, s in enumerate(model.streams) if s.pool >= 0]
    parts += [_majors(model, s, i, seed, replication) for i, s in enumerate(model.streams)
              if s.ae_pool >= 0 and s.spec.majors == "all"]
    counts = _daily_counts(model, seed, replication)
    diverted, avoided = counts.pop("diverted"), counts.pop("avoided")
    for p in parts:
        diverted += p.get("diverted_daily", 0)
        avoided += p.get("avoided_daily", 0)
    parts = [p for p in parts if len(p["request"])]
    # rows in order of the first request (ties: the census first): the loop then reads them in turn as they
    # arrive, and those in the system at one time lie near each other in memory
    order = np.argsort(np.concatenate([p["request"] for p in parts]), kind="stable") if parts else np.empty(0, int)
    floats, ints = _pack(parts, _FLOATS, np.float64, order), _pack(parts, _INTS, np.int64, order)
    stream = np.concatenate([p["stream"] for p in parts])[order] if parts else np.empty(0, np.int64)
    return Patients(floats=floats, ints=ints, stream=stream, order=np.arange(len(order)), **counts,
                    diverted=diverted, avoided=avoided)


def _candidates(s: Stream, seed: int, replication: int, hourly: np.ndarray | None = None,
                purpose: int = _ARRIVALS) -> tuple[np.ndarray, np.ndarray]:
    """Candidate arrival times (days) by inverting the cumulative rate of the envelope process, and the
    hour each falls in."""
    rate = (s.admitted_hourly if hourly is None else hourly) * s.envelope
    cumulative = np.cumsum(rate)
    total = float(cumulative[-1]) if len(cumulative) else 0.0
    if total <= 0:
        return np.empty(0), np.empty(0, np.int64)
    rng = generator(seed, replication, s.spec.name, purpose)
    points = np.cumsum(rng.exponential(size=int(total + 6 * np.sqrt(total) + 20)))
    while points[-1] < total:  # rare: the block fell short
        points = np.concatenate([points, points[-1] + np.cumsum(rng.exponential(size=int(np.sqrt(total)) + 20))])
    points = points[points < total]
    hour = np.searchsorted(cumulative, points, side="right")
    before = np.where(hour > 0, cumulative[np.maximum(hour - 1, 0)], 0.0)
    return (hour + (points - before) / rate[hour]) / 24, hour


def _arrivals(model: Model, s: Stream, index: int, seed: int, replication: int) -> dict[str, np.ndarray]:
    t, hour = _candidates(s, seed, replication)
    # single precision: half the cost of drawing and copying, ample for inverting a distribution
    u = generator(seed, replication, s.spec.name, _ATTRIBUTES).random((len(t), UNIFORMS), dtype=np.float32)
    assert s.rows is not None
    kept = u[:, ACCEPT] * s.envelope < s.surge_hourly[hour]  # thinning: the rest of the envelope is not demand
    candidates = len(t)
    t, u, which = t[kept], u[kept], np.flatnonzero(kept)  # which candidate each patient is
    row = np.minimum(np.searchsorted(s.rows.cumulative, u[:, ROW], side="right"), len(s.rows.cumulative) - 1)
    day = np.minimum(t.astype(np.int64), model.n_days - 1)
    diverted = s.ucr_rows[row] & (u[:, UCR] < model.ucr_daily[day])
    avoided = ~diverted & s.mdt_rows[row] & (u[:, MDT] < model.mdt_daily[day])
    removed = {"diverted_daily": np.bincount(day[diverted], minlength=model.n_days).astype(np.float64),
               "avoided_daily": np.bincount(day[avoided], minlength=model.n_days).astype(np.float64)}
    if diverted.any() or avoided.any():
        keep = ~diverted & ~avoided
        t, row, day, u, which = t[keep], row[keep], day[keep], u[keep], which[keep]
    los = _stays(s, row, u[:, LOS])
    dta = dist.quantile(s.spec.dta_hours, u[:, DTA]) / 24 if s.spec.dta_hours and s.department >= 0 else 0.0
    pathway = (u[:, MOVES[0], None] >= s.rows.pathway_cumulative[row]).sum(axis=1).clip(0, 3)
    pathway = _home_first(model, s, row, day, pathway, u)
    vw_pool, vw_share = _virtual_ward(model, s, row, day, u)
    n = len(t)
    out = _journeys(model, np.full(n, s.pool), los, pathway, u, vw_pool, vw_share,
                    turn_away=s.spec.when_full != "queue")
    if s.spec.when_full == "rebook" and s.spec.rebook_days is not None:  # arrange[:, 0] is free: the first
        out["flags"][:, 0] |= REBOOK                                     # pool is asked for at the request
        # at least a day later: a rebooking at the same moment would ask again, and again, at an unchanged time
        u_rebook = generator(seed, replication, s.spec.name, _REBOOK).random(candidates)[which]
        out["arrange"][:, 0] = np.maximum(dist.quantile(s.spec.rebook_days, u_rebook), 1.0)
    # their own streams, so that giving a stream a transfer time leaves every other draw as it was; one draw per
    # candidate, so that a surge (more candidates kept) leaves each patient's as it was
    transfer = (dist.quantile(s.spec.transfer_hours,
                              generator(seed, replication, s.spec.name, _TRANSFER).random(candidates)[which]) / 24
                if s.spec.transfer_hours and s.department >= 0 else np.zeros(n))
    if s.ae_pool >= 0:  # a cubicle from arrival to the decision to admit, then held until a bed is free
        out = _through_majors(out, s.ae_pool, dta, transfer)
        request = t
    else:  # A&E has no capacity of its own: the bed is asked for at the end of the transfer time
        request = t + dta + transfer
        if s.department >= 0:  # the first stage's arranging is unused for an A&E stream (never rebooked): it
            out["arrange"][:, 0] = transfer  # keeps the transfer time, for the 12 hours from the decision to admit
    return out | removed | {"request": request, "arrival": t, "department": np.full(n, s.department),
                            "stream": np.full(n, index)}


def _through_majors(out: dict[str, np.ndarray], ae_pool: int, dta: np.ndarray | float,
                    transfer: np.ndarray) -> dict[str, np.ndarray]:
    """Put a majors cubicle before each patient's first pool: held for the time to the decision to admit,
    then (after the transfer time) the bed is asked for while the cubicle is still held (boarding)."""
    # a journey from a bed uses at most STAGES - 1 stages (leaving included): room to shift it by one
    assert (out["pool"][:, -1] == -1).all() and not out["arrange"][:, -1].any()
    for name, first in (("pool", ae_pool), ("need", 1.0), ("hold", 0.0), ("arrange", 0.0), ("patience", np.inf),
                        ("flags", CORRIDOR)):
        a = out[name]
        a[:, 1:] = a[:, :-1].copy()
        a[:, 0] = first
    # the transfer time is spent in the cubicle: one event, not two (ready for the bed at its end); the first
    # stage's arranging is unused by the loop (asked for at arrival), so it keeps the transfer time, for the
    # decision to admit (the 12 hours from it)
    out["hold"][:, 0] = dta + transfer
    out["arrange"][:, 0] = transfer
    return out


def _majors(model: Model, s: Stream, index: int, seed: int, replication: int) -> dict[str, np.ndarray]:
    """Majors patients not admitted, one by one: a cubicle for their time in A&E (from their own streams, so
    that the admitted are drawn as they would be without them). Thinned by the surges and, day by day, by the
    share the 2-hour response and frailty MDTs take from the attendances not admitted."""
    expected = (s.hourly * s.surge_hourly).reshape(-1, 24).sum(axis=1) * (1 - s.share_admitted)
    keep = np.divide(s.attend_daily, expected, out=np.zeros_like(expected), where=expected > 0)
    t, hour = _candidates(s, seed, replication, s.hourly * (1 - s.share_admitted), _MAJORS_ARRIVALS)
    u = generator(seed, replication, s.spec.name, _MAJORS_ATTRIBUTES).random((len(t), 2))
    day = np.minimum(t.astype(np.int64), model.n_days - 1)
    kept = u[:, 0] * s.envelope < s.surge_hourly[hour] * keep[day]
    t, u = t[kept], u[kept]
    n = len(t)
    pool = np.full((n, STAGES), -1, dtype=np.int64)
    pool[:, 0] = s.ae_pool
    hold = np.zeros((n, STAGES))
    assert s.spec.ed_hours is not None
    hold[:, 0] = dist.quantile(s.spec.ed_hours, u[:, 1]) / 24
    return {"pool": pool, "need": np.ones((n, STAGES)), "hold": hold, "arrange": np.zeros((n, STAGES)),
            "patience": np.full((n, STAGES), np.inf), "flags": np.zeros((n, STAGES), dtype=np.int8),
            "pathway": np.full(n, -1), "request": t, "arrival": t, "department": np.full(n, s.department),
            "stream": np.full(n, index)}


def _stays(s: Stream, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Length of stay of each patient from their group's distribution (all groups at once when they can be)."""
    assert s.rows is not None
    table = s.rows.los_table
    if table is None:
        return _by_group(row, s.rows.los, u) * s.rows.los_scale
    x = u * (table.shape[1] - 1)
    i = np.minimum(x.astype(np.int64), table.shape[1] - 2)
    low = table[row, i]
    return low + (x - i) * (table[row, i + 1] - low)


def _by_group(group: np.ndarray, dists: list[Distribution], u: np.ndarray) -> np.ndarray:
    out = np.empty(len(group))
    for g in np.unique(group):
        sel = group == g
        out[sel] = dist.quantile(dists[g], u[sel])
    return out


def _matches(model: Model, s: Stream, row: np.ndarray, ages: list[str], frailty: list[str],
             specialties: list[str] | None = None) -> np.ndarray:
    assert s.rows is not None
    ok = np.array([("all" in ages or a in ages) and ("all" in frailty or f in frailty)
                   and (not specialties or sp in specialties)
                   for a, f, sp in zip(s.rows.age_band, s.rows.frailty, s.rows.specialty, strict=True)], dtype=bool)
    return ok[row]


def _home_first(model: Model, s: Stream, row: np.ndarray, day: np.ndarray, pathway: np.ndarray,
                u: np.ndarray) -> np.ndarray:
    original = pathway.copy()  # each applies to the pathway people needed, not to one another's moves
    for hf, daily in model.home_first:
        moved = (original == hf.from_pathway) & _matches(model, s, row, hf.age_bands, hf.frailty) & (
            u[:, HOME_FIRST] < daily[day])
        pathway = np.where(moved, hf.to_pathway, pathway)
    return pathway


def _virtual_ward(model: Model, s: Stream, row: np.ndarray, day: np.ndarray,
                  u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pool = np.full(len(row), -1)
    acute_share = np.ones(len(row))
    code = model.pools[s.pool].code
    for vw, index, daily in model.virtual_wards:
        if vw.acute_pools and code not in vw.acute_pools:
            continue
        offered = (pool < 0) & _matches(model, s, row, vw.age_bands, vw.frailty, vw.specialties) & (
            u[:, VW] < daily[day])
        pool[offered] = index
        acute_share[offered] = vw.acute_share_of_stay
    return pool, acute_share


def _journeys(model: Model, first: np.ndarray, stay: np.ndarray, pathway: np.ndarray, u: np.ndarray,
              vw_pool: np.ndarray | None = None, vw_share: np.ndarray | None = None,
              turn_away: bool = False) -> dict[str, np.ndarray]:
    """Stage arrays for patients starting in pool `first` for `stay` days and then needing `pathway`
    (replaced by the pool's onward mix where it has one)."""
    n = len(first)
    pool = np.full((n, STAGES), -1, dtype=np.int64)
    need = np.ones((n, STAGES))
    hold = np.zeros((n, STAGES))
    arrange = np.zeros((n, STAGES))
    patience = np.full((n, STAGES), np.inf)
    flags = np.zeros((n, STAGES), dtype=np.int8)
    pool[:, 0], hold[:, 0] = first, stay
    flags[:, 0] = TURN_AWAY if turn_away else 0
    _needs(model, first, np.arange(n), 0, u[:, NEED0], need)
    column = np.ones(n, dtype=np.int64)
    if vw_pool is not None and vw_share is not None:
        vw = np.flatnonzero(vw_pool >= 0)
        pool[vw, 1], flags[vw, 1] = vw_pool[vw], SKIP
        hold[vw, 1] = stay[vw] * (1 - vw_share[vw])
        hold[vw, 0] = stay[vw] * vw_share[vw]
        column[vw] = 2
    k = _onward(model, first, pathway.copy(), u[:, MOVES[0]])
    first_pathway = k.copy()
    here = first.copy()
    for move, base in enumerate(MOVES):
        leaving = np.flatnonzero(k == 0)
        for p in np.unique(here[leaving]):
            sel = leaving[here[leaving] == p]
            home = model.pools[p].home_days
            arrange[sel, column[sel]] = dist.quantile(home, u[sel, HOME]) if home else 0.0
        going = np.flatnonzero(k > 0)
        if move == len(MOVES) - 1 or not len(going):
            break
        there = _destinations(model, here, k, going, u[:, base + 1])
        for q in np.unique(there[going]):
            if q < 0:  # another route: no place, they leave after the arranging time
                continue
            sel = going[there[going] == q]
            target = model.pools[q]
            c = column[sel]
            pool[sel, c] = q
            _needs(model, np.full(len(sel), q), sel, c, u[sel, base + 2], need)
            hold[sel, c] = dist.quantile(target.stay_days, u[sel, base + 3]) if target.stay_days else 0.0
            if target.arranging_days:
                arrange[sel, c] = dist.quantile(target.arranging_days, u[sel, base + 4])
            if target.patience_days:
                patience[sel, c] = dist.quantile(target.patience_days, u[sel, base + 5])
        _arranging_from(model, here, k, going, column, u[:, base + 4], arrange)
        column[going] += 1
        k = np.where(k > 0, 0, -1)  # after a destination: leave, unless it has an onward mix
        placed = going[there[going] >= 0]
        k[placed] = _onward(model, there[placed], np.zeros(len(placed), np.int64), u[placed, MOVES[move + 1]],
                            only_onward=True)
        k[going[there[going] < 0]] = -1
        here = np.where(k >= 0, there, here)
    return {"pool": pool, "need": need, "hold": hold, "arrange": arrange, "patience": patience, "flags": flags,
            "pathway": np.where(model.is_acute[first], first_pathway, -1)}


def _arranging_from(model: Model, here: np.ndarray, k: np.ndarray, going: np.ndarray, column: np.ndarray,
                    u: np.ndarray, arrange: np.ndarray) -> None:
    """Where the pool people leave says how long arranging their pathway takes from it (a site's own
    discharge times), that replaces the destination's."""
    for p in np.unique(here[going]):
        for pathway, days in model.pools[p].pathway_days.items():
            sel = going[(here[going] == p) & (k[going] == int(pathway))]
            arrange[sel, column[sel]] = dist.quantile(days, u[sel])


def _needs(model: Model, pools: np.ndarray, rows: np.ndarray, column: np.ndarray | int, u: np.ndarray,
           need: np.ndarray) -> None:
    """Care hours a week for pools counted in hours; one place otherwise (already set)."""
    for q in np.unique(pools):
        target = model.pools[q]
        if target.unit == "hours" and target.need_hours is not None:
            sel = pools == q
            need[rows[sel], column if isinstance(column, int) else column[sel]] = dist.quantile(
                target.need_hours, u[sel])


def _onward(model: Model, pools: np.ndarray, pathway: np.ndarray, u: np.ndarray,
            only_onward: bool = False) -> np.ndarray:
    """The pathway on leaving: the pool's onward mix where it has one, else the patient's own."""
    out = pathway.copy()
    for q in np.unique(pools):
        onward = model.pools[q].onward
        if onward is not None:
            sel = pools == q
            out[sel] = np.searchsorted(np.cumsum(onward)[:-1], u[sel], side="right")
        elif only_onward:
            out[pools == q] = 0
    return out


def _destinations(model: Model, here: np.ndarray, k: np.ndarray, going: np.ndarray, u: np.ndarray) -> np.ndarray:
    there = np.full(len(here), -1, dtype=np.int64)
    codes = {p.code: i for i, p in enumerate(model.pools)} | {ANOTHER_ROUTE: -1}
    for p in np.unique(here[going]):
        routes = model.pools[p].discharge_to
        for pathway in np.unique(k[going][here[going] == p]):
            sel = going[(here[going] == p) & (k[going] == pathway)]
            shares = routes.get(str(pathway))
            if shares is None:  # validated for arrival streams; a census or onward mix can still lack a route
                raise ValueError(f"pool {model.pools[p].code!r} has no discharge_to.{pathway}")
            targets = np.array([codes[c] for c in shares])
            cumulative = np.cumsum(list(shares.values()))
            there[sel] = targets[np.minimum(np.searchsorted(cumulative / cumulative[-1], u[sel], side="right"),
                                            len(targets) - 1)]
    return there


def _census(model: Model, seed: int, replication: int, index: int) -> dict[str, np.ndarray]:
    """People in a pool at the start: from the streams that feed it (weighted by arrivals and mean stay,
    since long stays are more likely to be found in a bed), or its own stay for a pool people are
    discharged to. Their time left is the equilibrium residual of their stay; those counted as ready
    have none left and need their pathway now."""
    target = model.pools[index]
    n = target.census
    rng = generator(seed, replication, f"census:{target.code}", _CENSUS)
    u = rng.random((n, UNIFORMS), dtype=np.float32)
    feeding = [s for s in model.streams if s.pool == index and s.rows is not None and s.rows.los_mean is not None]
    pathway = np.zeros(n, dtype=np.int64)
    if target.stay_days is not None or not feeding:
        assert target.stay_days is not None
        stay = dist.residual(target.stay_days, u[:, LOS], u[:, ROW])
    else:
        stay = np.empty(n)
        # a stream, then a group, in proportion to arrivals x mean stay (people in beds at a moment)
        weights = [s.admitted_hourly[:24 * 7].mean() * _shares(s) * s.rows.los_mean for s in feeding]  # type: ignore[union-attr,operator]
        total = np.array([w.sum() for w in weights])
        pick = np.minimum(np.searchsorted(np.cumsum(total) / total.sum(), u[:, ACCEPT], side="right"),
                          len(feeding) - 1)
        for j in np.unique(pick):
            s, sel = feeding[j], np.flatnonzero(pick == j)
            cumulative = np.cumsum(weights[j]) / total[j]
            row = np.minimum(np.searchsorted(cumulative, u[sel, ROW], side="right"), len(cumulative) - 1)
            stay[sel] = _residual_stays(s, row, u[sel, LOS], u[sel, DTA], u[sel, VW])
            pathway[sel] = (u[sel, MOVES[0], None] >= s.rows.pathway_cumulative[row]).sum(axis=1).clip(0, 3)  # type: ignore[union-attr]
    start = 0
    for k, count in sorted(target.census_ready.items()):
        stay[start:start + count] = 0.0
        pathway[start:start + count] = int(k)
        start += count
    out = _journeys(model, np.full(n, index), stay, pathway, u)
    return out | {"request": np.zeros(n), "arrival": np.zeros(n), "department": np.full(n, -1),
                  "stream": np.full(n, -1)}


def _shares(s: Stream) -> np.ndarray:
    assert s.rows is not None
    return np.diff(s.rows.cumulative, prepend=0.0)


def _residual_stays(s: Stream, row: np.ndarray, u_segment: np.ndarray, u_within: np.ndarray,
                    u_elapsed: np.ndarray) -> np.ndarray:
    """Time left for people found in a bed: their stay is length-biased and they are a uniform share of the
    way through it. For empirical stays (piecewise-linear quantiles: uniform density on each segment) the
    length-biased draw is exact: a segment in proportion to its mean, then a density rising with x in it."""
    assert s.rows is not None
    table = s.rows.los_table
    if table is None:
        out = np.empty(len(row))
        for r in np.unique(row):
            sel = row == r
            out[sel] = dist.residual(s.rows.los[r], u_segment[sel], u_elapsed[sel]) * s.rows.los_scale
        return out
    mids = (table[:, :-1] + table[:, 1:]) / 2
    cumulative = np.cumsum(mids, axis=1)
    cumulative /= np.maximum(cumulative[:, -1:], 1e-12)
    segment = np.minimum((cumulative[row] <= u_segment[:, None]).sum(axis=1), table.shape[1] - 2)
    low, high = table[row, segment], table[row, segment + 1]
    return np.sqrt(low**2 + u_within * (high**2 - low**2)) * (1 - u_elapsed)


def _daily_counts(model: Model, seed: int, replication: int) -> dict[str, np.ndarray]:
    """A&E attendances not admitted, per department and day: Poisson counts and binomial breaches, each
    drawn by inversion from its own uniforms (so a busier scenario has at least as many)."""
    shape = (len(model.departments), model.n_days)
    out = {k: np.zeros(shape) for k in ("ed_attend", "ed_within_4h", "ed_over_12h")}
    out |= {"diverted": np.zeros(model.n_days), "avoided": np.zeros(model.n_days)}
    for s in model.streams:
        if s.department < 0 or not (s.attend_daily.any() or s.diverted_daily.any() or s.avoided_daily.any()):
            continue
        u = generator(seed, replication, s.spec.name, _COUNTS).random((5, model.n_days))
        # majors patients not admitted are simulated one by one (`_majors`)
        majors = s.ae_pool >= 0 and s.spec.majors == "all"
        n = stats.poisson.ppf(u[0], 0.0 if majors else s.attend_daily)
        over_4 = stats.binom.ppf(u[1], n, s.over_4h)
        over_12 = stats.binom.ppf(u[2], over_4, s.over_12h / s.over_4h if s.over_4h > 0 else 0.0)
        out["ed_attend"][s.department] += n
        out["ed_within_4h"][s.department] += n - over_4
        out["ed_over_12h"][s.department] += over_12
        out["diverted"] += stats.poisson.ppf(u[3], s.diverted_daily)
        out["avoided"] += stats.poisson.ppf(u[4], s.avoided_daily)
    return {k: np.nan_to_num(v) for k, v in out.items()}
