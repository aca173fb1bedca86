"""Discharge queues: delays after ready for discharge depend on downstream capacity and rise in winter."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from icsys.synth.activity import generate_activity, resolve_discharges
from icsys.synth.context import SynthContext
from icsys.synth.discharge import pools
from icsys.synth.generate import chunk_practices
from icsys.synth.population import generate_population
from icsys.system import load_system

SCALE = 0.02


@pytest.fixture(scope="module")
def ctx() -> SynthContext:
    return SynthContext(system=load_system(), scale=SCALE, years=3, seed=3)


@pytest.fixture(scope="module")
def waiting(ctx) -> pa.Table:
    practices = [p for chunk in chunk_practices(ctx.system, SCALE) for p in chunk]
    spells = generate_activity(ctx, generate_population(ctx, 0, practices, 1))["inpatient_spell"]
    return spells.filter(spells["awaiting_pathway"])


def delays(spells: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Days from ready to discharge, pathway and ready month, for spells discharged alive."""
    ready = spells["ready_for_discharge_time"].cast(pa.int64()).to_numpy(zero_copy_only=False)
    gone = spells["discharge_time"].cast(pa.int64()).to_numpy(zero_copy_only=False)
    alive = pc.is_in(spells["discharge_destination"], pa.array(["19", "51", "85"])).to_numpy(zero_copy_only=False)
    month = pc.month(spells["ready_for_discharge_time"]).to_numpy(zero_copy_only=False)
    days = (gone - ready) / 86_400
    pathway = spells["discharge_pathway"].to_numpy(zero_copy_only=False)
    return days[alive], pathway[alive], month[alive]


def halved(ctx: SynthContext) -> SynthContext:
    system = ctx.system
    smaller = system.model_copy(update={
        "council": [c.model_copy(update={"domiciliary_hours_per_week": c.domiciliary_hours_per_week / 2,
                                         "reablement_places": c.reablement_places // 2}) for c in system.council],
        "community_bed_unit": [u.model_copy(update={"beds": max(1, u.beds // 2)}) for u in system.community_bed_unit],
        "care_home": [h.model_copy(update={"beds": max(1, h.beds // 2)}) for h in system.care_home],
    })
    return SynthContext(system=smaller, scale=ctx.scale, years=ctx.years, seed=ctx.seed, end=ctx.end)


def test_every_waiting_spell_is_resolved(ctx, waiting) -> None:
    resolved, onward = resolve_discharges(ctx, waiting)
    assert resolved.num_rows == waiting.num_rows
    assert resolved["spell_id"].equals(waiting["spell_id"])
    open_ = pc.is_null(resolved["discharge_time"])
    assert pc.all(pc.equal(pc.filter(resolved["discharge_destination"], open_), "98")).as_py() in (True, None)
    assert not pc.any(pc.less(resolved["discharge_time"], resolved["ready_for_discharge_time"])).as_py()
    stays = onward["community_bed_stay"]
    assert (stays["stay_id"].to_numpy() == np.arange(1, stays.num_rows + 1)).all()
    assert set(stays["spell_id"].to_pylist()) <= set(waiting["spell_id"].to_pylist()), "global spell ids kept"
    packages = onward["social_care_package"]
    kinds = set(pc.unique(packages["service_type"].cast(pa.string())).to_pylist())
    assert {"reablement", "domiciliary", "residential"} <= kinds
    homes = pc.drop_null(packages["care_home_code"]).to_pylist()
    assert homes and set(homes) <= {h.code for h in ctx.system.care_home}


def test_same_seed_same_discharges(ctx, waiting) -> None:
    first, _ = resolve_discharges(ctx, waiting)
    again, _ = resolve_discharges(ctx, waiting)
    assert first.equals(again)


def test_delays_by_pathway_and_season(ctx, waiting) -> None:
    days, pathway, month = delays(resolve_discharges(ctx, waiting)[0])
    assert 1.5 <= days.mean() <= 10
    # Waiting for a place has a long tail on every pathway that needs one.
    for p in (1, 2, 3):
        assert np.percentile(days[pathway == p], 99) > 2 * days[pathway == p].mean()
    winter = days[np.isin(month, [12, 1, 2, 3])].mean()
    summer = days[np.isin(month, [6, 7, 8, 9])].mean()
    assert winter > summer


def test_less_capacity_longer_delays(ctx, waiting) -> None:
    smaller = halved(ctx)
    assert all(v < pools(ctx.system, 1.0)[k] for k, v in pools(smaller.system, 1.0).items())
    normal, pathway, _ = delays(resolve_discharges(ctx, waiting)[0])
    short, pathway_short, _ = delays(resolve_discharges(smaller, waiting)[0])
    assert short.mean() > 1.5 * normal.mean()
    for p in (1, 2, 3):
        assert short[pathway_short == p].mean() > normal[pathway == p].mean()
