"""The event loop, compiled with Numba: a binary heap of (time, sequence, event) in arrays.

Patients arrive in order of their first request (already sorted) and are merged with the heap;
midnights (for daily statistics) and capacity changes come from their own timetables. Pools serve
their queues first come first served (a patient needing more care hours than are free blocks
those behind). A patient keeps the pool they hold until the next one admits them: someone ready
for discharge whose pathway is full stays in the acute bed (blocking after service), and an
admitted A&E patient stays in A&E until a bed is free (in a majors cubicle, a pool of kind ae, where the
department has them: boarders fill cubicles, and newcomers wait for one). Leaving a cubicle is leaving A&E.
A cancelled elective (REBOOK) asks for its bed again after its rebooking time.

Events: READY (service at this stage over: move on), REQUEST (ask for the next stage after the
time it takes to arrange), RENEGE (waited as long as they will: another route is found). A skipped
stage (a virtual ward with no free place) is spent in the pool already held.
"""

from __future__ import annotations

import numpy as np
from numba import njit

READY, REQUEST, RENEGE = 0, 1, 2
TURN_AWAY, SKIP, REBOOK, CORRIDOR = 1, 2, 4, 8  # REBOOK: turned away from the first pool, asks again later
# CORRIDOR: with no cubicle free, the stage's time is spent holding nothing (corridor care), then on
# what became of a patient
WAITING_TO_ARRIVE, IN_SYSTEM, LEFT, TURNED_AWAY, RENEGED = 0, 1, 2, 3, 4
# per pool and day
OCCUPANCY, MIDNIGHT, DELAYED, DELAYED_MIDNIGHT, QUEUE, ESCALATION, ADMITTED, TURNED, GAVE_UP, WAIT_DAYS, WAITED = (
    range(11))
POOL_STATS = 11
# per department and day, by arrival day: A&E patients simulated one by one (the admitted, and all through majors
# cubicles); ED_ADMITTED counts them
ED_ADMITTED, ED_WITHIN_4H, ED_OVER_12H, ED_OVER_12H_DTA = range(4)
EPS = 1e-9
# columns of the packed per-patient arrays (one row per patient keeps what an event touches together)
REQ, ARR = 0, 1  # floats: first request, arrival at A&E; then need, hold, arrange, patience by stage
DEPT, PATH = 0, 1  # ints: A&E department, pathway; then pool and flags by stage
STAGE, HELD, BEHIND, WAITING, READY_NOW, FATE = range(6)  # state ints
HELD_NEED, WAIT_FROM, LEFT_AT = range(3)  # state floats


@njit(cache=True, inline="always")
def _push(ht, hs, hp, size, seq, t, payload):
    """Add an event to the 4-ary heap (shallower than a binary one); parents move down into the hole until
    its place is found."""
    i = size
    while i > 0:
        parent = (i - 1) >> 2
        if ht[parent] < t or (ht[parent] == t and hs[parent] < seq):
            break
        ht[i], hs[i], hp[i] = ht[parent], hs[parent], hp[parent]
        i = parent
    ht[i], hs[i], hp[i] = t, seq, payload
    return size + 1


@njit(cache=True, inline="always")
def _pop(ht, hs, hp, size):
    """Remove the first event (the caller has read it); the last one sinks from the top through the hole."""
    size -= 1
    t, sq, payload = ht[size], hs[size], hp[size]
    i = 0
    while True:
        first = 4 * i + 1
        if first >= size:
            break
        child = first
        for c in range(first + 1, min(first + 4, size)):
            if ht[c] < ht[child] or (ht[c] == ht[child] and hs[c] < hs[child]):
                child = c
        if t < ht[child] or (t == ht[child] and sq < hs[child]):
            break
        ht[i], hs[i], hp[i] = ht[child], hs[child], hp[child]
        i = child
    ht[i], hs[i], hp[i] = t, sq, payload
    return size


