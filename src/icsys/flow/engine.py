"""The event loop, compiled with Numba: a binary heap of (time, sequence, event) in arrays.

Patients arrive in order of their first request (already sorted) and are merged with the heap;
midnights (for daily statistics) and capacity changes come from their own timetables. Pools serve
their queues first come first served (a patient needing more care hours than are free blocks
those behind). A patient keeps the pool they hold until the next one admits them: someone ready
for discharge whose pathway is full stays in the acute bed (blocking after service), and an
admitted A&E patient stays in A&E until a bed is free.

Events: READY (service at this stage over: move on), REQUEST (ask for the next stage after the
time it takes to arrange), RENEGE (waited as long as they will: another route is found). A skipped
stage (a virtual ward with no free place) is spent in the pool already held.
"""

from __future__ import annotations

import numpy as np
from numba import njit

READY, REQUEST, RENEGE = 0, 1, 2
TURN_AWAY, SKIP = 1, 2
# what became of a patient
WAITING_TO_ARRIVE, IN_SYSTEM, LEFT, TURNED_AWAY, RENEGED = 0, 1, 2, 3, 4
# per pool and day
OCCUPANCY, MIDNIGHT, DELAYED, DELAYED_MIDNIGHT, QUEUE, ESCALATION, ADMITTED, TURNED, GAVE_UP, WAIT_DAYS, WAITED = (
    range(11))
POOL_STATS = 11
# per department and day (admitted A&E patients, by arrival day)
ED_ADMITTED, ED_WITHIN_4H, ED_OVER_12H, ED_OVER_12H_DTA = range(4)
EPS = 1e-9


@njit(cache=True, inline="always")
def _push(ht, hs, hp, size, seq, t, payload):
    i = size
    ht[i], hs[i], hp[i] = t, seq, payload
    while i > 0:
        parent = (i - 1) >> 1
        if ht[parent] < ht[i] or (ht[parent] == ht[i] and hs[parent] < hs[i]):
            break
        ht[i], ht[parent] = ht[parent], ht[i]
        hs[i], hs[parent] = hs[parent], hs[i]
        hp[i], hp[parent] = hp[parent], hp[i]
        i = parent
    return size + 1


