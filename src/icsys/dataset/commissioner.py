"""What is the ICS's: activity at providers outside it is kept and flagged, the responsible commissioner is
decided by NHS England's Who Pays? rules (simplified), and people registered outside it are marked so that
population denominators leave them out (docs/adr/010).

Who Pays? (NHS England, "Who Pays? Determining responsibility for payments to providers", 2022): for most
secondary care the ICB responsible is the one whose practice the person is registered with; for a person
not registered, the ICB where they are usually resident. icsys applies the two rules and no others (NHS
England's directly commissioned services, the armed forces, prisoners, and the other exceptions are not
modelled): `commissioned_by_ics` is true when the person's registration in force on the day of the activity
is with a practice of the ICS, false when it is with another practice, and, with no registration in force
that day, the residence the source gives (an extract's district of residence, mapped to the column), else
empty. Run once after each load, on the rows it has not flagged yet.
"""

from __future__ import annotations

import duckdb

from icsys.dataset.schema import Table
from icsys.dataset.validate import literal, quote
from icsys.system import System

REGISTRATIONS = "_icsys_registrations"
REGISTERED = "_icsys_registered"


def _codes(system: System, kind: str) -> str:
    return ", ".join(literal(item.code) for item in getattr(system, kind)) or "NULL"


def mark(con: duckdb.DuckDBPyConnection, table: Table, system: System) -> tuple[int, int]:
    """Flag the rows of `table` not flagged yet; return how many of them are at providers outside the ICS
    and how many are not the ICB's to commission (both 0 for a table that has no such flags)."""
    practices = _codes(system, "practice")
    if table.name == "person":
        con.execute(f"UPDATE person SET in_ics_population = coalesce(practice_code IN ({practices}), FALSE) "
                    "WHERE in_ics_population IS NULL")
        return 0, 0
    if table.name == "gp_registration":
        con.execute(f"UPDATE gp_registration SET practice_in_ics = practice_code IN ({practices}) "
                    "WHERE practice_in_ics IS NULL")
        return 0, 0
    if "provider_in_ics" not in table.column_names:
        return 0, 0
    from icsys.dataset.quality import activity_date

    name, key, when = quote(table.name), quote(table.primary_key), activity_date(table)
    day = f"CAST(a.{quote(when or '')} AS DATE)"
    _registrations(con)
    in_force = (f"r.person_id = a.person_id AND (r.registration_start IS NULL OR r.registration_start <= {day}) "
                f"AND (r.registration_end IS NULL OR r.registration_end > {day})")
    # a provider's record names the provider (an ambulance's names the hospital it conveyed to as its site)
    place, own = (("provider_code", _codes(system, "provider")) if "provider_code" in table.column_names
                  else ("site_code", _codes(system, "site")))
    outside, not_ours = 0, 0
    if _one_each(con):  # at most one registration in force for a row: an equi-join, no grouping
        con.execute(f"UPDATE {name} a SET commissioned_by_ics = coalesce(r.practice_code IN ({practices}), FALSE) "
                    f"FROM {REGISTRATIONS} r WHERE {in_force} AND a.provider_in_ics IS NULL")
    else:  # the registration in force that day begun latest, should two be
        registered = (f"arg_max(coalesce(r.practice_code IN ({practices}), FALSE), coalesce(r.registration_start, "
                      "DATE '0001-01-01')) AS registered")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {REGISTERED} AS SELECT a.{key} AS k, {registered} FROM {name} a "
                    f"JOIN {REGISTRATIONS} r ON {in_force} WHERE a.provider_in_ics IS NULL GROUP BY a.{key}")
        con.execute(f"UPDATE {name} a SET commissioned_by_ics = f.registered FROM {REGISTERED} f WHERE f.k = a.{key}")
        con.execute(f"DROP TABLE IF EXISTS {REGISTERED}")
    # rows no registration decided keep what the source said (its residence); then each row's site or provider
    outside, not_ours = con.execute(
        f"SELECT count(*) FILTER (WHERE NOT coalesce({place} IN ({own}), FALSE)), count(*) FILTER (WHERE NOT "
        f"commissioned_by_ics) FROM {name} WHERE provider_in_ics IS NULL").fetchone()
    con.execute(f"UPDATE {name} SET provider_in_ics = coalesce({place} IN ({own}), FALSE) "
                "WHERE provider_in_ics IS NULL")
    con.execute(f"DROP TABLE IF EXISTS {REGISTRATIONS}")
    return int(outside), int(not_ours)


def _one_each(con: duckdb.DuckDBPyConnection) -> bool:
    """Every person has at most one registration (no history of practice changes)."""
    rows, people = con.execute(f"SELECT count(*), count(DISTINCT person_id) FROM {REGISTRATIONS}").fetchone()
    return rows == people


def _registrations(con: duckdb.DuckDBPyConnection) -> None:
    """Every registration: the history where the store has one for the person, else the person's latest."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {REGISTRATIONS} AS SELECT person_id, practice_code, "
                "registration_start, registration_end FROM gp_registration UNION ALL SELECT person_id, practice_code, "
                "registration_start, registration_end FROM person p WHERE practice_code IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM gp_registration g WHERE g.person_id = p.person_id)")