@njit(cache=True, inline="always")
def _touch(p, t, occ, delayed, queued, core, last, acc):
    """Add the time since the pool last changed to its running integrals."""
    dt = t - last[p]
    if dt > 0:
        acc[p, 0] += occ[p] * dt
        acc[p, 1] += delayed[p] * dt
        acc[p, 2] += queued[p] * dt
        over = occ[p] - core[p]
        if over > 0:
            acc[p, 3] += over * dt
    last[p] = t


@njit(cache=True, inline="always")
def _touch_mffd(t, mffd, last_m, acc_m):
    dt = t - last_m[0]
    if dt > 0:
        for k in range(4):
            acc_m[k] += mffd[k] * dt
    last_m[0] = t


@njit(cache=True)
def simulate(order, pf, pi, capacity0, core0, is_acute, is_ed, change_time, change_pool, change_delta, n_days,
             n_departments, detail):
    """Run one replication: patients arrive in `order`; `pf` and `pi` hold each patient's floats and ints
    (see `icsys.flow.patients.Patients`). Returns pool stats (POOL_STATS, pools, days), MFFD (2, 4, days:
    mean and midnight by pathway), A&E (4, departments, days), fate per patient, stage start times (or an
    empty array), leaving times and the number of events processed."""
    n = pf.shape[0]
    n_stages = (pi.shape[1] - 2) // 2
    need0, hold0, arrange0, patience0 = 2, 2 + n_stages, 2 + 2 * n_stages, 2 + 3 * n_stages
    pool0, flags0 = 2, 2 + n_stages
    n_pools = capacity0.shape[0]
    cap = capacity0.copy()
    core = core0.copy()
    occ = np.zeros(n_pools)
    delayed = np.zeros(n_pools)
    queued = np.zeros(n_pools)
    last = np.zeros(n_pools)
    acc = np.zeros((n_pools, 4))
    mffd = np.zeros(4)
    last_m = np.zeros(1)
    acc_m = np.zeros(4)
    stats = np.zeros((POOL_STATS, n_pools, n_days))
    mffd_stats = np.zeros((2, 4, n_days))
    ed = np.zeros((4, n_departments, n_days))
    head = np.full(n_pools, -1, np.int64)
    tail = np.full(n_pools, -1, np.int64)
    st = np.zeros((n, 6), np.int64)
    sf = np.zeros((n, 3))
    starts = np.full((n if detail else 0, n_stages), np.nan)
    st[:, HELD] = -1
    st[:, BEHIND] = -1
    sf[:, LEFT_AT] = np.nan
    # one READY or REQUEST pending per patient, plus at most one RENEGE per stage (left behind once admitted):
    # the pages of the heap never reached are never touched, so the bound costs nothing
    heap_size = n * (1 + n_stages) + 16
    ht = np.empty(heap_size)
    hs = np.empty(heap_size, np.int64)
    hp = np.empty(heap_size, np.int64)
    size = 0
    seq = 0
    work = np.empty(n + n_pools + 16, np.int64)  # pools to serve after a release: at most one per admission
    requests = np.empty(n)  # in arrival order, read once per event: contiguous
    for k in range(n):
        requests[k] = pf[order[k], REQ]
    nxt = 0
    change = 0
    midnight = 1.0
    events = 0
    while True:
        t_next = requests[nxt] if nxt < n else np.inf
        t_heap = ht[0] if size > 0 else np.inf
        t_change = change_time[change] if change < change_time.shape[0] else np.inf
        t = min(t_next, t_heap, t_change)
        while midnight <= t and midnight <= n_days:  # daily statistics at each midnight
            d = int(midnight) - 1
            for p in range(n_pools):
                _touch(p, midnight, occ, delayed, queued, core, last, acc)
                stats[OCCUPANCY, p, d] = acc[p, 0]
                stats[DELAYED, p, d] = acc[p, 1]
                stats[QUEUE, p, d] = acc[p, 2]
                stats[ESCALATION, p, d] = acc[p, 3]
                stats[MIDNIGHT, p, d] = occ[p]
                stats[DELAYED_MIDNIGHT, p, d] = delayed[p]
                acc[p, :] = 0.0
            _touch_mffd(midnight, mffd, last_m, acc_m)
            for k in range(4):
                mffd_stats[0, k, d] = acc_m[k]
                mffd_stats[1, k, d] = mffd[k]
                acc_m[k] = 0.0
            midnight += 1.0
        if t >= n_days:
            break
        events += 1
        sp = 0
        if t_change <= t:  # capacity opens or closes (nobody is moved out when it closes)
            p = change_pool[change]
            _touch(p, t, occ, delayed, queued, core, last, acc)
            cap[p] += change_delta[change]
            core[p] += change_delta[change]
            change += 1
            work[sp] = p
            sp += 1
            i = -1
            kind = -1
        elif t_next <= t_heap:
            i = order[nxt]
            nxt += 1
            st[i, FATE] = IN_SYSTEM
            kind = REQUEST
        else:
            payload = hp[0]
            size = _pop(ht, hs, hp, size)
            kind = payload & 3
            i = payload >> 5
            if kind == RENEGE:
                s = (payload >> 2) & 7
                if not (st[i, WAITING] == 1 and st[i, STAGE] == s):
                    kind = -1  # admitted meanwhile
        if kind == READY:
            s = st[i, STAGE]
            if s + 1 < n_stages and pi[i, pool0 + s + 1] >= 0 and (pi[i, flags0 + s + 1] & SKIP) != 0:
                st[i, STAGE] = s + 1
                q = pi[i, pool0 + s + 1]
                if head[q] < 0 and occ[q] + pf[i, need0 + s + 1] <= cap[q] + EPS:
                    kind = REQUEST  # a free virtual-ward place: move now
                else:  # none free: the rest of the stay is spent in the bed already held
                    if t + pf[i, hold0 + s + 1] < n_days:
                        size = _push(ht, hs, hp, size, seq, t + pf[i, hold0 + s + 1], (i << 5) | READY)
                    seq += 1
                    kind = -1
            else:
                p = st[i, HELD]
                if p >= 0:
                    _touch(p, t, occ, delayed, queued, core, last, acc)
                    delayed[p] += 1
                    if is_acute[p] and pi[i, PATH] >= 0:
                        _touch_mffd(t, mffd, last_m, acc_m)
                        mffd[pi[i, PATH]] += 1
                st[i, READY_NOW] = 1
                st[i, STAGE] = s + 1
                if s + 1 < n_stages and pf[i, arrange0 + s + 1] > 0:
                    if t + pf[i, arrange0 + s + 1] < n_days:
                        size = _push(ht, hs, hp, size, seq, t + pf[i, arrange0 + s + 1], (i << 5) | REQUEST)
                    seq += 1
                    kind = -1
                else:
                    kind = REQUEST
        if kind == RENEGE:  # another route is found: leave the queue and whatever is held
            q = pi[i, pool0 + st[i, STAGE]]
            st[i, WAITING] = 0
            _touch(q, t, occ, delayed, queued, core, last, acc)
            queued[q] -= 1
            stats[GAVE_UP, q, int(t)] += 1
            st[i, FATE] = RENEGED
            sf[i, LEFT_AT] = t
            if st[i, HELD] >= 0:
                sp = _release(i, t, st, sf, pi, occ, delayed, queued, core, last, acc, is_acute, mffd, last_m, acc_m,
                              work, sp, is_ed, pf, ed, arrange0)
        if kind == REQUEST:
            s = st[i, STAGE]
            q = pi[i, pool0 + s] if s < n_stages else -1
            if q < 0:  # leave
                st[i, FATE] = LEFT
                sf[i, LEFT_AT] = t
                if st[i, HELD] >= 0:
                    sp = _release(i, t, st, sf, pi, occ, delayed, queued, core, last, acc, is_acute, mffd, last_m,
                                  acc_m, work, sp, is_ed, pf, ed, arrange0)
            elif _purge(q, head, tail, st) < 0 and occ[q] + pf[i, need0 + s] <= cap[q] + EPS:
                sf[i, WAIT_FROM] = t
                if st[i, HELD] >= 0:
                    sp = _release(i, t, st, sf, pi, occ, delayed, queued, core, last, acc, is_acute, mffd, last_m,
                                  acc_m, work, sp, is_ed, pf, ed, arrange0)
                size, seq = _admit(i, q, t, pf, pi, st, sf, need0, hold0, occ, delayed, queued, core, last, acc,
                                   stats, ed, starts, detail, ht, hs, hp, size, seq, n_days, is_ed,
                                   arrange0)
            elif (pi[i, flags0 + s] & CORRIDOR) != 0 and st[i, HELD] < 0:  # no cubicle: seen in the corridor
                stats[TURNED, q, int(t)] += 1
                if t + pf[i, hold0 + s] < n_days:
                    size = _push(ht, hs, hp, size, seq, t + pf[i, hold0 + s], (i << 5) | READY)
                seq += 1
            elif (pi[i, flags0 + s] & REBOOK) != 0 and s == 0:  # cancelled: rebooked (not yet in any pool)
                stats[TURNED, q, int(t)] += 1
                if t + pf[i, arrange0] < n_days:
                    size = _push(ht, hs, hp, size, seq, t + pf[i, arrange0], (i << 5) | REQUEST)
                seq += 1
            elif (pi[i, flags0 + s] & TURN_AWAY) != 0:
                st[i, FATE] = TURNED_AWAY
                sf[i, LEFT_AT] = t
                stats[TURNED, q, int(t)] += 1
                if st[i, HELD] >= 0:
                    sp = _release(i, t, st, sf, pi, occ, delayed, queued, core, last, acc, is_acute, mffd, last_m,
                                  acc_m, work, sp, is_ed, pf, ed, arrange0)
            else:  # join the queue
                _touch(q, t, occ, delayed, queued, core, last, acc)
                queued[q] += 1
                st[i, WAITING] = 1
                sf[i, WAIT_FROM] = t
                st[i, BEHIND] = -1
                if tail[q] >= 0 and head[q] >= 0:
                    st[tail[q], BEHIND] = i
                else:
                    head[q] = i
                tail[q] = i
                if t + pf[i, patience0 + s] < n_days:
                    size = _push(ht, hs, hp, size, seq, t + pf[i, patience0 + s], (i << 5) | (s << 2) | RENEGE)
                    seq += 1
        while sp > 0:  # serve the queues of pools that have room again
            sp -= 1
            q = work[sp]
            while True:
                j = _purge(q, head, tail, st)
                if j < 0:
                    break
                if occ[q] + pf[j, need0 + st[j, STAGE]] > cap[q] + EPS:
                    break
                head[q] = st[j, BEHIND]
                if head[q] < 0:
                    tail[q] = -1
                st[j, WAITING] = 0
                _touch(q, t, occ, delayed, queued, core, last, acc)
                queued[q] -= 1
                if st[j, HELD] >= 0:
                    sp = _release(j, t, st, sf, pi, occ, delayed, queued, core, last, acc, is_acute, mffd, last_m,
                                  acc_m, work, sp, is_ed, pf, ed, arrange0)
                size, seq = _admit(j, q, t, pf, pi, st, sf, need0, hold0, occ, delayed, queued, core, last, acc,
                                   stats, ed, starts, detail, ht, hs, hp, size, seq, n_days, is_ed,
                                   arrange0)
    return stats, mffd_stats, ed, st[:, FATE].astype(np.int8), starts, sf[:, LEFT_AT].copy(), events


