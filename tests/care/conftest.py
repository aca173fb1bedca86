"""The care tests: a real database (PostgreSQL when ICSYS_TEST_POSTGRES_URL is set, else SQLite, see
icsys.web.test_settings), the organisations of the Kent and Medway definition and the demonstration users
loaded once, each test in a transaction rolled back; `api("sam.spoa")` is a JSON client with that user's token."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.test import Client

from icsys.care import demo
from icsys.care.models import Organisation
from icsys.care.organisations import load_organisations


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        load_organisations()
        demo.load_users()
        demo.link_people()


class Api:
    """A JSON client for one user (a bearer token), over Django's test client (the whole stack but the socket)."""

    def __init__(self, username: str | None) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.headers: dict[str, str] = {}
        self.username = username
        if username:
            from icsys.care.models import User
            from icsys.web.auth import issue_token

            key, _ = issue_token(User.objects.get(username=username))
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"

    def call(self, method: str, path: str, body: Any = None, **headers: str):
        kwargs = {**self.headers, **headers}
        if body is not None:
            kwargs.update(data=json.dumps(body, default=str), content_type="application/json")
        response = getattr(self.client, method.lower())(path, **kwargs)
        response.json_body = json.loads(response.content) if response.content and \
            response.get("Content-Type", "").startswith("application/json") else None
        return response

    def get(self, path: str, **headers: str):
        return self.call("GET", path, **headers)

    def post(self, path: str, body: Any = None, **headers: str):
        return self.call("POST", path, body if body is not None else {}, **headers)

    def put(self, path: str, body: Any = None, **headers: str):
        return self.call("PUT", path, body, **headers)


@pytest.fixture
def api(db) -> Callable[[str | None], Api]:
    return Api


@pytest.fixture
def practice(db) -> str:
    return demo.demo_practice().code


@pytest.fixture
def vera_form(practice) -> dict[str, Any]:
    return demo.vera_referral_form(practice)


VERA_SERVICES = {"social_work_assessment": demo.MEDWAY_ASC, "domiciliary_care": "HC06"}  # seed 003's first tasks


@pytest.fixture
def refer_vera(api, vera_form) -> Callable[..., dict[str, Any]]:
    """Vera (seed 003) referred by the hospital's discharger and triaged by the SPoA: a task for each service
    named (of VERA_SERVICES, each to its organisation). Returns her person id, the referral and the tasks."""

    def refer(*services: str) -> dict[str, Any]:
        made = api("ada.discharge").post("/api/referrals", vera_form)
        assert made.status_code == 201, made.json_body
        tasks = api("sam.spoa").post(f"/api/referrals/{made.json_body['id']}/triage", {"tasks": [
            {"service": service, "organisation": VERA_SERVICES[service]} for service in services]}).json_body
        return {"person": made.json_body["person_id"], "referral": made.json_body["id"],
                "tasks": {t["service"]: t["id"] for t in tasks}, "task": tasks[0]["id"]}

    return refer


@pytest.fixture
def vera(refer_vera) -> dict[str, Any]:
    """Vera referred and triaged to social care's assessment and home care's package."""
    return refer_vera("social_work_assessment", "domiciliary_care")


AS_OF = date(2026, 3, 31)
RISPERIDONE_LOW = "408155001"  # codes/medicines_optimisation.csv: low_dose_antipsychotic
OLANZAPINE_10 = "321586008"  # codes/medications.csv: smi, not a low dose
DEMENTIA = "52448006"
REVIEW = "182836005"
TEN_MEDICINES = ["319283006", "318885001", "317919004", "320000009", "319740004", "318420003", "325278007",
                 "703677007", "320144000", "320186002"]


def other_pcn_practice(practice: str) -> str:
    mine = Organisation.objects.get(pk=practice).parent_id
    return Organisation.objects.filter(kind="practice").exclude(parent_id=mine).order_by("code").first().code


def write_store(path: Path, practice: str, elsewhere: str | None = None) -> Path:
    """A small analytical store for the MDT case lists: seven people, each in or out of a list for one reason.
    Vera (PDEMO0001) is frail, has dementia and takes low-dose risperidone."""
    elsewhere = elsewhere or other_pcn_practice(practice)  # a practice of another PCN
    people = [  # person_id, practice, efi, efi2, risk, top %, segment, ltc
        ("PDEMO0001", practice, "severe", "severe", 0.41, 1.0, "frailty", 4),  # Vera: frail, dementia, risperidone
        ("S2", practice, "fit", None, 0.05, 60.0, "healthy", 0),  # 10 medicines, no review: polypharmacy
        ("S3", practice, "mild", "mild", 0.08, 40.0, "ltc", 1),  # 10 medicines, reviewed 100 days ago: not
        ("S4", elsewhere, "severe", "severe", 0.50, 0.5, "frailty", 5),  # another PCN: never in mo.mdt's lists
        ("S5", practice, "mild", "fit", 0.10, 30.0, "ltc", 3),  # dementia, risperidone 200 days ago: not
        ("S6", practice, "fit", "moderate", 0.30, 4.0, "ltc", 2),  # dementia on olanzapine 10 mg: not low dose
        ("S7", practice, "moderate", "mild", 0.20, 10.0, "ltc", 3),  # frail, complex
    ]
    meds = [("PDEMO0001", RISPERIDONE_LOW, AS_OF - timedelta(days=30)),
            ("S5", RISPERIDONE_LOW, AS_OF - timedelta(days=200)), ("S6", OLANZAPINE_10, AS_OF - timedelta(days=10))]
    meds += [(p, code, AS_OF - timedelta(days=40 + i)) for p in ("S2", "S3") for i, code in enumerate(TEN_MEDICINES)]
    meds += [("S4", code, AS_OF - timedelta(days=5)) for code in TEN_MEDICINES]
    events = [(p, DEMENTIA, date(2024, 1, 1)) for p in ("PDEMO0001", "S5", "S6")]
    events.append(("S3", REVIEW, AS_OF - timedelta(days=100)))
    events.append(("S2", REVIEW, AS_OF - timedelta(days=400)))  # over a year ago: due again
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE person_measures (person_id VARCHAR, practice_code VARCHAR, efi_category VARCHAR, "
                "efi2_category VARCHAR, risk_emergency_admission_12m DOUBLE, risk_top_percent DOUBLE, "
                "segment VARCHAR, ltc_count INTEGER, as_of DATE)")
    con.executemany("INSERT INTO person_measures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [(*p, AS_OF) for p in people])
    con.execute("CREATE TABLE medication (person_id VARCHAR, dmd_code VARCHAR, issue_date DATE)")
    con.executemany("INSERT INTO medication VALUES (?, ?, ?)", meds)
    con.execute("CREATE TABLE clinical_event (person_id VARCHAR, snomed_code VARCHAR, event_date DATE)")
    con.executemany("INSERT INTO clinical_event VALUES (?, ?, ?)", events)
    con.close()
    return path


@pytest.fixture
def make_store() -> Callable[..., Path]:
    return write_store
