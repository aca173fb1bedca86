"""A small synthetic Kent and Medway with three years of activity and person_measures stored, shared
by the tests that need a whole store (risk model, registers, inequalities)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from icsys.access import Actor, Auditor
from icsys.access.audit import beside
from icsys.population.stratify import stratify
from icsys.synth.generate import synthesise
from icsys.system import load_system

AS_OF = date(2026, 3, 31)


@pytest.fixture(scope="session")
def stratified_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("stratified") / "km.duckdb"
    synthesise(load_system(), db, scale=0.008, years=3, seed=11)
    stratify(db, AS_OF, say=lambda _: None, auditor=Auditor(Actor("asha", ("analyst",)), beside(db)))
    return db