@njit(cache=True, inline="always")
def _purge(q, head, tail, st):
    """The first patient still waiting for pool q (those who gave up are dropped), or -1."""
    j = head[q]
    while j >= 0 and st[j, WAITING] == 0:
        j = st[j, BEHIND]
    head[q] = j
    if j < 0:
        tail[q] = -1
    return j


@njit(cache=True, inline="always")
def _release(i, t, st, sf, pi, occ, delayed, queued, core, last, acc, is_acute, mffd, last_m, acc_m, work, sp, is_ed,
             pf, ed, arrange0):
    """Give back what patient i holds; its pool goes on the list of queues to serve. Leaving a majors cubicle is
    leaving A&E: for someone admitted, the decision to admit came the transfer time before the bed was asked
    for."""
    p = st[i, HELD]
    if is_ed[p] and pi[i, DEPT] >= 0:
        admitted = st[i, STAGE] == 1 and pi[i, 3] >= 0  # the pool of stage 1 (pool columns start at 2)
        dta = sf[i, WAIT_FROM] - pf[i, arrange0] if admitted else np.inf  # arrange0: the transfer time
        _record_ed(ed, pi[i, DEPT], pf[i, ARR], t, dta)
    _touch(p, t, occ, delayed, queued, core, last, acc)
    occ[p] -= sf[i, HELD_NEED]
    if st[i, READY_NOW] == 1:
        delayed[p] -= 1
        if is_acute[p] and pi[i, PATH] >= 0:
            _touch_mffd(t, mffd, last_m, acc_m)
            mffd[pi[i, PATH]] -= 1
        st[i, READY_NOW] = 0
    st[i, HELD] = -1
    work[sp] = p
    return sp + 1


