"""The orchestrator's own rules: chunking by whole practices and turning local ids into global ones."""

from __future__ import annotations

import pyarrow as pa

from icsys.synth.generate import CHUNK_PEOPLE, _offset_ids, chunk_practices
from icsys.system.model import Practice


class _System:
    def __init__(self, sizes: list[int]) -> None:
        self.practice = [Practice(code=f"P{i}", name=f"P{i}", pcn="X", district="D", list_size=s)
                         for i, s in enumerate(sizes)]


def test_chunks_hold_whole_practices_in_order() -> None:
    system = _System([60_000, 50_000, 30_000, 90_000, 10_000])
    chunks = chunk_practices(system, 1.0)  # type: ignore[arg-type]
    assert [[p.code for p in c] for c in chunks] == [["P0"], ["P1", "P2"], ["P3", "P4"]]
    assert all(sum(p.list_size for p in c) <= CHUNK_PEOPLE or len(c) == 1 for c in chunks)


def test_tiny_scale_keeps_at_least_one_person_per_practice() -> None:
    chunks = chunk_practices(_System([100, 200]), 0.001)  # type: ignore[arg-type]
    assert len(chunks) == 1 and len(chunks[0]) == 2


def test_local_ids_become_global_with_their_foreign_keys() -> None:
    counts = {"ae_attendance": 10, "inpatient_spell": 5, "person": 0, "community_bed_stay": 2}
    counts |= {k: 0 for k in ("rtt_pathway",)}
    chunk = {
        "ae_attendance": pa.table({"attendance_id": [1, 2], "person_id": [7, 8]}),
        "inpatient_spell": pa.table({"spell_id": [1], "person_id": [7], "attendance_id": [2]}),
    }
    out = _offset_ids(chunk, counts)
    assert out["ae_attendance"]["attendance_id"].to_pylist() == [11, 12]
    assert out["ae_attendance"]["person_id"].to_pylist() == [7, 8], "person ids are already global"
    assert out["inpatient_spell"]["spell_id"].to_pylist() == [6]
    assert out["inpatient_spell"]["attendance_id"].to_pylist() == [12]
    assert counts["ae_attendance"] == 12 and counts["inpatient_spell"] == 6


def test_foreign_keys_already_global_are_kept() -> None:
    counts = {"community_bed_stay": 3, "inpatient_spell": 100}
    onward = {"community_bed_stay": pa.table({"stay_id": [1, 2], "person_id": [1, 2], "spell_id": [55, 77]})}
    out = _offset_ids(onward, counts, keep_foreign={"spell_id"})
    assert out["community_bed_stay"]["stay_id"].to_pylist() == [4, 5]
    assert out["community_bed_stay"]["spell_id"].to_pylist() == [55, 77]
