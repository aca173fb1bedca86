"""Paged lists (issue 12): every list of the care API and its pages takes `limit` (default 50, at most 200) and
`offset`, answers one page in the order its users work in (the SPoA's queues oldest waiting first, tasks by due
time, a timeline newest first, people by name, a case list highest risk first), with X-Total-Count and a Link
rel="next". Walking the pages gives every row exactly once; counts and pages never hold another organisation's
rows; the audit records what the page released; a bad paging parameter is refused naming it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from icsys.access import open_audit
from icsys.care import models as m
from icsys.care import services as s
from icsys.care.demo import PASSWORD
from icsys.care.models import Organisation, Person

pytestmark = pytest.mark.django_db
VERA = "PDEMO0001"
NEXT = re.compile(r'<([^>]+)>; rel="next"')


def nhs_number(serial: int) -> str:
    """A synthetic (999) NHS number with its modulus 11 check digit; None where the check digit would be 10."""
    body = f"999{serial:06d}"
    check = 11 - sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True)) % 11
    return None if check == 10 else body + str(check % 11)


def walk(client, path: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Every page from `path` by its next links: the rows in order, and each page's length; the total is the
    same on every page and equals the rows walked."""
    rows: list[dict[str, Any]] = []
    sizes, totals = [], set()
    while path:
        response = client.get(path)
        assert response.status_code == 200, response.json_body
        rows += response.json_body
        sizes.append(len(response.json_body))
        totals.add(int(response["X-Total-Count"]))
        found = NEXT.search(response.get("Link", ""))
        path = found.group(1) if found else None
    assert totals == {len(rows)}, (totals, len(rows))
    return rows, sizes


def other_pcn_practice(practice: str) -> str:
    mine = Organisation.objects.get(pk=practice).parent_id
    return Organisation.objects.filter(kind="practice").exclude(parent_id=mine).order_by("code").first().code


def make_people(practice: str, names: list[str], prefix: str) -> None:
    for i, family in enumerate(names):
        Person.objects.create(id=f"{prefix}{i}", given_name="Pat", family_name=family, birth_date=date(1940, 1, 1),
                              practice_id=practice)


def test_the_people_list_walks_by_name_and_never_counts_another_practices_people(api, practice):
    make_people(practice, ["Young", "Adams", "Moss", "Clark", "Bell", "Evans", "Khan"], "PA")
    make_people(other_pcn_practice(practice), ["Aaron", "Zed", "Cole"], "PB")  # registered elsewhere
    gp = api("gita.gp")
    rows, sizes = walk(gp, "/api/people?limit=3")
    assert [r["family_name"] for r in rows] == ["Adams", "Bell", "Clark", "Evans", "Khan", "Moss", "Young"]
    assert sizes == [3, 3, 1]
    first = gp.get("/api/people?limit=3")
    assert first["X-Total-Count"] == "7" and "offset=3" in first["Link"] and "limit=3" in first["Link"]
    assert "Link" not in gp.get("/api/people?limit=3&offset=6")  # the last page has no next
    assert gp.get("/api/people?offset=50").json_body == []  # beyond the end: an empty page, the same total


def test_the_task_list_walks_soonest_due_first_with_only_the_services_own_tasks(api, refer_vera):
    for _ in range(5):
        refer_vera("social_work_assessment", "domiciliary_care")  # one task to HC06, one to the council
    rows, sizes = walk(api("hana.homecare"), "/api/tasks?limit=2")
    mine = list(m.Task.objects.filter(organisation_id="HC06").order_by("due_at", "id").values_list("id", flat=True))
    assert len(mine) == 5 and [r["id"] for r in rows] == mine and sizes == [2, 2, 1]
    assert {r["organisation"] for r in rows} == {"HC06"}  # the council's five never counted or shown
    due = [r["due_at"] for r in rows]
    assert due == sorted(due)


def test_the_spoa_queues_walk_oldest_waiting_first(api, vera_form, refer_vera):
    made = [refer_vera("domiciliary_care")["referral"] for _ in range(4)]
    rows, sizes = walk(api("sam.spoa"), "/api/referrals?limit=3")
    assert [r["id"] for r in rows] == made and sizes == [3, 1]  # the order received
    unknown = [n for n in map(nhs_number, range(100, 120)) if n][:5]
    waiting = []
    for i, number in enumerate(unknown):
        form = {**vera_form, "nhs_number": number, "given_name": "Joan", "family_name": f"Price{i}", "carers": []}
        response = api("ada.discharge").post("/api/referrals", form)
        assert response.status_code == 201 and response.json_body["status"] == "unmatched", response.json_body
        waiting.append(response.json_body["id"])
    rows, sizes = walk(api("sam.spoa"), "/api/referrals/unmatched?limit=2")
    assert [r["id"] for r in rows] == waiting and sizes == [2, 2, 1]
    # another organisation (a GP) sees the referrals of its own patient only: never the unmatched ones
    gp_rows, _ = walk(api("gita.gp"), "/api/referrals?limit=2")
    assert [r["id"] for r in gp_rows] == made


