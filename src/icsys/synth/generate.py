"""Build the whole synthetic linked dataset for a system definition.

People are generated a chunk of whole practices at a time (bounded memory at any scale); each
chunk's tables are appended by two writer threads while the next chunk is generated, so generation
(NumPy) and insertion (DuckDB) use both cores; DuckDB's compression of text columns is most of a full
build's work, and one writer alone left a core idle a third of the time. Inpatient spells waiting for a
discharge pathway are held back until every chunk is done, because their delays depend on system-wide
downstream capacity.
The store is built in a temporary file and moved into place at the end: an interrupted build
leaves any earlier store untouched.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from icsys import __version__
from icsys.dataset.schema import TABLES
from icsys.dataset.store import append, open_store, set_meta
from icsys.errors import InputError
from icsys.synth.context import DEFAULT_END, SynthContext
from icsys.system import System
from icsys.system.model import Practice

CHUNK_PEOPLE = 100_000
MIN_SCALE, MAX_SCALE = 0.001, 1.0
MAX_YEARS = 10

Progress = Callable[[str, int, int], None]


class SynthError(InputError):
    """Settings the generator cannot use, named."""


def check_settings(scale: float, years: int, end: date, db: Path) -> None:
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise SynthError(f"--scale {scale}: must be between {MIN_SCALE} and {MAX_SCALE} of the real population")
    if not 1 <= years <= MAX_YEARS:
        raise SynthError(f"--years {years}: must be a whole number from 1 to {MAX_YEARS}")
    if end.year < 2000:
        raise SynthError(f"--end {end}: must be in 2000 or later")
    if not Path(db).parent.exists():
        raise SynthError(f"--db {db}: folder {Path(db).parent} does not exist")
    if Path(db).is_dir():
        raise SynthError(f"--db {db}: is a folder, not a file")


def chunk_practices(system: System, scale: float) -> list[list[Practice]]:
    """Consecutive practices grouped so each chunk holds about CHUNK_PEOPLE people at this scale."""
    chunks: list[list[Practice]] = [[]]
    people = 0
    for practice in system.practice:
        size = max(1, round(practice.list_size * scale))
        if people and people + size > CHUNK_PEOPLE:
            chunks.append([])
            people = 0
        chunks[-1].append(practice)
        people += size
    return chunks


def synthesise(system: System, db: Path, scale: float, years: int, seed: int,
               end: date = DEFAULT_END, progress: Progress | None = None) -> dict[str, int]:
    """Generate every table into a new store at `db` (replacing any there) and return row counts."""
    check_settings(scale, years, end, db)
    ctx = SynthContext(system=system, scale=scale, years=years, seed=seed, end=end)
    db = Path(db)
    partial = db.with_name(f".{db.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        counts = _build(ctx, partial, progress or (lambda *_: None))
        os.replace(partial, db)
    finally:
        partial.unlink(missing_ok=True)
        Path(f"{partial}.wal").unlink(missing_ok=True)
    return counts


def _build(ctx: SynthContext, path: Path, progress: Progress) -> dict[str, int]:
    from icsys.synth.activity import generate_activity, resolve_discharges
    from icsys.synth.beds import admit_to_beds
    from icsys.synth.population import generate_population
    from icsys.synth.primary_care import generate_primary_care

    con = open_store(path)
    counts = dict.fromkeys(TABLES, 0)
    writer = _Writer(con)
    held_spells: list[pa.Table] = []
    chunks = chunk_practices(ctx.system, ctx.scale)
    next_person = 1
    try:
        for index, practices in enumerate(chunks):
            progress("people and activity", index, len(chunks))
            pop = generate_population(ctx, index, practices, next_person)
            next_person += len(pop)
            tables = generate_primary_care(ctx, pop) | generate_activity(ctx, pop)
            tables = _offset_ids(tables, counts)
            spells = tables.pop("inpatient_spell", None)
            if spells is not None:
                held_spells.append(spells)
            writer.put(tables)
        progress("discharges", len(chunks), len(chunks))
        spells = pa.concat_tables(held_spells, promote_options="permissive") if held_spells else None
        if spells is not None:
            waiting = spells["awaiting_pathway"]
            resolved, onward = resolve_discharges(ctx, spells.filter(waiting))
            rest = spells.filter(pc.invert(waiting))
            onward = _offset_ids(onward, counts, keep_foreign={"spell_id"})
            spells = pa.concat_tables([rest, resolved.select(rest.column_names)], promote_options="permissive")
            spells, ae_waits, census, pooling = admit_to_beds(ctx, spells)
            writer.put({"inpatient_spell": _sorted(spells, "spell_id")} | onward)
        writer.close()
        if spells is not None:
            _feed_back_bed_pressure(con, ae_waits, census, pooling["sites"])
        set_meta(con, system_code=ctx.system.ics.code, system_name=ctx.system.ics.name, scale=ctx.scale,
                 years=ctx.years, seed=ctx.seed, period_start=str(ctx.start), period_end=str(ctx.end),
                 synthetic=True, icsys_version=__version__, bed_pools=pooling if spells is not None else None,
                 built_at=datetime.now(UTC).isoformat(timespec="seconds"))
        con.execute("CHECKPOINT")
        progress("done", len(chunks), len(chunks))
        return {name: con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in TABLES}
    finally:
        writer.close()
        con.close()


# Ambulance handover lengthens with the receiving hospital's occupancy (over its core beds) that day:
# x HANDOVER_PRESSURE per 10 points above the year's typical 93 %.
HANDOVER_PRESSURE = 1.6
BED_WAIT_PRESSURE = 1.25  # the same for the time from decision to admit to a bed


def _feed_back_bed_pressure(con, ae_waits: pa.Table, census: pa.Table, pool_of: dict[str, str]) -> None:
    """Waits for a bed lengthen the patient's time in A&E after the decision to admit, and a full hospital
    slows ambulance handovers (both tables were written before the beds were known)."""
    pools = pa.table({"site_code": list(pool_of), "pool": list(pool_of.values())})
    con.register("bed_census", census)
    con.register("bed_pool", pools)
    # A full hospital finds beds slowly (fewer empty beds on the right ward): the department's own time
    # from decision to admit to a bed stretches with the week's occupancy, as handovers do.
    con.execute(f"""UPDATE ae_attendance a SET departure_time = a.decision_to_admit_time + to_seconds(CAST(
            epoch(a.departure_time - a.decision_to_admit_time) * least(2.0, greatest(0.6,
            pow({BED_WAIT_PRESSURE}, (c.pressure - 0.93) * 10))) AS BIGINT))
        FROM bed_pool p, bed_census c WHERE a.site_code = p.site_code AND c.pool = p.pool
            AND c.day = CAST(a.decision_to_admit_time AS DATE) AND a.decision_to_admit_time IS NOT NULL""")
    con.register("bed_waits", ae_waits)
    con.execute("UPDATE ae_attendance a SET departure_time = a.departure_time + to_seconds(w.wait_s) "
                "FROM bed_waits w WHERE a.attendance_id = w.attendance_id")
    con.unregister("bed_waits")
    con.execute(f"""UPDATE ambulance_incident i SET handover_time = i.hospital_arrival_time + to_seconds(CAST(
            epoch(i.handover_time - i.hospital_arrival_time) * least(4.0, greatest(0.6,
            pow({HANDOVER_PRESSURE}, (c.pressure - 0.93) * 10))) AS BIGINT))
        FROM bed_pool p, bed_census c WHERE i.site_code = p.site_code AND c.pool = p.pool
            AND c.day = CAST(i.hospital_arrival_time AS DATE) AND i.handover_time IS NOT NULL""")
    for name in ("bed_census", "bed_pool"):
        con.unregister(name)


def _sorted(table: pa.Table, key: str) -> pa.Table:
    return table.take(pc.sort_indices(table, [(key, "ascending")]))


def _offset_ids(tables: dict[str, pa.Table], counts: dict[str, int],
                keep_foreign: set[str] = frozenset()) -> dict[str, pa.Table]:
    """Turn each chunk's local ids (1..n) into global ones, for primary keys and the foreign keys
    that point at them (from the schema's references), then advance the counts."""
    before = dict(counts)
    out: dict[str, pa.Table] = {}
    for name, data in tables.items():
        schema = TABLES[name]
        for col in schema.columns:
            if col.name not in data.column_names:
                continue
            target = None
            if col.name == schema.primary_key and name != "person":
                target = name
            elif (col.references and "." in col.references and not col.references.startswith("person.")
                  and col.name not in keep_foreign):
                target = col.references.split(".")[0]
            if target and before[target]:
                i = data.column_names.index(col.name)
                data = data.set_column(i, col.name, pc.add(data[col.name], pa.scalar(before[target], pa.int64())))
        out[name] = data
        counts[name] += data.num_rows
    return out


# Two writer lanes, so DuckDB compresses two tables at once when NumPy leaves a core free; each table
# always goes to the same lane (its rows stay in generation order). The lanes are balanced by the time
# each table's appends took in a full build (medication alone is a third of it).
LANE_OF = {"medication": 0, "person": 0, "gp_registration": 0, "ae_attendance": 0, "inpatient_spell": 0,
           "community_contact": 0}


class _Writer:
    """Appends tables on background threads so DuckDB inserts while NumPy generates."""

    def __init__(self, con, lanes: int = 2) -> None:
        self._cursors = [con] + [con.cursor() for _ in range(lanes - 1)]
        self._queues: list[queue.Queue] = [queue.Queue(maxsize=2) for _ in range(lanes)]
        self._error: BaseException | None = None
        self._threads = [threading.Thread(target=self._run, args=(lane,), daemon=True) for lane in range(lanes)]
        for thread in self._threads:
            thread.start()

    def _run(self, lane: int) -> None:
        con, work = self._cursors[lane], self._queues[lane]
        while (tables := work.get()) is not None:
            if self._error:
                continue
            try:
                for name, data in tables.items():
                    append(con, name, data)
            except BaseException as exc:  # surfaced in put/close on the main thread
                self._error = exc

    def put(self, tables: dict[str, pa.Table]) -> None:
        self._raise()
        for lane, work in enumerate(self._queues):
            mine = {name: data for name, data in tables.items() if LANE_OF.get(name, 1) % len(self._queues) == lane}
            if mine:
                work.put(mine)

    def close(self) -> None:
        for work, thread in zip(self._queues, self._threads, strict=True):
            if thread.is_alive():
                work.put(None)
        for thread in self._threads:
            thread.join()
        for cursor in self._cursors[1:]:
            cursor.close()
        self._cursors = self._cursors[:1]
        self._raise()

    def _raise(self) -> None:
        if self._error:
            error, self._error = self._error, None
            raise error


__all__ = ["MAX_SCALE", "MIN_SCALE", "SynthError", "chunk_practices", "synthesise"]
