"""TEMPORARY STAND-IN, to be replaced at merge by `icsys.dataset.linkage.link_people` (spine11's linkage).

Same signature as the real one. It does what loading did before the pseudonymised spine: an NHS number is
looked up in the store's person table; any other key (PSEUDO_HESID, a token) has nothing to link to yet, so
its rows stay unlinked and are reported as such. Only `mode="known"` is possible here.
"""

from __future__ import annotations

from typing import Any

import duckdb

from icsys.dataset.validate import FileProblem, quote

KEY_KINDS = ("nhs_number", "pseudo_hesid", "token")


def link_people(con: duckdb.DuckDBPyConnection, report: Any, stage: str, key_column: str, key_kind: str,
                source: str, mode: str, system: Any) -> None:
    """Fill `stage.person_id` (text) from `stage.<key_column>`; rows that do not link keep it empty."""
    if key_kind not in KEY_KINDS:
        raise ValueError(f"unknown person key kind {key_kind!r}")
    if mode != "known":
        raise FileProblem(f"--link {mode}: not available until the linkage service is merged; use --link known")
    columns = {r[0] for r in con.execute(f"DESCRIBE {quote(stage)}").fetchall()}
    if "person_id" not in columns:
        con.execute(f"ALTER TABLE {quote(stage)} ADD COLUMN person_id VARCHAR")
    if key_kind == "nhs_number":
        con.execute(f"UPDATE {quote(stage)} s SET person_id = CAST(p.person_id AS VARCHAR) FROM person p "
                    f"WHERE p.nhs_number = s.{quote(key_column)}")
