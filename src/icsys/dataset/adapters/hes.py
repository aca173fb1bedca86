"""HES / SUS extracts (APC, A&E, outpatients) in the HES extract layout. The field mapping and every value
set are data: `mappings/hes-apc.toml`, `hes-ae.toml`, `hes-op.toml` (see `mapping`); APC episodes are
assembled into spells. This module keeps the adapter's old entry point."""

from __future__ import annotations

from pathlib import Path

import duckdb

from icsys.dataset.adapters.extract import load_extract
from icsys.dataset.staging import LoadReport
from icsys.system import System

HES_FORMATS = ("hes-apc", "hes-ae", "hes-op")


def load_hes(con: duckdb.DuckDBPyConnection, report: LoadReport, fmt: str, file: Path, system: System,
             allow_rejects: bool, link: str = "known") -> None:
    load_extract(con, report, fmt, file, system, allow_rejects, link)
