"""The re-identification store: the one link between an NHS number and the pseudonymised `person_id` of
the analytical store and the care service. It is its own database (never the store, never the care
database), opened only here, and every resolution is a direct-care decision of a named actor, audited.

    link = ReidentificationStore("sqlite:////var/lib/icsys/reid.sqlite")
    person_id = link.resolve(auditor, "9434765919", why="referral 12")   # None when the number is unknown

NHS numbers are checked (10 digits, modulus 11 check digit, an allocated range) before anything is asked.
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path
from typing import Any

import nhs_number as nhs

from icsys.access.audit import Auditor, _parse, _pg_error, _redacted, drop_connection, kept_connection
from icsys.access.policy import LOAD, REIDENTIFY, AccessDenied, require
from icsys.errors import InputError

TABLE = "reidentification"
OPT_OUT_TABLE = "national_data_opt_out"  # NHS numbers of people who opted out of planning and research use
CHUNK = 500  # NHS numbers asked in one statement (SQLite's limit on parameters is 999 in old builds)
# England, Wales and the Isle of Man allocate 400 000 000-499 999 999 and 600 000 000-799 999 999;
# the 9xx synthetic range is for test systems and demonstrations only.
LIVE_REGIONS = (nhs.REGION_ENGLAND_WALES_IOM,)


class NhsNumberError(InputError):
    """An NHS number that fails its check, with the reason."""


class ReidentificationError(InputError):
    """The re-identification store cannot be opened or written."""


def check_nhs_number(value: str, *, allow_synthetic: bool = False) -> str:
    """The NHS number as ten digits, or NhsNumberError saying why it is not one."""
    digits = "".join(ch for ch in str(value) if not ch.isspace() and ch != "-")
    if len(digits) != 10 or not digits.isdigit():
        raise NhsNumberError(f"NHS number {value!r}: must be 10 digits")
    if not nhs.is_valid(digits):
        raise NhsNumberError(f"NHS number {value!r}: the check digit is wrong (modulus 11)")
    regions = (*LIVE_REGIONS, nhs.REGION_SYNTHETIC) if allow_synthetic else LIVE_REGIONS
    if not any(r.contains_number(digits) for r in regions):
        raise NhsNumberError(f"NHS number {value!r}: not in a range allocated to England, Wales or the Isle of Man"
                             + ("" if allow_synthetic else " (test numbers are accepted only in a demonstration)"))
    return digits


class ReidentificationStore:
    """NHS number <-> person_id, in a database chosen by URL (sqlite:///PATH or postgresql://...)."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.kind, self.target = _parse(url)
        except InputError as exc:
            raise ReidentificationError(str(exc).replace("audit database", "re-identification store")) from exc
        self._execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (nhs_number TEXT PRIMARY KEY, "
                      "person_id TEXT NOT NULL UNIQUE)")
        self._execute(f"CREATE TABLE IF NOT EXISTS {OPT_OUT_TABLE} (nhs_number TEXT PRIMARY KEY)")

    def _connect(self) -> Any:
        if self.kind == "sqlite":
            path = Path(self.target)
            if not path.parent.exists():
                raise ReidentificationError(f"re-identification store {self.url}: folder {path.parent} does not exist")
            return sqlite3.connect(path, timeout=30, isolation_level=None)
        import psycopg

        return psycopg.connect(self.target, connect_timeout=10, autocommit=True)

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.kind != "sqlite":
            sql = sql.replace("?", "%s")
        kept = self.kind != "sqlite"  # PostgreSQL: this thread's connection, kept (see audit.kept_connection)
        try:
            con = kept_connection(self.url, self._connect) if kept else self._connect()
        except (sqlite3.Error, _pg_error()) as exc:
            raise ReidentificationError(f"re-identification store {_redacted(self.url)}: cannot open: {exc}") from exc
        try:
            cur = con.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []
        except (sqlite3.Error, _pg_error()) as exc:
            if kept:
                drop_connection(self.url)
            raise ReidentificationError(f"re-identification store {_redacted(self.url)}: {exc}") from exc
        finally:
            if not kept:
                con.close()

    def resolve(self, auditor: Auditor, nhs_number: str, *, why: str, allow_synthetic: bool = False) -> str | None:
        """The person_id of `nhs_number` (None if the store does not know it). A direct-care decision of the
        auditor's actor: refused without the role, and recorded whether or not it finds someone."""
        require(auditor.actor, REIDENTIFY, identifiable=True)
        number = check_nhs_number(nhs_number, allow_synthetic=allow_synthetic)
        rows = self._execute(f"SELECT person_id FROM {TABLE} WHERE nhs_number = ?", (number,))
        found = rows[0][0] if rows else None
        auditor.record(REIDENTIFY, f"nhs_number -> person_id ({'found ' + found if found else 'not found'})",
                       people=1 if found else 0, destination=why, person=found)
        return found

    def nhs_number_of(self, auditor: Auditor, person_id: str, *, why: str) -> str | None:
        """The NHS number of `person_id`, for a direct-care view that shows it; audited."""
        require(auditor.actor, REIDENTIFY, identifiable=True)
        rows = self._execute(f"SELECT nhs_number FROM {TABLE} WHERE person_id = ?", (person_id,))
        auditor.record(REIDENTIFY, f"person_id {person_id} -> nhs_number", people=1 if rows else 0, destination=why,
                       person=person_id)
        return rows[0][0] if rows else None

    def link(self, auditor: Auditor, nhs_number: str, person_id: str | None = None, *, why: str,
             allow_synthetic: bool = False) -> str:
        """Record the link of `nhs_number` to `person_id` (a new pseudonym when None) and return the person_id.
        A load (a data manager's) or a direct-care registration of someone new (care roles that re-identify)."""
        actor = auditor.actor
        if not any(r in actor.roles for r in ("data_manager",)):
            require(actor, REIDENTIFY, identifiable=True)
        number = check_nhs_number(nhs_number, allow_synthetic=allow_synthetic)
        existing = self._execute(f"SELECT person_id FROM {TABLE} WHERE nhs_number = ?", (number,))
        if existing:
            if person_id is not None and existing[0][0] != person_id:
                raise AccessDenied(f"NHS number {number} is already linked to another person")
            return existing[0][0]
        person_id = person_id or f"P{secrets.token_hex(6).upper()}"
        auditor.record(LOAD if actor.has_role("data_manager") else REIDENTIFY,
                       f"link nhs_number -> person_id {person_id}", people=1, destination=why, person=person_id)
        self._execute(f"INSERT INTO {TABLE} (nhs_number, person_id) VALUES (?, ?)", (number, person_id))
        return person_id

    # --- in bulk, for a load (a data manager's: the numbers were checked by the load's validation) ---------

    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if self.kind != "sqlite":
            sql = sql.replace("?", "%s")
        con = self._connect()
        try:
            if self.kind == "sqlite":
                con.execute("BEGIN")
                con.executemany(sql, rows)
                con.execute("COMMIT")
            else:
                with con.transaction(), con.cursor() as cur:
                    cur.executemany(sql, rows)
        except (sqlite3.Error, _pg_error()) as exc:
            raise ReidentificationError(f"re-identification store {_redacted(self.url)}: {exc}") from exc
        finally:
            con.close()

    def _in_chunks(self, sql: str, numbers: list[str]) -> list[tuple[Any, ...]]:
        """`sql` (with {marks} for the IN list) over `numbers`, CHUNK at a time, on one connection."""
        mark = "?" if self.kind == "sqlite" else "%s"
        out: list[tuple[Any, ...]] = []
        try:
            con = self._connect()
        except (sqlite3.Error, _pg_error()) as exc:
            raise ReidentificationError(f"re-identification store {_redacted(self.url)}: cannot open: {exc}") from exc
        try:
            for i in range(0, len(numbers), CHUNK):
                part = numbers[i:i + CHUNK]
                out += list(con.execute(sql.format(marks=", ".join([mark] * len(part))), tuple(part)).fetchall())
        except (sqlite3.Error, _pg_error()) as exc:
            raise ReidentificationError(f"re-identification store {_redacted(self.url)}: {exc}") from exc
        finally:
            con.close()
        return out

    def person_ids(self, auditor: Auditor, numbers: list[str]) -> dict[str, str]:
        """NHS number -> person_id for those of `numbers` the store knows: a load's linkage (data manager)."""
        require(auditor.actor, LOAD)
        rows = self._in_chunks(f"SELECT nhs_number, person_id FROM {TABLE} WHERE nhs_number IN ({{marks}})", numbers)
        return {n: p for n, p in rows}

    def link_many(self, auditor: Auditor, links: dict[str, str], *, why: str) -> None:
        """Record new NHS number -> person_id links of a load in one transaction, audited as one record."""
        require(auditor.actor, LOAD)
        if not links:
            return
        auditor.record(LOAD, f"link {len(links):,} nhs_number -> person_id", people=len(links), destination=why)
        try:
            self._many(f"INSERT INTO {TABLE} (nhs_number, person_id) VALUES (?, ?)", list(links.items()))
        except ReidentificationError as exc:
            raise ReidentificationError(f"{exc} (a person_id of the file is already linked to another NHS "
                                        "number, or the NHS number to another person)") from exc

    def largest_numeric_person_id(self) -> int:
        """The largest person_id that is a whole number (the analytical store's pseudonyms), 0 if none: new
        pseudonyms are allocated above it, so a load rolled back after linking never reuses one."""
        test = "person_id NOT GLOB '*[^0-9]*' AND person_id <> ''" if self.kind == "sqlite" else \
            "person_id ~ '^[0-9]+$'"
        rows = self._execute(f"SELECT max(CAST(person_id AS BIGINT)) FROM {TABLE} WHERE {test}")
        return int(rows[0][0] or 0)

    def set_opt_outs(self, auditor: Auditor, numbers: list[str]) -> int:
        """Replace the National Data Opt-out list (the NHS numbers NHS England's service returns as opted out)."""
        require(auditor.actor, LOAD)
        self._execute(f"DELETE FROM {OPT_OUT_TABLE}")
        self._many(f"INSERT INTO {OPT_OUT_TABLE} (nhs_number) VALUES (?)", [(n,) for n in sorted(set(numbers))])
        auditor.record(LOAD, f"National Data Opt-out list replaced: {len(set(numbers)):,} NHS numbers",
                       people=None, destination="re-identification store")
        return len(set(numbers))

    def opted_out(self, numbers: list[str]) -> set[str]:
        """Those of `numbers` on the National Data Opt-out list."""
        return {r[0] for r in self._in_chunks(f"SELECT nhs_number FROM {OPT_OUT_TABLE} WHERE nhs_number IN "
                                              "({marks})", numbers)}

    def count(self) -> int:
        return int(self._execute(f"SELECT count(*) FROM {TABLE}")[0][0])


_STORES: dict[str, ReidentificationStore] = {}


def open_reidentification(url: str) -> ReidentificationStore:
    """One store object per URL (the schema is checked once)."""
    if url not in _STORES:
        _STORES[url] = ReidentificationStore(url)
    return _STORES[url]
