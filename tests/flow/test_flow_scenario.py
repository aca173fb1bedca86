"""Scenario files: the shipped ones validate, overlays merge as documented, bad references are named."""

from __future__ import annotations

from pathlib import Path

import pytest
from flow_cases import model_of, small_system

from icsys.flow.compiled import compile_scenario
from icsys.flow.scenario import ScenarioError, load_scenario, shipped_scenarios


@pytest.mark.parametrize("name", shipped_scenarios())
def test_shipped_scenarios_validate_and_compile(name: str) -> None:
    model = compile_scenario(load_scenario(name))
    assert model.n_days >= 365 and model.pools


def test_overlay_merges_pools_by_code_and_adds_interventions(tmp_path: Path) -> None:
    base = tmp_path / "base.toml"
    base.write_text('[scenario]\nname = "base"\nstart = 2025-01-01\ndays = 30\n\n[[pool]]\ncode = "ward"\n'
                    'capacity = 10\nkind = "acute"\n\n[[arrivals]]\nname = "a"\npool = "ward"\nper_day = 2\n'
                    'los_days = { distribution = "exponential", mean = 3 }\n', encoding="utf-8")
    overlay = tmp_path / "more.toml"
    overlay.write_text('[scenario]\nextends = "base.toml"\nname = "more"\n\n[[pool]]\ncode = "ward"\n'
                       'capacity = 14\n\n[[surge]]\nname = "s"\nstart = 2025-01-10\nend = 2025-01-20\n'
                       'multiplier = 1.5\nsources = ["other"]\n', encoding="utf-8")
    s = load_scenario(overlay)
    assert s.scenario.name == "more" and s.scenario.days == 30  # the rest comes from the base
    assert s.pool[0].capacity == 14 and s.pool[0].kind == "acute"  # merged field by field
    assert len(s.surge) == 1 and s.arrivals[0].per_day == 2


def test_an_overlay_that_extends_itself_is_refused(tmp_path: Path) -> None:
    loop = tmp_path / "loop.toml"
    loop.write_text('[scenario]\nextends = "loop.toml"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="extends itself"):
        load_scenario(loop)


@pytest.mark.parametrize(("change", "words"), [
    (lambda d: d["pool"][0]["discharge_to"].update({"1": {"nowhere": 1.0}}), "unknown pool 'nowhere'"),
    (lambda d: d["pool"][0]["discharge_to"].pop("3"), "no discharge_to.3"),
    (lambda d: d["intervention"].append({"kind": "virtual_ward", "pool": "acute", "share": 0.1}),
     "not a virtual_ward pool"),
    (lambda d: d["arrivals"][0].update({"case_mix": "missing"}), "unknown case_mix 'missing'"),
    (lambda d: d["pool"][0].update({"census": 99}), "census 99 exceeds"),
])
def test_bad_references_are_named(change: object, words: str) -> None:
    data = small_system()
    change(data)  # type: ignore[operator]
    with pytest.raises(ValueError, match=words):
        model_of(data)
