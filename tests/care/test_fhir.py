"""FHIR R4 export and import (validated as R4B by fhir.resources): a round trip of each resource type on
Vera's journey (seed 003), a hand-written UK Core style Bundle imported, invalid resources refused with an
OperationOutcome naming the element (nothing saved), another organisation's resources never visible, and
every export audited with its count."""

from __future__ import annotations

import json
import random
from urllib.parse import parse_qs, urlsplit

import nhs_number
import pytest
from django.conf import settings
from fhir.resources.R4B import get_fhir_model_class

from icsys.access import open_audit
from icsys.care import demo
from icsys.care.fhir import NHS_NUMBER, ODS, SERVICE_SYSTEM
from icsys.care.models import CarePlan, Consent, Person, Referral, Task

pytestmark = pytest.mark.django_db
VERA = "PDEMO0001"
PLAN = {"summary": "Recovering from a stroke at home",
        "goals": [{"goal": "Walk to the shops again", "by": "2027-01-31"}],
        "actions": [{"action": "Daily personal care", "who": "home care", "due": None, "done": False}],
        "named_contacts": [{"name": "Eric Hughes", "role": "husband", "organisation": "", "telephone": ""}],
        "anticipatory_care": "If confused or breathless, call the community team",
        "end_of_life": {"preferred_place_of_care": "home", "preferred_place_of_death": "home",
                        "resuscitation_decision": "not_for_resuscitation", "contact": "Eric Hughes (husband)"}}


@pytest.fixture
def journey(api, vera):
    """Vera referred, triaged, consent given, a care team member added and a plan written (seed 003)."""
    referral = vera["referral"]
    gp = api("gita.gp")
    assert gp.post(f"/api/people/{VERA}/consent", {"status": "given", "note": "at the ward"}).status_code == 201
    assert gp.post(f"/api/people/{VERA}/care-team", {"organisation": "NQV", "role_in_team": "district nursing"}
                   ).status_code == 201
    assert gp.post(f"/api/people/{VERA}/care-plan", PLAN).status_code == 201
    return referral


def _valid(resource: dict) -> dict:
    get_fhir_model_class(resource["resourceType"]).parse_obj(resource)  # R4B's model accepts it
    return resource


def _search(client, kind: str, patient: str = VERA) -> list[dict]:
    """Every match, page by page as a FHIR client does: following Bundle.link next until there is none."""
    url, entries, total = f"/api/fhir/{kind}?patient={patient}", [], None
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json_body
        body = _valid(response.json_body)
        assert body["type"] == "searchset"
        total = body["total"] if total is None else total
        entries += body.get("entry", [])
        url = next((link["url"].removeprefix("http://testserver") for link in body["link"]
                    if link["relation"] == "next"), None)
    if kind != "AuditEvent":  # the officer's own searches of one person add to that person's records as it pages
        assert total == len(entries)
    return [_valid(e["resource"]) for e in entries]


def _links(body: dict) -> dict[str, tuple[int, int]]:
    """Bundle.link as relation -> (_count, _offset) of its URL."""
    out = {}
    for link in body["link"]:
        query = parse_qs(urlsplit(link["url"]).query)
        out[link["relation"]] = (int(query["_count"][0]), int(query["_offset"][0]))
    return out


def _transaction(*resources: dict, **request: str) -> dict:
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"fullUrl": f"urn:uuid:entry-{i}", "resource": r,
                       "request": {"method": "PUT" if request else "POST", "url": r["resourceType"], **request}}
                      for i, r in enumerate(resources)]}


def _without(resource: dict, *keys: str) -> dict:
    return {k: v for k, v in resource.items() if k not in keys}


def test_patient_round_trip_carries_the_nhs_number_through_the_reidentification_store(api, journey):
    gp = api("gita.gp")
    [patient] = _search(gp, "Patient")
    assert patient["identifier"] == [{"system": NHS_NUMBER, "value": demo.VERA["nhs_number"]}]
    assert patient["name"][0]["family"] == "Hughes" and patient["birthDate"] == "1946-05-14"
    assert patient["generalPractitioner"][0]["identifier"] == {"system": ODS, "value": demo.demo_practice().code}
    response = gp.post("/api/fhir", _transaction(patient))
    assert response.status_code == 200, response.json_body
    assert response.json_body["entry"][0]["response"] == {"status": "200 OK", "location": f"Patient/{VERA}"}
    assert gp.get(f"/api/fhir/Patient/{VERA}").json_body == patient
    for element, value, where in (("birthDate", "1946-05-15", "birthDate"),
                                  ("name", [{"family": "Hughs", "given": ["Vera"]}], "name[0].family")):
        wrong = gp.post("/api/fhir", _transaction({**patient, element: value}))  # a mistyped number, perhaps
        assert wrong.status_code == 409 and wrong.json_body["issue"][0]["expression"] == \
            [f"Bundle.entry[0].resource.{where}"]
    assert Person.objects.filter(given_name="Vera").count() == 1
    whats = [r["what"] for r in open_audit(settings.ICSYS_AUDIT_URL).records()]
    assert f"person_id {VERA} -> nhs_number" in whats  # the number came through the store, audited
    assert any(w.startswith("nhs_number -> person_id (found PDEMO0001)") for w in whats)


