"""A request's audit records: held by one auditor for the request and written together before the response
leaves; for a write, inside the care database's transaction, so a write whose record cannot be written is
rolled back and nothing is released (503). The audit database still refuses a change, and there is still no
record without an actor. Also the cost of a request: how many queries the commonest API requests make."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from icsys.access import Actor, Auditor, open_audit
from icsys.access.actor import ActorError
from icsys.care import services as s
from icsys.care.models import Consent

pytestmark = pytest.mark.django_db
VERA = "PDEMO0001"
GP = Actor("gita.gp", ("clinician",), ("G1",), authentication="token")


def test_a_deferred_auditor_holds_its_records_until_flushed(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    with pytest.raises(ActorError, match="no actor"):
        Auditor(None, url, deferred=True)  # type: ignore[arg-type]
    auditor = Auditor(GP, url, deferred=True)
    auditor.record("read", "care.person person=P1", people=1, destination="api", person="P1")
    auditor.record("read", "person_id P1 -> nhs_number", people=1, destination="api", person="P1")
    assert open_audit(url).records() == []  # held: nothing released yet either
    assert auditor.flush() == 2 and auditor.flush() == 0
    records = open_audit(url).records()
    assert [r["what"] for r in records] == ["care.person person=P1", "person_id P1 -> nhs_number"]
    assert records[0]["id"] + 1 == records[1]["id"]  # one insert, in the order made
    con = sqlite3.connect(tmp_path / "audit.sqlite")
    for change in ("UPDATE audit_record SET what = 'x'", "DELETE FROM audit_record"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute(change)
    con.close()


def test_a_request_writes_its_records_before_it_answers(api, vera):
    before = len(open_audit(s.settings.ICSYS_AUDIT_URL).records())
    response = api("gita.gp").get(f"/api/people/{VERA}")  # the person, and her NHS number from the store
    assert response.status_code == 200
    made = open_audit(s.settings.ICSYS_AUDIT_URL).records()[before:]
    assert [r["what"] for r in made] == [f"person_id {VERA} -> nhs_number", f"care.person person={VERA}"]
    assert {r["destination"] for r in made} == {f"api GET /api/people/{VERA} (display)",
                                               f"api GET /api/people/{VERA}"}


def test_no_record_no_write_and_no_release(api, vera, settings, tmp_path: Path):
    """The audit database lost after the service opened it: the consent is not saved, the plan not read."""
    gp = api("gita.gp")
    path = tmp_path / "lost.audit.sqlite"
    settings.ICSYS_AUDIT_URL = f"sqlite:///{path}"
    s._audit_database(settings.ICSYS_AUDIT_URL)  # opened (its schema made), then lost
    path.unlink()
    consents = Consent.objects.count()
    refused = gp.post(f"/api/people/{VERA}/consent", {"status": "given", "note": "at the ward"})
    assert refused.status_code == 503 and "could not be written" in refused.json_body["detail"]
    assert Consent.objects.count() == consents  # the write was rolled back with its record
    read = gp.get(f"/api/people/{VERA}")
    assert read.status_code == 503 and "Vera" not in read.content.decode()


@pytest.mark.parametrize(("user", "path", "queries"), [
    ("gita.gp", f"/api/people/{VERA}/care-plan", 4),  # token+user+organisations, person, facts, version
    ("gita.gp", f"/api/people/{VERA}/timeline", 10),  # ... and one a kind of event, newest first (fewer than 50)
    ("gita.gp", "/api/people", 2),  # token, the page of the list scope (short: its length is the total)
    ("gita.gp", "/api/people?limit=1", 3),  # a full page: and the count
    ("gita.gp", "/api/people?offset=5", 3),  # an empty page beyond the end: and the count
    ("hana.homecare", "/api/tasks", 3),  # token, the page's tasks with person/organisation/owner, their alerts
    ("sam.spoa", "/api/referrals", 2),  # token, the page
    ("sam.spoa", "/api/referrals/unmatched", 3),  # none waiting: the empty page and the count
])
def test_requests_cost_a_fixed_number_of_queries(api, vera, refer_vera, user, path, queries):
    """However many referrals and tasks there are: no query a row (N+1), and a list's page costs the same."""
    client = api(user)
    gp = api("gita.gp")
    assert gp.post(f"/api/people/{VERA}/care-plan", {"summary": "Home with support"}).status_code == 201
    with CaptureQueriesContext(connection) as first:
        assert client.get(path).status_code == 200
    for _ in range(3):  # more of everything the lists and the timeline show
        assert gp.post(f"/api/people/{VERA}/consent", {"status": "given"}).status_code == 201
        refer_vera("social_work_assessment", "domiciliary_care")
    with CaptureQueriesContext(connection) as later:
        assert client.get(path).status_code == 200
    assert len(first) == len(later) == queries, [q["sql"][:80] for q in later.captured_queries]


@pytest.mark.parametrize(("user", "path"), [
    ("gita.gp", f"/api/people/{VERA}/timeline?limit=2&offset=1"),  # at most 3 + 2 a kind: its rows, its count
    ("hana.homecare", "/api/tasks?limit=2"),  # at most token, page, alerts, count
])
def test_a_short_page_costs_no_more_as_the_list_grows(api, refer_vera, user, path):
    client = api(user)
    refer_vera("social_work_assessment", "domiciliary_care")
    costs = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as made:
            assert client.get(path).status_code == 200
        costs.append(len(made))
        for _ in range(5):
            refer_vera("social_work_assessment", "domiciliary_care")
    bound = 3 + 2 * 7 if "timeline" in path else 4
    assert costs[1] == costs[2] <= bound, costs  # once the page is full, every further row is free


def _statements(captured: CaptureQueriesContext) -> list[str]:
    """Each statement's first words, without the savepoint the request's transaction takes inside the test's."""
    return [" ".join(q["sql"].split()[:3]) for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]


def test_a_plan_read_and_save_cost_the_same_however_many_versions(api, vera):
    """A read fetches the current version's row only; a save is the version moved on under the plan's row lock
    (one UPDATE, the compare-and-set) and one version INSERT; a stale save writes nothing and reads the current
    version once. The same with 2 versions as with 12."""
    gp = api("gita.gp")
    plan = f"/api/people/{VERA}/care-plan"
    assert gp.post(plan, {"summary": "v1"}).status_code == 201
    costs = []
    for n in range(2, 13):
        with CaptureQueriesContext(connection) as read:
            etag = gp.get(plan)["ETag"]
        with CaptureQueriesContext(connection) as save:
            assert gp.put(plan, {"summary": f"v{n}"}, HTTP_IF_MATCH=etag).status_code == 200
        with CaptureQueriesContext(connection) as stale:
            refused = gp.put(plan, {"summary": "late"}, HTTP_IF_MATCH=etag)
        assert refused.status_code == 412 and refused.json_body["version"] == n
        costs.append((_statements(read), _statements(save), _statements(stale)))
    first = costs[0]
    assert all(c == first for c in costs), costs
    read, save, stale = first  # token+user+organisations, person, the policy's facts, then:
    assert len(read) == 4 and read[3].startswith('SELECT "care_careplanversion"."id",'), read
    assert save[3:] == ["UPDATE care_careplan SET", 'INSERT INTO "care_careplanversion"'], save
    assert len(stale) == 5 and stale[3] == "UPDATE care_careplan SET" and "careplanversion" in stale[4], stale
