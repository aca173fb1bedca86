"""HES/SUS-style extracts, with the field names of the HES data dictionary, mapped onto the schema.

    hes-apc (admitted patient care): EPIKEY -> spell_id; NEWNHSNO -> person_id (looked up by NHS number
        in the store's person table); SITETRET -> site_code; ADMIDATE + ADMITIME -> admission_time;
        DISDATE + DISTIME -> discharge_time; DISREADYDATE (optional) -> ready_for_discharge_time;
        ADMIMETH, CLASSPAT, DISDEST as they are; TRETSPEF (else MAINSPEF) -> specialty;
        DIAG_4_01 -> primary_diagnosis.
    hes-ae (A&E): AEKEY -> attendance_id; NEWNHSNO; SITETRET; AEDEPTTYPE 01-04 -> department_type 1-4;
        ARRIVALDATE + ARRIVALTIME -> arrival_time; departure = arrival + DEPDUR minutes, else DEPDATE +
        DEPTIME; AEARRIVALMODE 1 -> ambulance, 2 -> walk_in; AEATTENDDISP 01 admitted, 02 GP follow-up,
        03 and 14 discharged, 04-06 and 11 referred, 07 transferred, 10 died, 12-13 left; ACUITY optional.
    hes-op (outpatients): ATTENDKEY -> appointment_id; NEWNHSNO; SITETRET; APPTDATE; TRETSPEF;
        FIRSTATT 1/3 first (3 and 4 by telephone), 2/4 follow-up; ATTENDED 5/6 attended, 3/7 did not
        attend, 2 cancelled by the patient, 4 by the provider.

Times may be HH:MM, HH:MM:SS or HHMM. Values that do not map are passed through unchanged so the
validation names them; every problem is reported against the HES field and the file's own row.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from icsys.dataset import validate
from icsys.dataset.schema import TABLES
from icsys.dataset.staging import LoadReport, load_staged
from icsys.dataset.validate import STAGE, FileProblem, quote
from icsys.system import System

REQUIRED = {
    "hes-apc": ("EPIKEY", "NEWNHSNO", "SITETRET", "ADMIDATE", "ADMIMETH", "CLASSPAT", "DIAG_4_01"),
    "hes-ae": ("AEKEY", "NEWNHSNO", "SITETRET", "AEDEPTTYPE", "ARRIVALDATE", "ARRIVALTIME", "AEARRIVALMODE",
               "AEATTENDDISP"),
    "hes-op": ("ATTENDKEY", "NEWNHSNO", "SITETRET", "APPTDATE", "TRETSPEF", "FIRSTATT", "ATTENDED"),
}
TABLE = {"hes-apc": "inpatient_spell", "hes-ae": "ae_attendance", "hes-op": "outpatient_appointment"}


def _f(name: str) -> str:
    return f"NULLIF(trim(s.{quote(name)}), '')"


def _time(name: str, present: set[str]) -> str:
    """HES times as HH:MM:SS (HHMM accepted); midnight when absent."""
    if name not in present:
        return "'00:00:00'"
    t = _f(name)
    return (f"coalesce(CASE WHEN regexp_matches({t}, '^[0-9]{{4}}$') THEN substr({t}, 1, 2) || ':' || "
            f"substr({t}, 3, 2) || ':00' WHEN regexp_matches({t}, '^[0-9]{{1,2}}:[0-9]{{2}}$') THEN {t} || ':00' "
            f"ELSE {t} END, '00:00:00')")


def _when(date: str, time: str, present: set[str]) -> str:
    return f"CASE WHEN {_f(date)} IS NOT NULL THEN {_f(date)} || ' ' || {_time(time, present)} END" \
        if date in present else "NULL"


def _map(field: str, mapping: dict[str, str]) -> str:
    cases = " ".join(f"WHEN {validate.literal(k)} THEN {validate.literal(v)}" for k, v in mapping.items())
    return f"CASE {_f(field)} {cases} ELSE {_f(field)} END"


def _person(present: set[str]) -> str:
    return f"(SELECT CAST(p.person_id AS VARCHAR) FROM person p WHERE p.nhs_number = {_f('NEWNHSNO')} LIMIT 1)"


def mapping(fmt: str, present: set[str]) -> dict[str, tuple[str, str]]:
    """schema column -> (SQL over the raw HES row, the HES field it comes from)."""
    opt = lambda name: _f(name) if name in present else "NULL"  # noqa: E731
    if fmt == "hes-apc":
        specialty = f"coalesce({opt('TRETSPEF')}, {opt('MAINSPEF')})"
        return {
            "spell_id": (_f("EPIKEY"), "EPIKEY"), "person_id": (_person(present), "NEWNHSNO"),
            "site_code": (_f("SITETRET"), "SITETRET"),
            "admission_time": (_when("ADMIDATE", "ADMITIME", present), "ADMIDATE"),
            "ready_for_discharge_time": (opt("DISREADYDATE"), "DISREADYDATE"),
            "discharge_time": (_when("DISDATE", "DISTIME", present), "DISDATE"),
            "admission_method": (_f("ADMIMETH"), "ADMIMETH"), "patient_classification": (_f("CLASSPAT"), "CLASSPAT"),
            "specialty": (specialty, "TRETSPEF"), "primary_diagnosis": (_f("DIAG_4_01"), "DIAG_4_01"),
            "discharge_destination": (opt("DISDEST"), "DISDEST"),
        }
    if fmt == "hes-ae":
        arrival = _when("ARRIVALDATE", "ARRIVALTIME", present)
        by_duration = (f"CAST(TRY_CAST({arrival} AS TIMESTAMP) + INTERVAL (TRY_CAST({_f('DEPDUR')} AS INTEGER)) "
                       "MINUTE AS VARCHAR)") if "DEPDUR" in present else "NULL"
        departure = f"coalesce({by_duration}, {_when('DEPDATE', 'DEPTIME', present)})"
        return {
            "attendance_id": (_f("AEKEY"), "AEKEY"), "person_id": (_person(present), "NEWNHSNO"),
            "site_code": (_f("SITETRET"), "SITETRET"),
            "department_type": (_map("AEDEPTTYPE", {"01": "1", "02": "2", "03": "3", "04": "4"}), "AEDEPTTYPE"),
            "arrival_time": (arrival, "ARRIVALDATE"), "departure_time": (departure, "DEPDUR"),
            "arrival_mode": (_map("AEARRIVALMODE", {"1": "ambulance", "2": "walk_in"}), "AEARRIVALMODE"),
            "acuity": (opt("ACUITY"), "ACUITY"),
            "disposal": (_map("AEATTENDDISP", {"01": "admitted", "02": "gp_follow_up", "03": "discharged",
                                               "04": "referred", "05": "referred", "06": "referred",
                                               "07": "transferred", "10": "died", "11": "referred", "12": "left",
                                               "13": "left", "14": "discharged"}), "AEATTENDDISP"),
        }
    first = _f("FIRSTATT")
    return {
        "appointment_id": (_f("ATTENDKEY"), "ATTENDKEY"), "person_id": (_person(present), "NEWNHSNO"),
        "site_code": (_f("SITETRET"), "SITETRET"), "appointment_date": (_f("APPTDATE"), "APPTDATE"),
        "specialty": (_f("TRETSPEF"), "TRETSPEF"),
        "first_attendance": (f"CASE WHEN {first} IN ('1', '3') THEN 'true' WHEN {first} IN ('2', '4') THEN 'false' "
                             f"ELSE {first} END", "FIRSTATT"),
        "consultation_medium": (f"CASE WHEN {first} IN ('3', '4') THEN 'telephone' ELSE 'face_to_face' END",
                                "FIRSTATT"),
        "status": (_map("ATTENDED", {"5": "attended", "6": "attended", "3": "dna", "7": "dna",
                                     "2": "cancelled_by_patient", "4": "cancelled_by_provider"}), "ATTENDED"),
    }


def load_hes(con: duckdb.DuckDBPyConnection, report: LoadReport, fmt: str, file: Path, system: System,
             allow_rejects: bool) -> None:
    raw = set(validate.stage_file(con, file, "csv"))
    missing = [f for f in REQUIRED[fmt] if f not in raw]
    if missing:
        raise FileProblem(f"{file}: not a {fmt} extract: missing HES field(s) {', '.join(missing)}")
    columns = mapping(fmt, raw)
    select = ", ".join(f"CAST({sql} AS VARCHAR) AS {quote(col)}" for col, (sql, _) in columns.items())
    originals = ", ".join(f"s.{quote(c)} AS {quote('_hes_' + c)}" for c in sorted(raw))
    con.execute(f"CREATE TEMP TABLE _icsys_hes AS SELECT s._row, {select}, {originals} FROM {STAGE} s")
    con.execute(f"DROP TABLE {STAGE}")
    con.execute(f"ALTER TABLE _icsys_hes RENAME TO {STAGE}")
    record = "json_object(" + ", ".join(f"{validate.literal(c)}, s.{quote('_hes_' + c)}" for c in sorted(raw)) + ")"
    load_staged(con, report, TABLES[TABLE[fmt]], list(columns), system, allow_rejects,
                field_names={col: field for col, (_, field) in columns.items()}, record=lambda: record)