def test_referral_and_task_round_trip(api, journey):
    spoa = api("sam.spoa")
    [request] = _search(spoa, "ServiceRequest")
    assert request["status"] == "active" and request["subject"] == {"reference": f"Patient/{VERA}"}
    assert request["requester"]["identifier"]["value"] == "RPA"
    tasks = _search(spoa, "Task")
    assert sorted(t["code"]["coding"][0]["code"] for t in tasks) == ["domiciliary_care", "social_work_assessment"]
    assert all(t["status"] == "requested" and t["basedOn"] == [{"reference": f"ServiceRequest/{journey}"}]
               for t in tasks)
    ada = api("ada.discharge")
    response = ada.post("/api/fhir", _transaction(request))
    assert response.status_code == 200, response.json_body
    location = response.json_body["entry"][0]["response"]["location"]
    again = ada.get(f"/api/fhir/{location}").json_body
    same = ("id", "authoredOn", "meta")
    assert _without(again, *same) == _without(request, *same)
    assert Referral.objects.get(pk=int(location.split("/")[1])).duplicate_of_id == journey  # flagged, as any duplicate
    task = {**_without(tasks[0], "id"), "basedOn": [{"reference": location}]}
    response = spoa.post("/api/fhir", _transaction(task))
    assert response.status_code == 200, response.json_body
    made = spoa.get(f"/api/fhir/{response.json_body['entry'][0]['response']['location']}").json_body
    assert _without(made, "id", "authoredOn", "restriction") == _without(task, "authoredOn", "restriction")


def test_care_plan_round_trip_is_a_new_version_only_with_if_match(api, journey):
    gp = api("gita.gp")
    [plan] = _search(gp, "CarePlan")
    assert plan["meta"]["versionId"] == "1" and plan["description"] == PLAN["summary"]
    stale = gp.post("/api/fhir", _transaction(plan))  # no ifMatch on an existing plan: refused, not overwritten
    assert stale.status_code == 412 and stale.json_body["resourceType"] == "OperationOutcome"
    response = gp.post("/api/fhir", _transaction(plan, ifMatch='W/"1"'))
    assert response.status_code == 200, response.json_body
    assert response.json_body["entry"][0]["response"]["location"] == f"CarePlan/{VERA}/_history/2"
    assert gp.get(f"/api/people/{VERA}/care-plan").json_body["content"] == PLAN  # nothing lost in the trip
    again = gp.get(f"/api/fhir/CarePlan/{VERA}").json_body
    assert _without(again, "meta") == _without(plan, "meta") and again["meta"]["versionId"] == "2"
    assert gp.post("/api/fhir", _transaction(plan, ifMatch='W/"1"')).status_code == 412  # now stale
    assert CarePlan.objects.get(person_id=VERA).version == 2


def test_care_team_and_consent_round_trip(api, journey):
    gp = api("gita.gp")
    [team] = _search(gp, "CareTeam")
    assert [p["member"]["identifier"]["value"] for p in team["participant"]] == ["NQV"]
    [consent] = _search(gp, "Consent")
    assert consent["status"] == "active" and consent["provision"]["type"] == "permit"
    withdrawn = {**_without(consent, "id"), "status": "inactive", "provision": {"type": "deny"}}
    response = gp.post("/api/fhir", _transaction(team, consent, withdrawn))
    assert response.status_code == 200, response.json_body
    assert gp.get(f"/api/fhir/CareTeam/{VERA}").json_body == team  # the same members: nothing doubled
    consents = _search(gp, "Consent")
    assert [c["status"] for c in consents] == ["active", "active", "inactive"]
    assert _without(consents[1], "id", "dateTime") == _without(consent, "id", "dateTime")
    # the withdrawal took effect at once: the SPoA may no longer read the shared plan
    assert api("sam.spoa").get(f"/api/fhir/CarePlan/{VERA}").status_code == 403


