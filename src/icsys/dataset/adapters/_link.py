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
    found = (f"LEFT JOIN person p ON p.nhs_number = s.{quote(key_column)}" if key_kind == "nhs_number"
             else "LEFT JOIN (SELECT NULL::BIGINT AS person_id) p ON FALSE")
    con.execute(f"CREATE TEMP TABLE _icsys_linked AS SELECT s.* EXCLUDE (person_id), CAST(p.person_id AS VARCHAR) "
                f"AS person_id FROM (SELECT *, NULL AS person_id FROM {quote(stage)}) s {found} ORDER BY s._row")
    con.execute(f"DROP TABLE {quote(stage)}")
    con.execute(f"ALTER TABLE _icsys_linked RENAME TO {quote(stage)}")