@njit(cache=True, inline="always")
def _pop(ht, hs, hp, size):
    size -= 1
    ht[0], hs[0], hp[0] = ht[size], hs[size], hp[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        right = left + 1
        if right < size and (ht[right] < ht[left] or (ht[right] == ht[left] and hs[right] < hs[left])):
            child = right
        if ht[i] < ht[child] or (ht[i] == ht[child] and hs[i] < hs[child]):
            break
        ht[i], ht[child] = ht[child], ht[i]
        hs[i], hs[child] = hs[child], hs[i]
        hp[i], hp[child] = hp[child], hp[i]
        i = child
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
def simulate(order, request, arrival, department, pathway, pool, need, hold, arrange, patience, flags,
             capacity0, core0, is_acute, change_time, change_pool, change_delta, n_days, n_departments, detail):
    """Run one replication: patients arrive in `order`. Returns pool stats (POOL_STATS, pools, days), MFFD
    (2, 4, days: mean and midnight by pathway), A&E (4, departments, days), fate per patient, stage start
    times (or an empty array), leaving times and the number of events processed."""
    n = request.shape[0]
    n_pools = capacity0.shape[0]
    n_stages = pool.shape[1]
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
    behind = np.full(n, -1, np.int64)
    stage = np.zeros(n, np.int64)
    held = np.full(n, -1, np.int64)
    held_need = np.zeros(n)
    waiting = np.zeros(n, np.bool_)
    ready = np.zeros(n, np.bool_)
    wait_from = np.zeros(n)
    fate = np.zeros(n, np.int8)
    left_at = np.full(n, np.nan)
    starts = np.full((n if detail else 0, n_stages), np.nan)
    heap_size = n + 16  # one READY or REQUEST pending per patient, plus one RENEGE per finite patience
    for i in range(n):
        for s in range(n_stages):
            if patience[i, s] < np.inf:
                heap_size += 1
    ht = np.empty(heap_size)
    hs = np.empty(heap_size, np.int64)
    hp = np.empty(heap_size, np.int64)
    size = 0
    seq = 0
    work = np.empty(n + n_pools + 16, np.int64)  # pools to serve after a release: at most one per admission
    nxt = 0
    change = 0
    midnight = 1.0
    events = 0
    while True:
        t_next = request[order[nxt]] if nxt < n else np.inf
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
            fate[i] = IN_SYSTEM
            kind = REQUEST
        else:
            payload = hp[0]
            size = _pop(ht, hs, hp, size)
            kind = payload & 3
            i = payload >> 5
            if kind == RENEGE:
                s = (payload >> 2) & 7
                if not (waiting[i] and stage[i] == s):
                    kind = -1  # admitted meanwhile
        if kind == READY:
            s = stage[i]
            if s + 1 < n_stages and pool[i, s + 1] >= 0 and (flags[i, s + 1] & SKIP) != 0:
                stage[i] = s + 1
                q = pool[i, s + 1]
                if head[q] < 0 and occ[q] + need[i, s + 1] <= cap[q] + EPS:
                    kind = REQUEST  # a free virtual-ward place: move now
                else:  # none free: the rest of the stay is spent in the bed already held
                    if t + hold[i, s + 1] < n_days:
                        size = _push(ht, hs, hp, size, seq, t + hold[i, s + 1], (i << 5) | READY)
                    seq += 1
                    kind = -1
            else:
                p = held[i]
                if p >= 0:
                    _touch(p, t, occ, delayed, queued, core, last, acc)
                    delayed[p] += 1
                    if is_acute[p] and pathway[i] >= 0:
                        _touch_mffd(t, mffd, last_m, acc_m)
                        mffd[pathway[i]] += 1
                ready[i] = True
                stage[i] = s + 1
                if s + 1 < n_stages and arrange[i, s + 1] > 0:
                    if t + arrange[i, s + 1] < n_days:
                        size = _push(ht, hs, hp, size, seq, t + arrange[i, s + 1], (i << 5) | REQUEST)
                    seq += 1
                    kind = -1
                else:
                    kind = REQUEST
        if kind == RENEGE:  # another route is found: leave the queue and whatever is held
            s = stage[i]
            q = pool[i, s]
            waiting[i] = False
            _touch(q, t, occ, delayed, queued, core, last, acc)
            queued[q] -= 1
            d = int(t)
            stats[GAVE_UP, q, d] += 1
            fate[i] = RENEGED
            left_at[i] = t
            p = held[i]
            if p >= 0:
                sp = _release(i, p, t, occ, delayed, queued, core, last, acc, held, held_need, ready, pathway,
                              is_acute, mffd, last_m, acc_m, work, sp)
        if kind == REQUEST:
            s = stage[i]
            q = pool[i, s] if s < n_stages else -1
            if q < 0:  # leave
                fate[i] = LEFT
                left_at[i] = t
                p = held[i]
                if p >= 0:
                    sp = _release(i, p, t, occ, delayed, queued, core, last, acc, held, held_need, ready, pathway,
                                  is_acute, mffd, last_m, acc_m, work, sp)
            elif _purge(q, head, tail, behind, waiting) < 0 and occ[q] + need[i, s] <= cap[q] + EPS:
                wait_from[i] = t
                if held[i] >= 0:
                    sp = _release(i, held[i], t, occ, delayed, queued, core, last, acc, held, held_need, ready,
                                  pathway, is_acute, mffd, last_m, acc_m, work, sp)
                size, seq = _admit(i, q, t, request, arrival, department, hold, need, occ, delayed, queued, core,
                                   last, acc, held, held_need, stats, ed, starts, detail, wait_from, stage, ht, hs,
                                   hp, size, seq, n_days)
            elif (flags[i, s] & TURN_AWAY) != 0:
                fate[i] = TURNED_AWAY
                left_at[i] = t
                stats[TURNED, q, int(t)] += 1
                p = held[i]
                if p >= 0:
                    sp = _release(i, p, t, occ, delayed, queued, core, last, acc, held, held_need, ready, pathway,
                                  is_acute, mffd, last_m, acc_m, work, sp)
            else:  # join the queue
                _touch(q, t, occ, delayed, queued, core, last, acc)
                queued[q] += 1
                waiting[i] = True
                wait_from[i] = t
                behind[i] = -1
                if tail[q] >= 0 and head[q] >= 0:
                    behind[tail[q]] = i
                else:
                    head[q] = i
                tail[q] = i
                if t + patience[i, s] < n_days:
                    size = _push(ht, hs, hp, size, seq, t + patience[i, s], (i << 5) | (s << 2) | RENEGE)
                    seq += 1
        while sp > 0:  # serve the queues of pools that have room again
            sp -= 1
            q = work[sp]
            while True:
                j = _purge(q, head, tail, behind, waiting)
                if j < 0:
                    break
                s = stage[j]
                if occ[q] + need[j, s] > cap[q] + EPS:
                    break
                head[q] = behind[j]
                if head[q] < 0:
                    tail[q] = -1
                waiting[j] = False
                _touch(q, t, occ, delayed, queued, core, last, acc)
                queued[q] -= 1
                if held[j] >= 0:
                    sp = _release(j, held[j], t, occ, delayed, queued, core, last, acc, held, held_need, ready,
                                  pathway, is_acute, mffd, last_m, acc_m, work, sp)
                size, seq = _admit(j, q, t, request, arrival, department, hold, need, occ, delayed, queued, core,
                                   last, acc, held, held_need, stats, ed, starts, detail, wait_from, stage, ht, hs,
                                   hp, size, seq, n_days)
    return stats, mffd_stats, ed, fate, starts, left_at, events


@njit(cache=True, inline="always")
def _purge(q, head, tail, behind, waiting):
    """The first patient still waiting for pool q (those who gave up are dropped), or -1."""
    j = head[q]
    while j >= 0 and not waiting[j]:
        j = behind[j]
    head[q] = j
    if j < 0:
        tail[q] = -1
    return j


@njit(cache=True, inline="always")
def _release(i, p, t, occ, delayed, queued, core, last, acc, held, held_need, ready, pathway, is_acute,
             mffd, last_m, acc_m, work, sp):
    _touch(p, t, occ, delayed, queued, core, last, acc)
    occ[p] -= held_need[i]
    if ready[i]:
        delayed[p] -= 1
        if is_acute[p] and pathway[i] >= 0:
            _touch_mffd(t, mffd, last_m, acc_m)
            mffd[pathway[i]] -= 1
        ready[i] = False
    held[i] = -1
    work[sp] = p
    return sp + 1


@njit(cache=True, inline="always")
def _admit(i, q, t, request, arrival, department, hold, need, occ, delayed, queued, core, last, acc, held,
           held_need, stats, ed, starts, detail, wait_from, stage, ht, hs, hp, size, seq, horizon):
    """Into pool q (whatever was held has been released first)."""
    s = stage[i]
    _touch(q, t, occ, delayed, queued, core, last, acc)
    occ[q] += need[i, s]
    held[i] = q
    held_need[i] = need[i, s]
    d = int(t)
    stats[ADMITTED, q, d] += 1
    waited = t - wait_from[i]
    stats[WAIT_DAYS, q, d] += waited
    if waited > 0:
        stats[WAITED, q, d] += 1
    if s == 0 and department[i] >= 0:
        e = department[i]
        da = int(arrival[i])
        ed[ED_ADMITTED, e, da] += 1
        if t - arrival[i] <= 4.0 / 24.0 + EPS:
            ed[ED_WITHIN_4H, e, da] += 1
        if t - arrival[i] > 0.5:
            ed[ED_OVER_12H, e, da] += 1
        if t - request[i] > 0.5:
            ed[ED_OVER_12H_DTA, e, da] += 1
    if detail:
        starts[i, s] = t
    if t + hold[i, s] < horizon:  # an event after the end would never be processed
        size = _push(ht, hs, hp, size, seq, t + hold[i, s], (i << 5) | READY)
    return size, seq + 1