def test_audit_events_export_the_audit_database(api, journey):
    gp = api("gita.gp")
    _search(gp, "Task")
    officer = api("priya.privacy")
    events = _search(officer, "AuditEvent")
    mine = [e for e in events if e["agent"][0]["who"]["display"] == "gita.gp"
            and e["entity"][0]["description"] == f"fhir Task x2 person={VERA}"]
    assert len(mine) == 1 and mine[0]["entity"][0]["what"] == {"reference": f"Patient/{VERA}"}
    assert mine[0]["entity"][0]["detail"] == [{"type": "people", "valueString": "1"}]
    assert api("gita.gp").get("/api/fhir/AuditEvent").status_code == 403
    whole = officer.get("/api/fhir/AuditEvent")
    assert whole.status_code == 200 and whole.json_body["total"] >= len(events)


def _new_nhs_number() -> str:
    rng = random.Random()
    while True:
        number = f"999{rng.randrange(10**6, 10**7):07d}"
        if nhs_number.is_valid(number):
            return number


def uk_core_bundle(number: str, practice: str) -> dict:
    """Written by hand as a hospital's system would send it (UK Core profiles, ODS and NHS number systems)."""
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:3f1d3b8e-0000-4000-8000-000000000001", "request": {"method": "POST", "url": "Patient"},
         "resource": {"resourceType": "Patient",
                      "meta": {"profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"]},
                      "identifier": [{"system": NHS_NUMBER, "value": number}],
                      "name": [{"use": "official", "family": "Okafor", "given": ["Grace"]}],
                      "gender": "female", "birthDate": "1941-11-03",
                      "generalPractitioner": [{"identifier": {"system": ODS, "value": practice}}]}},
        {"fullUrl": "urn:uuid:3f1d3b8e-0000-4000-8000-000000000002",
         "request": {"method": "POST", "url": "ServiceRequest"},
         "resource": {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
                      "category": [{"coding": [{"system": "https://icsys.nhs.example/CodeSystem/referral-source",
                                                "code": "acute_discharger"}]}],
                      "subject": {"reference": "urn:uuid:3f1d3b8e-0000-4000-8000-000000000001"},
                      "requester": {"identifier": {"system": ODS, "value": "RPA"}},
                      "performer": [{"identifier": {"system": ODS, "value": "SP03"}}],
                      "reasonCode": [{"text": "Fall at home; needs help washing and dressing"}],
                      "orderDetail": [{"coding": [{"system": SERVICE_SYSTEM, "code": "reablement"}]}],
                      "occurrenceDateTime": "2026-12-03",
                      "note": [{"text": "mobility: walks with a frame"}]}},
        {"fullUrl": "urn:uuid:3f1d3b8e-0000-4000-8000-000000000003", "request": {"method": "POST", "url": "Consent"},
         "resource": {"resourceType": "Consent", "status": "active",
                      "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                            "code": "patient-privacy"}]},
                      "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
                      "patient": {"reference": "urn:uuid:3f1d3b8e-0000-4000-8000-000000000001"},
                      "policyRule": {"text": "share with the organisations caring for the person"}}}]}


def test_a_hand_written_uk_core_bundle_is_imported(api, practice):
    number = _new_nhs_number()
    ada = api("ada.discharge")
    response = ada.post("/api/fhir", uk_core_bundle(number, practice))
    assert response.status_code == 200, response.json_body
    statuses = [e["response"]["status"] for e in response.json_body["entry"]]
    assert statuses == ["201 Created"] * 3
    person_id = response.json_body["entry"][0]["response"]["location"].removeprefix("Patient/")
    person = Person.objects.get(pk=person_id)
    assert (person.given_name, person.family_name, str(person.birth_date), person.practice_id) == \
        ("Grace", "Okafor", "1941-11-03", practice)
    referral = Referral.objects.get(person=person)
    assert (referral.to_organisation_id, referral.recommended_services, referral.mobility) == \
        ("SP03", ["reablement"], "walks with a frame")
    assert Consent.objects.get(person=person).status == "given"
    [patient] = _search(api("sam.spoa"), "Patient", person_id)  # the SPoA sees its new referral's person
    assert patient["identifier"][0]["value"] == number


