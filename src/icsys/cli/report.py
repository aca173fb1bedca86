"""`icsys report`: documents for boards and committees."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Reports: the board pack of performance against the NHS standards.")
