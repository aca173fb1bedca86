"""The same model written the usual way, with SimPy: one process per patient, pools as first-come
first-served resources. It takes the patients `icsys.flow.patients.draw` makes, so on the same
patients it must give the same admissions, waits and departures as the compiled loop; the tests hold
it to that, and `benchmarks/flow_engine.py` times both. SimPy is a development dependency only.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from icsys.flow.engine import CORRIDOR, EPS, LEFT, REBOOK, RENEGED, SKIP, TURN_AWAY, TURNED_AWAY
from icsys.flow.patients import Patients


class FifoPool:
    """Places or care hours given first come first served; whoever is at the head and does not fit
    blocks those behind."""

    def __init__(self, env: Any, capacity: float) -> None:
        self.env = env
        self.capacity = capacity
        self.level = 0.0
        self.queue: deque[tuple[Any, float]] = deque()

    def _head(self) -> tuple[Any, float] | None:
        while self.queue and getattr(self.queue[0][0], "cancelled", False):
            self.queue.popleft()
        return self.queue[0] if self.queue else None

    def has_room(self, need: float) -> bool:
        return self._head() is None and self.level + need <= self.capacity + EPS

    def request(self, need: float) -> Any:
        event = self.env.event()
        if self.has_room(need):
            self.level += need
            event.succeed()
        else:
            self.queue.append((event, need))
        return event

    def release(self, need: float) -> None:
        self.level -= need
        self.serve()

    def serve(self) -> None:
        while (head := self._head()) is not None and self.level + head[1] <= self.capacity + EPS:
            self.queue.popleft()
            self.level += head[1]
            head[0].succeed()


class _Plain:
    def __init__(self, p: Patients) -> None:
        for name in ("request", "order", "pool", "need", "hold", "arrange", "patience", "flags"):
            setattr(self, name, np.ascontiguousarray(getattr(p, name)))


def run(p: Patients | _Plain, capacity: np.ndarray, n_days: int,
        changes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Simulate until n_days; returns each patient's fate, stage start times and leaving time. `changes`
    is the capacity timetable (times, pools, amounts)."""
    import simpy

    # plain arrays, so that SimPy is not slowed by reading through the packed views
    p = _Plain(p)
    env = simpy.Environment()
    pools = [FifoPool(env, float(c)) for c in capacity]
    n, stages = p.pool.shape
    out = {"fate": np.zeros(n, np.int8), "starts": np.full((n, stages), np.nan), "left_at": np.full(n, np.nan)}

    def journey(i: int) -> Any:
        held, held_need, s = -1, 0.0, 0
        out["fate"][i] = 1
        while True:
            q = int(p.pool[i, s]) if s < stages else -1
            if q < 0:
                break
            if s == 0 and p.flags[i, s] & REBOOK and not pools[q].has_room(p.need[i, s]):
                yield env.timeout(p.arrange[i, 0])  # cancelled and rebooked: ask again then
                continue
            if p.flags[i, s] & CORRIDOR and held < 0 and not pools[q].has_room(p.need[i, s]):
                yield env.timeout(p.hold[i, s])  # no cubicle free: the time is spent in the corridor
                s += 1
                continue
            if p.flags[i, s] & TURN_AWAY and not pools[q].has_room(p.need[i, s]):
                out["fate"][i] = TURNED_AWAY
                break
            grant = pools[q].request(p.need[i, s])
            if not grant.triggered and p.patience[i, s] < np.inf:
                got = yield grant | env.timeout(p.patience[i, s])
                if grant not in got:
                    grant.cancelled = True
                    out["fate"][i] = RENEGED
                    break
            else:
                yield grant
            if held >= 0:
                pools[held].release(held_need)
            held, held_need = q, p.need[i, s]
            out["starts"][i, s] = env.now
            yield env.timeout(p.hold[i, s])
            while s + 1 < stages and p.pool[i, s + 1] >= 0 and p.flags[i, s + 1] & SKIP:
                s += 1
                vw = int(p.pool[i, s])
                if not pools[vw].has_room(p.need[i, s]):
                    yield env.timeout(p.hold[i, s])  # no place: the rest of the stay where they are
                    continue
                pools[vw].request(p.need[i, s])
                pools[held].release(held_need)
                held, held_need = vw, p.need[i, s]
                out["starts"][i, s] = env.now
                yield env.timeout(p.hold[i, s])
            s += 1
            if s < stages and p.arrange[i, s] > 0:
                yield env.timeout(p.arrange[i, s])
        if out["fate"][i] == 1:
            out["fate"][i] = LEFT
        out["left_at"][i] = env.now
        if held >= 0:
            pools[held].release(held_need)

    def arrivals() -> Any:
        for i in p.order:
            yield env.timeout(p.request[i] - env.now)
            env.process(journey(i))

    def timetable() -> Any:
        for when, q, delta in zip(*changes, strict=True):  # type: ignore[misc]
            yield env.timeout(when - env.now)
            pools[q].capacity += delta
            pools[q].serve()

    env.process(arrivals())
    if changes is not None and len(changes[0]):
        env.process(timetable())
    env.run(until=n_days)
    return out