def test_invalid_resources_are_refused_naming_the_element_and_nothing_is_saved(api, practice):
    ada = api("ada.discharge")
    people, referrals = Person.objects.count(), Referral.objects.count()
    bad = uk_core_bundle(_new_nhs_number(), practice)
    bad["entry"][0]["resource"]["birthDate"] = "03/11/1941"
    response = ada.post("/api/fhir", bad)
    assert response.status_code == 422
    issue = response.json_body["issue"][0]
    assert response.json_body["resourceType"] == "OperationOutcome"
    assert issue["expression"] == ["Bundle.entry[0].resource.birthDate"]
    bad = uk_core_bundle(_new_nhs_number(), practice)
    bad["entry"][1]["resource"]["requester"] = {"identifier": {"system": ODS, "value": "NOSUCH"}}
    response = ada.post("/api/fhir", bad)  # the Patient was fine; the transaction is all or nothing
    assert response.status_code == 422
    assert response.json_body["issue"][0]["expression"] == ["Bundle.entry[1].resource.requester"]
    bad = uk_core_bundle("9990000019", practice)  # a wrong check digit
    response = ada.post("/api/fhir", bad)
    assert response.status_code == 422 and "modulus 11" in response.json_body["issue"][0]["diagnostics"]
    assert response.json_body["issue"][0]["expression"] == ["Bundle.entry[0].resource.identifier"]
    assert (Person.objects.count(), Referral.objects.count()) == (people, referrals)
    extra = ada.post("/api/fhir", {"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": {"resourceType": "Consent", "status": "active", "colour": "blue"}}]})
    assert extra.status_code == 200  # a batch answers entry by entry
    outcome = extra.json_body["entry"][0]["response"]["outcome"]
    assert {e for i in outcome["issue"] for e in i["expression"]} >= \
        {"Bundle.entry[0].resource.colour", "Bundle.entry[0].resource.scope", "Bundle.entry[0].resource.category"}
    assert ada.post("/api/fhir", {"resourceType": "Bundle", "type": "history"}).json_body["issue"][0][
        "expression"] == ["Bundle.type"]
    assert ada.get("/api/fhir/Task").status_code == 422


def test_another_organisations_resources_are_not_visible(api, journey):
    kent = api("kim.kent")  # East Kent Hospitals: no relationship with Vera
    for kind in ("Patient", "ServiceRequest", "Task", "CarePlan", "CareTeam", "Consent"):
        response = kent.get(f"/api/fhir/{kind}?patient={VERA}")
        assert response.status_code == 404, (kind, response.json_body)
        assert response.json_body["resourceType"] == "OperationOutcome"
        assert "Hughes" not in response.content.decode() and demo.VERA["nhs_number"] not in response.content.decode()
    task = Task.objects.filter(person_id=VERA).first()
    for path in (f"Patient/{VERA}", f"Task/{task.id}", f"ServiceRequest/{journey}", f"CarePlan/{VERA}"):
        response = kent.get(f"/api/fhir/{path}")
        assert response.status_code == 404 and "Hughes" not in response.content.decode()
    # nor can it write to her through an import
    plan = api("gita.gp").get(f"/api/fhir/CarePlan/{VERA}").json_body
    assert kent.post("/api/fhir", _transaction(plan, ifMatch='W/"1"')).status_code == 404
    assert CarePlan.objects.get(person_id=VERA).version == 1


def test_a_plan_element_the_service_cannot_hold_is_refused_not_dropped(api, journey):
    gp = api("gita.gp")
    plan = gp.get(f"/api/fhir/CarePlan/{VERA}").json_body
    foreign = {**plan, "extension": [*plan["extension"], {"url": "https://example.org/other", "valueString": "x"}]}
    response = gp.post("/api/fhir", _transaction(foreign, ifMatch='W/"1"'))
    assert response.status_code == 422
    last = len(plan["extension"])
    assert response.json_body["issue"][0]["expression"] == [f"Bundle.entry[0].resource.extension[{last}]"]
    eol = next(e for e in plan["extension"] if e["url"].endswith("end-of-life-preferences"))
    bad = json.loads(json.dumps(plan).replace('"not_for_resuscitation"', '"maybe"'))
    response = gp.post("/api/fhir", _transaction(bad, ifMatch='W/"1"'))
    assert response.status_code == 422 and "end_of_life.resuscitation_decision" in \
        response.json_body["issue"][0]["expression"][0]
    assert eol and CarePlan.objects.get(person_id=VERA).version == 1  # nothing saved


def test_metadata_states_what_the_server_does(client):
    statement = _valid(client.get("/api/fhir/metadata").json())  # no sign-in: it holds no personal data
    assert (statement["resourceType"], statement["kind"], statement["fhirVersion"]) == \
        ("CapabilityStatement", "instance", "4.0.1")
    [rest] = statement["rest"]
    kinds = {r["type"]: r for r in rest["resource"]}
    assert set(kinds) == {"Patient", "ServiceRequest", "Task", "CarePlan", "CareTeam", "Consent", "AuditEvent"}
    assert kinds["CarePlan"]["versioning"] == "versioned-update"
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch"}


