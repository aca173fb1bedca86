"""The re-identification store: NHS number <-> person_id, resolved only by a care role, every resolution
audited (found or not), on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from icsys.access import AccessDenied, Actor, Auditor, open_audit
from icsys.access.reidentify import NhsNumberError, ReidentificationStore

GRACE = Actor("grace", ("clinician",), organisations=("G82001",), purpose="direct care")
ASHA = Actor("asha", ("analyst",))
LOADER = Actor("dmitri", ("data_manager",))


def stores(tmp_path: Path) -> list[str]:
    urls = [f"sqlite:///{tmp_path / 'reid.sqlite'}"]
    if os.environ.get("ICSYS_TEST_POSTGRES_URL"):
        urls.append(os.environ["ICSYS_TEST_POSTGRES_URL"])
    return urls


def test_resolution_is_for_care_roles_and_always_audited(tmp_path: Path):
    audit = open_audit(f"sqlite:///{tmp_path / 'audit.sqlite'}")
    for url in stores(tmp_path):
        link = ReidentificationStore(url)
        person = f"P{uuid.uuid4().hex[:8].upper()}"
        number = "4010232137" if url.startswith("sqlite") else None
        if number is None:  # PostgreSQL is shared between runs: a number not yet linked there
            import nhs_number

            number = nhs_number.generate(for_region=nhs_number.REGION_ENGLAND_WALES_IOM)[0]
            while link._execute("SELECT 1 FROM reidentification WHERE nhs_number = ?", (number,)):
                number = nhs_number.generate(for_region=nhs_number.REGION_ENGLAND_WALES_IOM)[0]
        assert link.link(Auditor(LOADER, audit), number, person, why="load") == person
        before = len(audit.records())
        assert link.resolve(Auditor(GRACE, audit), number, why="referral 1") == person
        assert link.resolve(Auditor(GRACE, audit), "9990000018", why="referral 2", allow_synthetic=True) is None
        records = audit.records()[before:]
        assert [(r["actor_user"], r["action"], r["people"], r["destination"]) for r in records] == [
            ("grace", "reidentify", 1, "referral 1"), ("grace", "reidentify", 0, "referral 2")]
        with pytest.raises(AccessDenied, match="analyst"):
            link.resolve(Auditor(ASHA, audit), number, why="curiosity")
        with pytest.raises(NhsNumberError, match="check digit"):
            link.resolve(Auditor(GRACE, audit), "4010232138", why="typo")
        with pytest.raises(AccessDenied, match="already linked"):
            link.link(Auditor(LOADER, audit), number, "POTHER", why="load")
        assert link.nhs_number_of(Auditor(GRACE, audit), person, why="display") == number
