"""FHIR R4 Bundles (JSON) into the linked dataset.

    Patient            -> person: NHS number (identifier https://fhir.nhs.uk/Id/nhs-number), gender,
                          birthDate (held as the first of its month), generalPractitioner's ODS code,
                          UK Core ethnic category extension (else Z, not stated), deceasedDateTime.
                          A patient whose NHS number is already in the store is linked, not added.
    Condition          -> clinical_event (SNOMED CT code; onset or recorded date)
    Observation        -> clinical_event (SNOMED CT code; effective date; valueQuantity value and unit)
    MedicationRequest  -> medication (dm+d code, system https://dmd.nhs.uk; authoredOn; quantity)
    Encounter IMP      -> inpatient_spell; Encounter EMER -> ae_attendance (period, serviceProvider or
                          location ODS code as site, ADMIMETH/ECDS values carried in extensions or codings
                          where the sender has them; anything missing is reported, not invented).

Bundles as real senders write them: `collection`, `batch`, `transaction` (entries with `request`: POST and
PUT load, a DELETE is reported, never applied), `searchset` and `document`; references by `fullUrl`
(`urn:uuid:`), by `Patient/id`, or logical, by the NHS number identifier (UK Core), which links to a
Patient of the Bundle or of the store; NHS numbers written with spaces ("943 476 5919") are read as digits.

Each resource is parsed with the fhir.resources R4B models; one that does not parse is reported by its
position in the Bundle (entry N) and type, never a traceback. All tables load in one transaction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from icsys.dataset import linkage
from icsys.dataset.schema import TABLES
from icsys.dataset.staging import LoadReport, load_staged
from icsys.dataset.validate import STAGE, FileProblem, Problem
from icsys.system import System

NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
SNOMED = "http://snomed.info/sct"
DMD = "https://dmd.nhs.uk"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ETHNICITY_EXTENSION = "Extension-UKCore-EthnicCategory"
BUNDLE_TYPES = ("collection", "batch", "transaction", "searchset", "document")
ORDER = ("person", "clinical_event", "medication", "ae_attendance", "inpatient_spell")
ID_COLUMN = {"clinical_event": "event_id", "medication": "medication_id", "ae_attendance": "attendance_id",
             "inpatient_spell": "spell_id"}


def _coding(concept: Any, system: str) -> str | None:
    for coding in (getattr(concept, "coding", None) or []):
        if coding.system == system:
            return coding.code
    return None


def _identifier(identifiers: Any, system: str) -> str | None:
    for ident in identifiers or []:
        if ident.system == system:
            return "".join((ident.value or "").split()) if system == NHS_NUMBER else ident.value
    return None


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def _reference_key(reference: Any) -> str | None:
    return getattr(reference, "reference", None)


def load_fhir(con: duckdb.DuckDBPyConnection, report: LoadReport, file: Path, system: System,
              allow_rejects: bool) -> None:
    from fhir.resources.R4B import construct_fhir_element

    try:
        bundle = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FileProblem(f"{file}: not valid JSON: {exc}") from exc
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise FileProblem(f"{file}: not a FHIR Bundle (resourceType is {bundle.get('resourceType')!r})"
                          if isinstance(bundle, dict) else f"{file}: not a FHIR Bundle")
    if bundle.get("type") not in BUNDLE_TYPES:
        raise FileProblem(f"{file}: a FHIR Bundle of type {bundle.get('type')!r}; icsys loads "
                          f"{', '.join(BUNDLE_TYPES)}")
    resources = []
    for index, entry in enumerate(bundle.get("entry") or [], start=1):
        raw = entry.get("resource") if isinstance(entry, dict) else None
        kind = raw.get("resourceType", "?") if isinstance(raw, dict) else "?"
        method = (entry.get("request") or {}).get("method", "POST") if isinstance(entry, dict) else "POST"
        if method not in ("POST", "PUT"):
            report.problems.append(Problem(str(file), index, kind, f"entry {index}: request {method} "
                                           f"{(entry.get('request') or {}).get('url', '')} is not loaded: icsys "
                                           "loads POST and PUT entries only"))
            report.rows_rejected += 1
            report.problem_count += 1
            continue
        try:
            resources.append((index, entry.get("fullUrl"), construct_fhir_element(kind, raw)))
        except Exception as exc:  # the models raise several error types; each is the sender's data problem
            message = " ".join(str(exc).split())[:300]
            report.problems.append(Problem(str(file), index, kind, f"entry {index} does not parse: {message}"))
            report.rows_rejected += 1
            report.problem_count += 1
    rows = _rows(con, resources, report, str(file))
    for table in ORDER:
        if not rows[table]:
            continue
        columns = [c for c in TABLES[table].column_names if any(c in r for r in rows[table])]
        data = {c: [r.get(c) for r in rows[table]] for c in columns}
        data["_row"] = [r["_row"] for r in rows[table]]
        con.execute(f"DROP TABLE IF EXISTS {STAGE}")
        con.register("_icsys_fhir", pa.table({k: pa.array(v, pa.int64() if k == "_row" else pa.string())
                                              for k, v in data.items()}))
        con.execute(f"CREATE TEMP TABLE {STAGE} AS SELECT * FROM _icsys_fhir")
        con.unregister("_icsys_fhir")
        load_staged(con, report, TABLES[table], columns, system, allow_rejects)


def _rows(con: duckdb.DuckDBPyConnection, resources: list, report, file: str) -> dict[str, list[dict]]:
    """Turn parsed resources into rows of text per table, linking each to its person."""
    rows: dict[str, list[dict]] = {t: [] for t in ORDER}
    next_id = {t: _max_id(con, t) for t in ORDER}
    next_id["person"] = max(next_id["person"], linkage.largest_pseudonym(con))
    patients: dict[str, tuple[str, str | None]] = {}  # reference key -> (person_id, practice)
    created: dict[str, str] = {}  # NHS number -> pseudonym of a Patient new to the store
    for index, full_url, res in resources:
        if res.resource_type != "Patient":
            continue
        person = _patient(con, res, next_id)
        person["_row"] = index
        key = (person["person_id"], person.get("practice_code"))
        nhs = _identifier(res.identifier, NHS_NUMBER)
        for ref in filter(None, (full_url, f"Patient/{res.id}" if res.id else None, nhs and f"nhs:{nhs}")):
            patients[ref] = key
        number = person.pop("_nhs", None)
        if not person.pop("_existing"):
            rows["person"].append(person)
            if number:
                created[number] = person["person_id"]
    for index, _, res in resources:
        kind = res.resource_type
        if kind == "Patient":
            continue
        subject = getattr(res, "subject", None) or getattr(res, "patient", None)
        who = patients.get(_reference_key(subject) or "") or _by_identifier(con, subject, patients)
        if who is None:
            logical = getattr(subject, "identifier", None)
            shown = _reference_key(subject) or (f"NHS number {logical.value}" if logical else None)
            report.problems.append(Problem(file, index, kind, f"entry {index}: subject "
                                           f"{shown!r} is not a Patient in this Bundle or the store"))
            report.rows_rejected += 1
            report.problem_count += 1
            continue
        made = _activity(res, who)
        if made is None:
            report.problems.append(Problem(file, index, kind, f"entry {index}: {kind} is not loaded by icsys"))
            report.rows_rejected += 1
            report.problem_count += 1
            continue
        table, row = made
        next_id[table] += 1
        row[ID_COLUMN[table]] = str(next_id[table])
        row["_row"] = index
        rows[table].append(row)
    linkage.link_new_nhs(report, created)
    return rows


def _by_identifier(con: duckdb.DuckDBPyConnection, subject: Any,
                   patients: dict[str, tuple[str, str | None]]) -> tuple[str, str | None] | None:
    """A logical reference by NHS number: a Patient of the Bundle, else a person already in the store."""
    nhs = _identifier([subject.identifier], NHS_NUMBER) if getattr(subject, "identifier", None) else None
    if not nhs:
        return None
    if f"nhs:{nhs}" in patients:
        return patients[f"nhs:{nhs}"]
    return linkage.nhs_person(con, nhs)


def _max_id(con: duckdb.DuckDBPyConnection, table: str) -> int:
    key = TABLES[table].primary_key
    return int(con.execute(f'SELECT coalesce(max("{key}"), 0) FROM "{table}"').fetchone()[0])


def _patient(con: duckdb.DuckDBPyConnection, res: Any, next_id: dict[str, int]) -> dict[str, Any]:
    nhs = _identifier(res.identifier, NHS_NUMBER)
    practice = None
    for gp in res.generalPractitioner or []:
        practice = practice or getattr(getattr(gp, "identifier", None), "value", None)
    found = linkage.nhs_person(con, nhs) if nhs else None
    if found:
        return {"person_id": found[0], "practice_code": practice or found[1], "_existing": True}
    next_id["person"] += 1
    ethnicity = "Z"
    for ext in res.extension or []:
        if ETHNICITY_EXTENSION in (ext.url or ""):
            ethnicity = _coding(ext.valueCodeableConcept, ext.valueCodeableConcept.coding[0].system) or "Z"
    birth = res.birthDate.isoformat()[:7] + "-01" if res.birthDate else None
    death = getattr(res, "deceasedDateTime", None)
    gender = {"female": "F", "male": "M"}.get(res.gender or "", res.gender)
    # the NHS number goes to the re-identification store (`_rows`), never into the analytical store
    return {"person_id": str(next_id["person"]), "nhs_number": None, "_nhs": nhs, "sex": gender, "birth_date": birth,
            "ethnicity": ethnicity, "practice_code": practice, "death_date": death.isoformat()[:10] if death else None,
            "_existing": False}


def _activity(res: Any, who: tuple[str, str | None]) -> tuple[str, dict[str, Any]] | None:
    person_id, practice = who
    kind = res.resource_type
    if kind in ("Condition", "Observation"):
        when = (getattr(res, "onsetDateTime", None) or getattr(res, "recordedDate", None)
                or getattr(res, "effectiveDateTime", None))
        quantity = getattr(res, "valueQuantity", None)
        return "clinical_event", {
            "person_id": person_id, "event_date": _s(when)[:10] if when else None,
            "snomed_code": _coding(res.code, SNOMED), "value": _s(quantity.value) if quantity else None,
            "unit": (quantity.code or quantity.unit) if quantity else None, "practice_code": practice}
    if kind == "MedicationRequest":
        quantity = getattr(getattr(res, "dispenseRequest", None), "quantity", None)
        return "medication", {
            "person_id": person_id, "issue_date": _s(res.authoredOn)[:10] if res.authoredOn else None,
            "dmd_code": _coding(res.medicationCodeableConcept, DMD) if res.medicationCodeableConcept else None,
            "quantity": _s(quantity.value) if quantity else None, "practice_code": practice}
    if kind == "Encounter":
        return _encounter(res, person_id)
    return None


def _encounter(res: Any, person_id: str) -> tuple[str, dict[str, Any]] | None:
    period = res.period
    start = _s(period.start).replace("T", " ")[:19] if period and period.start else None
    end = _s(period.end).replace("T", " ")[:19] if period and period.end else None
    site = getattr(getattr(res.serviceProvider, "identifier", None), "value", None) if res.serviceProvider else None
    hospitalization = res.hospitalization
    admit_source = _first_code(getattr(hospitalization, "admitSource", None))
    disposition = _first_code(getattr(hospitalization, "dischargeDisposition", None))
    if res.class_fhir.code == "EMER":
        return "ae_attendance", {"person_id": person_id, "site_code": site, "department_type": "1",
                                 "arrival_time": start, "departure_time": end, "arrival_mode": admit_source,
                                 "disposal": disposition}
    if res.class_fhir.code == "IMP":
        reason = res.reasonCode[0] if res.reasonCode else None
        return "inpatient_spell", {
            "person_id": person_id, "site_code": site, "admission_time": start, "discharge_time": end,
            "admission_method": admit_source, "patient_classification": "1",
            "specialty": _first_code(res.serviceType), "primary_diagnosis": _coding(reason, ICD10) if reason else None,
            "discharge_destination": disposition}
    return None


def _first_code(concept: Any) -> str | None:
    codings = getattr(concept, "coding", None) or []
    return codings[0].code if codings else None
