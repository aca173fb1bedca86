"""`icsys system`: the system definition (organisations, geography)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from icsys.cli.common import clear_errors

app = typer.Typer(no_args_is_help=True, help="The system definition (organisations, geography).")


@app.command("check")
def system_check(path: Annotated[Path, typer.Argument(help="System definition TOML.")]) -> None:
    """Validate a system definition and summarise it. Refused, naming each problem: codes that repeat or refer to
    nothing, and a practice whose ICP through its PCN differs from its ICP through its district."""
    from icsys.system import load_system

    with clear_errors():
        definition = load_system(path)
    print(f"{definition.ics.name}: {len(definition.icp)} ICPs, {len(definition.pcn)} PCNs, "
          f"{len(definition.practice)} practices ({definition.list_size():,} registered), "
          f"{len(definition.site)} sites, {len(definition.care_home)} care homes, {len(definition.spoa)} single "
          f"points of access, {len(definition.hospice)} hospices, {len(definition.home_care_provider)} home-care "
          f"providers, {len(definition.community_team)} community teams")


@app.command("schema")
def system_schema() -> None:
    """Print the JSON Schema a system definition must follow."""
    from icsys.system import System

    print(json.dumps(System.model_json_schema(), indent=2))