def test_a_timeline_walks_newest_first_and_exactly_once(api, refer_vera):
    for _ in range(3):
        refer_vera("social_work_assessment", "domiciliary_care")
    gp = api("gita.gp")
    for status in ("given", "withdrawn", "given"):
        assert gp.post(f"/api/people/{VERA}/consent", {"status": status}).status_code == 201
    whole = gp.get(f"/api/people/{VERA}/timeline?limit=200").json_body
    kinds = [e["kind"] for e in whole]
    assert (kinds.count("referral"), kinds.count("task"), kinds.count("consent"), len(whole)) == (3, 6, 3, 12)
    assert kinds[:3] == ["consent"] * 3  # the newest
    times = [e["at"] for e in whole]
    assert times == sorted(times, reverse=True)
    for limit in (1, 5, 7):
        rows, sizes = walk(gp, f"/api/people/{VERA}/timeline?limit={limit}")
        assert rows == whole and max(sizes) == limit


def test_an_mdt_case_list_walks_highest_risk_first(api, tmp_path, practice, settings, make_store):
    settings.ICSYS_STORE = str(make_store(tmp_path / "store.duckdb", practice))
    lead = api("mo.mdt")
    whole = lead.get("/api/mdt/case-lists/frail?limit=200").json_body
    assert [r["person_id"] for r in whole] == ["PDEMO0001", "S6", "S7"]  # risk 0.41, 0.30, 0.20; not S4 (another PCN)
    rows, sizes = walk(lead, "/api/mdt/case-lists/frail?limit=1")
    assert rows == whole and sizes == [1, 1, 1]


def test_a_practices_discharge_notifications_walk_newest_first(api, refer_vera, practice):
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    for day in (3, 0, 4, 1, 2):  # discharged out of the order referred
        referral = refer_vera("domiciliary_care")["referral"]
        done = api("ada.discharge").post(f"/api/referrals/{referral}/discharge",
                                         {"discharged_at": (start + timedelta(days=day)).isoformat()})
        assert done.status_code == 201, done.json_body
    m.DischargeNotification.objects.create(  # another practice's notification: never counted or shown
        referral_id=refer_vera("domiciliary_care")["referral"], person_id=VERA,
        practice_id=other_pcn_practice(practice), discharged_at=start, due_by=start + timedelta(days=1),
        summary="elsewhere")
    rows, sizes = walk(api("gita.gp"), "/api/notifications?limit=2")
    assert [datetime.fromisoformat(r["discharged_at"]).day for r in rows] == [6, 5, 4, 3, 2] and sizes == [2, 2, 1]
    assert {r["practice"] for r in rows} == {practice}
    assert walk(api("hana.homecare"), "/api/notifications")[0] == []  # not a practice: none


def test_the_privacy_officers_break_glass_list_walks_unreviewed_first_then_newest(api, refer_vera):
    refer_vera("domiciliary_care")
    made = []
    for n in range(5):
        grant = api("kim.kent").post(f"/api/people/{VERA}/break-glass",
                                     {"reason": f"unconscious in A&E, no history available ({n})"})
        assert grant.status_code == 201, grant.json_body
        made.append(grant.json_body["id"])
    now = timezone.now()
    for n, grant in enumerate(made):  # started an hour apart, the first the oldest
        m.BreakGlass.objects.filter(pk=grant).update(started_at=now - timedelta(hours=5 - n))
    officer = api("priya.privacy")
    for grant in made[3:]:  # the two newest reviewed
        assert officer.post(f"/api/break-glass/{grant}/review", {"note": "justified"}).status_code == 200
    rows, sizes = walk(officer, "/api/break-glass?limit=2")
    assert [r["id"] for r in rows] == [made[2], made[1], made[0], made[4], made[3]] and sizes == [2, 2, 1]
    assert [r["reviewed_at"] is None for r in rows] == [True, True, True, False, False]


def test_a_persons_continuing_healthcare_cases_walk_oldest_checklist_first(api, refer_vera, practice):
    refer_vera("social_work_assessment")  # social care's relationship with Vera
    make_people(practice, ["Moss"], "PC")
    social = api("will.social")
    made = []
    for days_ago in (10, 40, 20, 30, 5):
        at = (timezone.now() - timedelta(days=days_ago)).isoformat()
        case = social.post(f"/api/people/{VERA}/chc", {"outcome": "negative", "organisation": "NQV",
                                                       "checklist_at": at})
        assert case.status_code == 201, case.json_body
        made.append((days_ago, case.json_body["id"]))
    assert api("gita.gp").post("/api/people/PC0/chc", {"outcome": "negative", "organisation": "NQV"}).status_code == 201
    rows, sizes = walk(api("gita.gp"), f"/api/people/{VERA}/chc?limit=2")
    assert [r["id"] for r in rows] == [case for _, case in sorted(made, reverse=True)] and sizes == [2, 2, 1]
    assert {r["person_id"] for r in rows} == {VERA}  # not PC0's


