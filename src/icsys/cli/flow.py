"""`icsys flow`: whole-system capacity and flow simulation."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Capacity and flow: calibrate a model of the system from the "
                  "dataset, simulate surges and interventions, compare scenarios.")
