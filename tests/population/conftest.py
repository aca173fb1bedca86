"""A small synthetic Kent and Medway with three years of activity and person_measures stored, shared
by the tests that need a whole store (risk model, registers, inequalities)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from support import icsys

AS_OF = date(2026, 3, 31)


@pytest.fixture(scope="session")
def stratified_store(synthetic_store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = synthetic_store(0.008, 3, 11, copy_to=tmp_path_factory.mktemp("stratified"))
    icsys("population", "stratify", "--db", db, "--as-of", AS_OF, check=True)
    return db
