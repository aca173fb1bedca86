"""`icsys performance`: the NHS standards, SPC charts, trajectories, escalation and the board pack."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Performance against the NHS standards: measures, SPC charts, "
                  "trajectories, escalation (OPEL) and the board pack.")