@njit(cache=True, inline="always")
def _record_ed(ed, e, arrived, t, dta):
    """An attendance that left A&E at t, by the day it arrived (dta: when admission was decided, inf if not)."""
    da = int(arrived)
    ed[ED_ADMITTED, e, da] += 1
    if t - arrived <= 4.0 / 24.0 + EPS:
        ed[ED_WITHIN_4H, e, da] += 1
    if t - arrived > 0.5:
        ed[ED_OVER_12H, e, da] += 1
    if t - dta > 0.5:
        ed[ED_OVER_12H_DTA, e, da] += 1


@njit(cache=True, inline="always")
def _admit(i, q, t, pf, pi, st, sf, need0, hold0, occ, delayed, queued, core, last, acc, stats, ed, starts, detail,
           ht, hs, hp, size, seq, horizon, is_ed, arrange0):
    """Into pool q (whatever was held has been released first)."""
    s = st[i, STAGE]
    _touch(q, t, occ, delayed, queued, core, last, acc)
    occ[q] += pf[i, need0 + s]
    st[i, HELD] = q
    sf[i, HELD_NEED] = pf[i, need0 + s]
    d = int(t)
    stats[ADMITTED, q, d] += 1
    waited = t - sf[i, WAIT_FROM]
    stats[WAIT_DAYS, q, d] += waited
    if waited > 0:
        stats[WAITED, q, d] += 1
    if pi[i, DEPT] >= 0 and not is_ed[q] and (s == 0 or st[i, READY_NOW] == 1):
        # A&E is left for the bed: an A&E without cubicles, or the corridor (ready, holding nothing: READY_NOW is
        # cleared only by a release)
        _record_ed(ed, pi[i, DEPT], pf[i, ARR], t, sf[i, WAIT_FROM] - pf[i, arrange0])
        st[i, READY_NOW] = 0
    if detail:
        starts[i, s] = t
    if t + pf[i, hold0 + s] < horizon:  # an event after the end would never be processed
        size = _push(ht, hs, hp, size, seq, t + pf[i, hold0 + s], (i << 5) | READY)
    return size, seq + 1
