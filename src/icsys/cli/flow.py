"""`icsys flow`: whole-system capacity and flow simulation."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from icsys.cli.common import clear_errors

app = typer.Typer(no_args_is_help=True, help="Capacity and flow: calibrate a model of the system from the "
                  "dataset, simulate surges and interventions, compare scenarios.")

ScenarioArg = Annotated[str, typer.Argument(help="Scenario TOML file, or the name of a shipped scenario.")]


@app.command("schema")
def flow_schema() -> None:
    """Print the JSON Schema a scenario file must follow."""
    from icsys.flow.model import Scenario

    print(json.dumps(Scenario.model_json_schema(), indent=2))


@app.command("check")
def flow_check(scenario: ScenarioArg) -> None:
    """Validate a scenario (and the base it extends) and summarise it."""
    from icsys.flow.compiled import compile_scenario
    from icsys.flow.scenario import load_scenario

    with clear_errors():
        model = compile_scenario(load_scenario(scenario))
    s = model.scenario
    beds = sum(p.capacity for p in s.pool if p.kind == "acute")
    print(f"{s.scenario.name}: {len(s.pool)} pools ({beds:,.0f} acute beds), {len(s.arrivals)} arrival streams, "
          f"{len(s.surge)} surges, {len(s.capacity_change)} capacity changes, {len(s.intervention)} interventions; "
          f"{s.scenario.days} days from {s.scenario.start} after a {s.scenario.warm_up_days}-day warm-up")