def test_care_plan_history_holds_every_version_newest_first(api, journey):
    gp = api("gita.gp")
    current = gp.get(f"/api/people/{VERA}/care-plan")
    edited = {**current.json_body["content"], "summary": "Home with a package of care"}
    assert gp.put(f"/api/people/{VERA}/care-plan", edited, HTTP_IF_MATCH=current["ETag"]).status_code == 200
    history = _valid(gp.get(f"/api/fhir/CarePlan/{VERA}/_history").json_body)
    assert (history["type"], history["total"]) == ("history", 2)
    versions = [e["resource"]["meta"]["versionId"] for e in history["entry"]]
    assert versions == ["2", "1"]
    assert history["entry"][0]["resource"]["description"] == "Home with a package of care"
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "POST"]
    assert api("kim.kent").get(f"/api/fhir/CarePlan/{VERA}/_history").status_code == 404


def test_search_results_come_a_page_at_a_time(api, journey):
    """Five consents (the journey's and four more), two a page: three pages, each linked to the next and the
    previous, the last holding one; together the five in order, once each; every page audited as it is."""
    gp = api("gita.gp")
    for status in ("withdrawn", "given", "withdrawn", "given"):
        assert gp.post(f"/api/people/{VERA}/consent", {"status": status}).status_code == 201
    ids = list(Consent.objects.filter(person_id=VERA).order_by("id").values_list("id", flat=True))
    assert len(ids) == 5
    pages = []
    for offset in (0, 2, 4):
        response = gp.get(f"/api/fhir/Consent?patient={VERA}&_count=2&_offset={offset}")
        assert response.status_code == 200
        pages.append(_valid(response.json_body))
    assert [p["total"] for p in pages] == [5, 5, 5]
    assert [[int(e["resource"]["id"]) for e in p["entry"]] for p in pages] == [ids[0:2], ids[2:4], ids[4:]]
    assert _links(pages[0]) == {"self": (2, 0), "first": (2, 0), "last": (2, 4), "next": (2, 2)}
    assert _links(pages[1]) == {"self": (2, 2), "first": (2, 0), "last": (2, 4), "next": (2, 4), "previous": (2, 0)}
    assert _links(pages[2]) == {"self": (2, 4), "first": (2, 0), "last": (2, 4), "previous": (2, 2)}
    assert all(f"patient={VERA}" in link["url"] for p in pages for link in p["link"])
    assert [int(c["id"]) for c in _search(gp, "Consent")] == ids  # followed link by link (default _count)
    whats = [r["what"] for r in open_audit(settings.ICSYS_AUDIT_URL).records(person=VERA)]
    assert f"fhir Consent x2 of 5 from 2 person={VERA}" in whats
    assert f"fhir Consent x1 of 5 from 4 person={VERA}" in whats


def test_search_count_zero_large_and_bad(api, journey):
    gp = api("gita.gp")
    only_total = gp.get(f"/api/fhir/Task?patient={VERA}&_count=0")
    assert only_total.status_code == 200 and only_total.json_body["total"] == 2
    assert only_total.json_body["entry"] == [] and "next" not in _links(only_total.json_body)
    large = gp.get(f"/api/fhir/Task?patient={VERA}&_count=100000")  # served as the most a page holds
    assert large.status_code == 200 and len(large.json_body["entry"]) == 2
    assert _links(large.json_body)["self"] == (200, 0)
    past_the_end = gp.get(f"/api/fhir/Task?patient={VERA}&_offset=10")
    assert past_the_end.json_body["total"] == 2 and past_the_end.json_body["entry"] == []
    for query, name in (("_count=-1", "_count"), ("_count=two", "_count"), ("_offset=1.5", "_offset")):
        bad = gp.get(f"/api/fhir/Task?patient={VERA}&{query}")
        assert bad.status_code == 422 and bad.json_body["resourceType"] == "OperationOutcome", query
        assert bad.json_body["issue"][0]["expression"] == [name]


def test_audit_events_page_in_order(api, journey):
    officer = api("priya.privacy")
    first = officer.get(f"/api/fhir/AuditEvent?patient={VERA}&_count=3").json_body
    assert len(first["entry"]) == 3 and first["total"] == len(open_audit(settings.ICSYS_AUDIT_URL)
                                                              .records(person=VERA)) - 1  # less this search's own
    count, offset = _links(first)["next"]
    second = officer.get(f"/api/fhir/AuditEvent?patient={VERA}&_count={count}&_offset={offset}").json_body
    ids = [int(e["resource"]["id"]) for e in first["entry"] + second["entry"]]
    assert ids == sorted(ids) and len(set(ids)) == 6  # oldest first, no record twice