def test_the_pages_of_these_lists_page_too(api, refer_vera, client):
    refer_vera("social_work_assessment")
    for _ in range(3):
        assert api("gita.gp").post(f"/api/people/{VERA}/chc", {"outcome": "negative", "organisation": "NQV"}) \
            .status_code == 201
        assert api("kim.kent").post(f"/api/people/{VERA}/break-glass",
                                    {"reason": "unconscious in A&E, no history available"}).status_code == 201
    assert client.login(username="gita.gp", password=PASSWORD)
    text = client.get(f"/people/{VERA}/chc/?limit=2").content.decode()
    assert "3 checklists" in text and "Checklists 1 to 2 of 3" in text and 'rel="next"' in text
    assert client.login(username="priya.privacy", password=PASSWORD)
    text = client.get("/audit/?limit=2&offset=2").content.decode()
    assert "Break-glass 3 to 3 of 3" in text and 'rel="prev"' in text
    assert "Next page<span class=\"hint\"> of break-glass" not in text  # (the records below have pages of their own)


def test_the_limit_has_a_default_and_a_maximum(api, practice):
    make_people(practice, [f"Family{i:03d}" for i in range(205)], "PL")
    gp = api("gita.gp")
    assert len(gp.get("/api/people").json_body) == s.DEFAULT_LIMIT == 50
    assert len(gp.get("/api/people?limit=200").json_body) == s.MAX_LIMIT == 200
    assert gp.get("/api/people")["X-Total-Count"] == "205"


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=two", "offset=-1", "offset=1.5",
                                   "offset=99999999999999999999"])
@pytest.mark.parametrize("path", ["/api/people", "/api/tasks", "/api/referrals", "/api/referrals/unmatched",
                                  f"/api/people/{VERA}/timeline", "/api/mdt/case-lists/frail", "/api/notifications",
                                  "/api/break-glass", f"/api/people/{VERA}/chc"])
def test_a_bad_paging_parameter_is_refused_naming_it(api, path, query):
    response = api("gita.gp").get(f"{path}?{query}")
    assert response.status_code == 422, response.content
    assert response.json_body["detail"][0]["loc"] == ["query", query.split("=")[0]]


def test_the_audit_records_what_the_page_released(api, practice):
    make_people(practice, ["Adams", "Bell", "Clark", "Evans", "Khan"], "PA")
    before = len(open_audit(s.settings.ICSYS_AUDIT_URL).records())
    assert len(api("gita.gp").get("/api/people?limit=2&offset=2").json_body) == 2
    made = [r for r in open_audit(s.settings.ICSYS_AUDIT_URL).records()[before:] if r["what"] == "care.person"]
    assert [r["people"] for r in made] == [2]  # the page's two, not the five in scope


def test_the_pages_page_too(practice, client):
    make_people(practice, ["Adams", "Bell", "Clark"], "PA")
    assert client.login(username="gita.gp", password=PASSWORD)
    first = client.get("/people/?limit=2").content.decode()
    assert "Adams" in first and "Bell" in first and "Clark" not in first and "3 people" in first
    link = re.search(r'<a href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(f"/people/{link}").content.decode()
    assert "Clark" in second and "Adams" not in second and 'rel="next"' not in second and 'rel="prev"' in second
    bad = client.get("/people/?limit=0")
    assert bad.status_code == 422 and "limit" in bad.content.decode()



def test_the_audit_log_walks_newest_first_for_one_person_and_its_page_pages_too(api, vera, client):
    gp = api("gita.gp")
    for _ in range(4):
        assert gp.get(f"/api/people/{VERA}").status_code == 200  # each read audited, about her
    officer = api("priya.privacy")
    every = officer.get(f"/api/audit?person={VERA}&limit=5000").json_body
    rows, sizes = walk(officer, f"/api/audit?person={VERA}&limit=3")  # each page read adds a record about her
    # The same records as one long page (the officer's own reads of the log are about her too, so compare the
    # ids the first read saw), newest first, each once.
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert {r["id"] for r in every} <= set(ids) and {r["person"] for r in rows} == {VERA}
    assert len(sizes) >= 2 and all(n == 3 for n in sizes[:-1])
    assert officer.get("/api/audit?limit=5001").status_code == 422  # at most 5,000 a page, said so
    assert officer.get("/api/audit?offset=-1").json_body["detail"][0]["loc"] == ["query", "offset"]
    assert gp.get("/api/audit?limit=3").status_code == 403
    assert client.login(username="priya.privacy", password=PASSWORD)
    text = client.get(f"/audit/?person={VERA}&records_limit=2&records_offset=2").content.decode()
    assert re.search(r"Records 3 to 4 of \d+\.", text) and 'rel="prev"' in text and 'rel="next"' in text
    assert client.get("/audit/?records_limit=0").status_code == 422  # refused, naming it
    refused = client.get("/audit/?records_until=latest")
    assert refused.status_code == 422 and "records_until" in refused.content.decode()
    assert officer.get("/api/audit?until=0").json_body["detail"][0]["loc"] == ["query", "until"]
