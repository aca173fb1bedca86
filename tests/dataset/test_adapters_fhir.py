"""FHIR R4 Bundles as a real sender writes them: a UK Core transaction with urn:uuid references, a PUT by NHS
number (written with spaces), a logical reference by the NHS number identifier, and a DELETE that is reported
and not applied. Hand-worked from tests/fixtures/extracts/fhir_transaction_ukcore.json."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from icsys.dataset.ingest import LoadError, LoadRejected
from support.extracts import load, store_with_people

BUNDLE = Path(__file__).parents[1] / "fixtures" / "extracts" / "fhir_transaction_ukcore.json"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return store_with_people(tmp_path)


def test_transaction_bundle_links_by_nhs_number_and_refuses_delete(store: Path) -> None:
    with pytest.raises(LoadRejected) as caught:  # strict: the DELETE entry is a problem
        load(store, None, BUNDLE)
    [problem] = caught.value.report.problems
    assert (problem.row, problem.reason) == (4, "entry 4: request DELETE Observation/old-1 is not loaded: icsys "
                                                "loads POST and PUT entries only")
    report = load(store, None, BUNDLE, allow_rejects=True)
    assert report.loaded == {"clinical_event": 2}  # both patients are people of the store: linked, not added
    with duckdb.connect(str(store), read_only=True) as con:
        got = con.execute("SELECT person_id, snomed_code, event_date::VARCHAR, value FROM clinical_event "
                          "ORDER BY person_id").fetchall()
    # the Condition's urn:uuid subject is the PUT Patient (NHS number '900 087 1093'); the Observation's
    # logical reference is person 1's NHS number
    assert got == [(1, "271649006", "2025-02-01", 138.0), (2, "195967001", "2024-11-02", None)]


def test_bundle_type_not_loaded(tmp_path: Path) -> None:
    bundle = json.loads(BUNDLE.read_text(encoding="utf-8")) | {"type": "transaction-response"}
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    with pytest.raises(LoadError, match="type 'transaction-response'; icsys loads collection, batch, transaction"):
        load(tmp_path / "f.duckdb", None, path)
