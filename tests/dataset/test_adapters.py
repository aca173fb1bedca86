"""HES/SUS extracts and FHIR R4 Bundles, mapped onto the schema and validated like any file."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from icsys.access import Actor, Auditor
from icsys.access.audit import beside
from icsys.access.reidentify import ReidentificationStore
from icsys.dataset import ingest
from icsys.dataset.ingest import LoadError, LoadRejected
from icsys.dataset.store import Store

MANAGER = Actor("dmitri", ("data_manager",))


def load(store: Store, *args, **kwargs):  # loads by a data manager, audited beside the store
    return ingest.load(store, *args, auditor=Auditor(MANAGER, beside(store.path)), **kwargs)

DATA = Path(__file__).parent / "data"
PEOPLE = ("person_id,nhs_number,sex,birth_date,ethnicity,lsoa_code,imd_decile,practice_code,registration_start\n"
          "1,9434765919,F,1950-03-01,A,E01100001,3,G82100,2000-01-01\n"
          "2,9000871093,M,1988-09-01,H,E01100002,7,G82100,2010-05-05\n")


def manager_auditor(db: Path) -> Auditor:
    return Auditor(MANAGER, beside(db))


def writable(path: Path) -> Store:
    return Store.open(path, read_only=False, create=True)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE, encoding="utf-8")
    db = tmp_path / "s.duckdb"
    load(writable(db), "person", people)
    return db


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_hes_apc(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "apc.csv"
    path.write_text("EPIKEY,NEWNHSNO,SITETRET,ADMIDATE,ADMITIME,DISDATE,DISTIME,ADMIMETH,CLASSPAT,TRETSPEF,"
                    "DIAG_4_01,DISDEST\n"
                    "501,9434765919,RPA02,2025-03-01,0930,2025-03-09,1400,21,1,430,J189,19\n", encoding="utf-8")
    assert load(writable(store), None, path, fmt="hes-apc").loaded == {"inpatient_spell": 1}
    got = rows(store, "SELECT spell_id, person_id, admission_time::VARCHAR, discharge_time::VARCHAR, specialty, "
                      "primary_diagnosis FROM inpatient_spell")
    assert got == [(1, 1, "2025-03-01 09:30:00", "2025-03-09 14:00:00", "430", "J189")]  # spells are numbered


def test_hes_ae_maps_codes_and_duration(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "ae.csv"
    path.write_text("AEKEY,NEWNHSNO,SITETRET,AEDEPTTYPE,ARRIVALDATE,ARRIVALTIME,DEPDUR,AEARRIVALMODE,AEATTENDDISP\n"
                    "7,9000871093,RPA02,01,2025-03-02,23:10,290,1,01\n", encoding="utf-8")
    load(writable(store), None, path, fmt="hes-ae")
    got = rows(store, "SELECT person_id, department_type, arrival_mode, disposal, departure_time::VARCHAR "
                      "FROM ae_attendance")
    assert got == [(2, "1", "ambulance", "admitted", "2025-03-03 04:00:00")]


def test_hes_op_problems_name_hes_fields_and_rows(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "op.csv"
    path.write_text("ATTENDKEY,NEWNHSNO,SITETRET,APPTDATE,TRETSPEF,FIRSTATT,ATTENDED\n"
                    "1,9434765919,RPA02,2025-04-01,110,1,5\n"
                    "2,9434765919,RPA02,2025-04-02,110,2,9\n"
                    "3,4000000004,RPA02,2025-04-03,110,2,5\n", encoding="utf-8")
    with pytest.raises(LoadRejected) as caught:
        load(writable(store), None, path, fmt="hes-op")
    problems = {(p.row, p.field) for p in caught.value.report.problems}
    assert (2, "ATTENDED") in problems and (3, "NEWNHSNO") in problems and not any(r == 1 for r, _ in problems)
    assert rows(store, "SELECT count(*) FROM outpatient_appointment") == [(0,)]


def test_hes_missing_fields(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("AEKEY,NEWNHSNO\n1,9434765919\n", encoding="utf-8")
    with pytest.raises(LoadError, match="missing field"):
        load(writable(store), None, path, fmt="hes-ae")


def test_fhir_bundle_loads_every_resource(tmp_path: Path) -> None:
    db = tmp_path / "f.duckdb"
    report = load(writable(db), None, DATA / "bundle.json")
    assert report.loaded == {"person": 1, "clinical_event": 2, "medication": 1, "inpatient_spell": 1}
    # the NHS number is linked in the re-identification store, never written to the analytical store
    assert rows(db, "SELECT person_id, nhs_number, sex, birth_date::VARCHAR, practice_code FROM person") == [
        (1, None, "F", "1948-07-01", "G82100")]
    link = ReidentificationStore(ingest.reid_beside(writable(db)))
    assert link.person_ids(manager_auditor(db), ["9434765919"]) == {"9434765919": "1"}
    assert rows(db, "SELECT value, unit FROM clinical_event WHERE snomed_code = '271649006'") == [(152.0, "mm[Hg]")]


def test_fhir_links_existing_patient(store: Path) -> None:
    load(writable(store), None, DATA / "bundle.json")
    assert rows(store, "SELECT count(*) FROM person") == [(2,)]
    assert rows(store, "SELECT DISTINCT person_id FROM clinical_event") == [(1,)]


def test_fhir_bad_resource_named_by_entry(tmp_path: Path) -> None:
    bundle = json.loads((DATA / "bundle.json").read_text(encoding="utf-8"))
    del bundle["entry"][2]["resource"]["code"]  # an Observation must have a code
    bundle["entry"][3]["resource"]["subject"]["reference"] = "Patient/nobody"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    db = tmp_path / "f.duckdb"
    with pytest.raises(LoadRejected) as caught:
        load(writable(db), None, path)
    problems = {p.row: p for p in caught.value.report.problems}
    assert problems[3].field == "Observation" and "entry 3 does not parse" in problems[3].reason
    assert "Patient/nobody" in problems[4].reason
    assert not db.exists()


def test_not_a_bundle(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"resourceType": "Patient"}', encoding="utf-8")
    with pytest.raises(LoadError, match="not a FHIR Bundle"):
        load(writable(tmp_path / "f.duckdb"), None, path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(LoadError, match="not valid JSON"):
        load(writable(tmp_path / "f.duckdb"), None, path)
