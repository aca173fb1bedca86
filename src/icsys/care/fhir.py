"""FHIR R4 (validated as R4B, 4.3.0: see docs/care.md) export and import of the care service's records.

Export builds each resource from the records through the same operations as the API (`services.person_for`
and friends: the policy decides, every release is audited with its count) and validates it with
`fhir.resources.R4B`. Import validates each resource first, then maps it onto the same operations (referral,
triage, plan, care team, consent); the NHS number reaches a person only through the re-identification
store. Errors are `FhirError`s carrying an OperationOutcome whose `expression` names the element."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError as PydanticError
from pydantic.v1 import ValidationError

from icsys.access.policy import READ
from icsys.care import models as m
from icsys.care import services as s

NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"
SERVICE_SYSTEM = "https://icsys.nhs.example/CodeSystem/care-service"  # local: the SERVICES of icsys.care
EOL = "https://icsys.nhs.example/StructureDefinition/end-of-life-preferences"  # EPaCCS-style, local
CONTACT = "https://icsys.nhs.example/StructureDefinition/named-contact"
SOURCE = "https://icsys.nhs.example/CodeSystem/referral-source"
TYPES = ("Patient", "ServiceRequest", "Task", "CarePlan", "CareTeam", "Consent", "AuditEvent")
IMPORT_ORDER = ("Patient", "ServiceRequest", "Task", "CarePlan", "CareTeam", "Consent")


class FhirError(Exception):
    """A refusal as an OperationOutcome: `status` the HTTP status, `outcome` the resource."""

    def __init__(self, status: int, code: str, diagnostics: str, expression: list[str] | None = None) -> None:
        super().__init__(diagnostics)
        self.status = status
        issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": diagnostics}
        if expression:
            issue["expression"] = expression
        self.outcome = {"resourceType": "OperationOutcome", "issue": [issue]}


def outcome(issues: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": issues}


# The services' field names as the FHIR elements they come from, for an OperationOutcome's expression.
ELEMENTS = {"from_organisation": "requester", "to_organisation": "performer[0]", "registered_practice": "subject",
            "recommended_services": "orderDetail", "nhs_number": "subject", "organisation": "owner",
            "reason": "statusReason"}


def from_care_error(exc: s.CareError, where: str = "") -> FhirError:
    if where and exc.field and not exc.field.startswith("Bundle."):
        exc.field = ELEMENTS.get(exc.field, exc.field)
    code = {403: "forbidden", 404: "not-found", 409: "conflict", 412: "conflict", 422: "invalid"}.get(exc.status,
                                                                                                    "processing")
    expression = [f"{where}.{exc.field}" if where and not exc.field.startswith("Bundle.") else exc.field] \
        if exc.field else None
    return FhirError(exc.status, code, exc.message, expression)


def validate(resource: Any, where: str = "") -> dict[str, Any]:
    """The resource as R4B's model accepts it (JSON-ready), or FhirError(422) naming every bad element."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise FhirError(422, "structure", "not a FHIR resource: no resourceType", [where or "resourceType"])
    kind = resource["resourceType"]
    try:
        model = get_fhir_model_class(kind)
    except KeyError:
        raise FhirError(422, "not-supported", f"unknown resourceType {kind!r}", [f"{where}resourceType"]) from None
    try:
        return model.parse_obj(resource).dict(exclude_none=True)
    except ValidationError as exc:
        root = where.rstrip(".") or kind
        issues = [{"severity": "error", "code": "invalid", "diagnostics": e["msg"],
                   "expression": [".".join([root, *(str(p) for p in e["loc"] if p != "__root__")])]}
                  for e in exc.errors()]
        err = FhirError(422, "invalid", issues[0]["diagnostics"])
        err.outcome = outcome(issues)
        raise err from None


def _json(value: Any) -> Any:
    """fhir.resources' dict() holds dates and Decimals; the wire holds strings."""
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def checked(resource: dict[str, Any]) -> dict[str, Any]:
    return _json(validate(resource))


def _org(code: str | None) -> dict[str, Any]:
    return {"identifier": {"system": ODS, "value": code}} if code else {"display": "unknown"}


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- export ------------------------------------------------------------------------------------------------
def patient_resource(ctx: s.Ctx, person: m.Person) -> dict[str, Any]:
    """UK Core style: the NHS number (from the re-identification store, audited), name, birth date, GP."""
    number = s.reidentification().nhs_number_of(ctx.auditor, person.id, why=f"{ctx.via} (FHIR Patient)")
    resource = {"resourceType": "Patient", "id": person.id, "meta": {"profile": [UK_CORE + "Patient"]},
                "name": [{"use": "official", "family": person.family_name, "given": [person.given_name]}],
                "birthDate": person.birth_date.isoformat(), "generalPractitioner": [_org(person.practice_id)]}
    if number:
        resource["identifier"] = [{"system": NHS_NUMBER, "value": number}]
    return resource


def service_request(referral: m.Referral) -> dict[str, Any]:
    status = {"closed": "completed"}.get(referral.status, "active")
    notes = [f"{label}: {text}" for label, text in (("mobility", referral.mobility),
                                                    ("carer situation", referral.carer_situation)) if text]
    resource = {
        "resourceType": "ServiceRequest", "id": str(referral.id), "meta": {"profile": [UK_CORE + "ServiceRequest"]},
        "status": status, "intent": "order",
        "category": [{"coding": [{"system": SOURCE, "code": referral.source}]}],
        "subject": {"reference": f"Patient/{referral.person_id}"} if referral.person_id else {"display": "unmatched"},
        "authoredOn": referral.created_at.isoformat(), "requester": _org(referral.from_organisation_id),
        "performer": [_org(referral.to_organisation_id)], "reasonCode": [{"text": referral.needs}],
        "orderDetail": [{"coding": [{"system": SERVICE_SYSTEM, "code": c}]} for c in referral.recommended_services],
        "note": [{"text": n} for n in notes]}
    if referral.expected_discharge_date:
        resource["occurrenceDateTime"] = referral.expected_discharge_date.isoformat()
    return resource


TASK_STATUS = {"offered": "requested", "accepted": "accepted", "declined": "rejected", "completed": "completed",
               "cancelled": "cancelled"}


def task(t: m.Task) -> dict[str, Any]:
    resource = {
        "resourceType": "Task", "id": str(t.id), "status": TASK_STATUS[t.status], "intent": "order",
        "code": {"coding": [{"system": SERVICE_SYSTEM, "code": t.service}]},
        "for": {"reference": f"Patient/{t.person_id}"},
        "authoredOn": t.created_at.isoformat(), "owner": _org(t.organisation_id),
        "restriction": {"period": {"end": t.due_at.isoformat()}}}
    if t.referral_id:
        resource["basedOn"] = [{"reference": f"ServiceRequest/{t.referral_id}"}]
    if t.decline_reason:
        resource["statusReason"] = {"text": t.decline_reason}
    if t.note:
        resource["note"] = [{"text": t.note}]
    if t.outcome:
        resource["output"] = [{"type": {"text": "outcome"}, "valueString": t.outcome}]
    return resource


def care_plan(plan: m.CarePlan, version: m.CarePlanVersion) -> dict[str, Any]:
    """The plan's current version: goals as contained Goals, actions as activities, end-of-life preferences
    and named contacts as (local) extensions, since UK Core has no EPaCCS profile yet."""
    c = version.content
    eol = c.get("end_of_life") or {}
    goals = [{"resourceType": "Goal", "id": f"goal{i}", "lifecycleStatus": "active",
              "description": {"text": g["goal"]}, "subject": {"reference": f"Patient/{plan.person_id}"},
              **({"target": [{"dueDate": g["by"]}]} if g.get("by") else {})}
             for i, g in enumerate(c.get("goals") or [], start=1)]
    activities = [{"detail": {"status": "completed" if a.get("done") else "not-started", "description": a["action"],
                              **({"performer": [{"display": a["who"]}]} if a.get("who") else {}),
                              **({"scheduledString": a["due"]} if a.get("due") else {})}}
                  for a in c.get("actions") or []]
    extensions = [{"url": EOL, "extension": [{"url": k, "valueString": eol[k]} for k in
                                             ("preferred_place_of_care", "preferred_place_of_death",
                                              "resuscitation_decision", "contact") if eol.get(k)]}]
    extensions += [{"url": CONTACT, "extension": [{"url": k, "valueString": v} for k, v in n.items() if v]}
                   for n in c.get("named_contacts") or []]
    resource = {
        "resourceType": "CarePlan", "id": plan.person_id,
        "meta": {"versionId": str(version.number), "lastUpdated": version.saved_at.isoformat()},
        "extension": [e for e in extensions if e["extension"]], "status": "active", "intent": "plan",
        "title": "Personalised care and support plan", "description": c.get("summary") or None,
        "subject": {"reference": f"Patient/{plan.person_id}"}, "created": plan.created_at.isoformat(),
        "author": {"identifier": {"system": ODS, "value": version.organisation_id},
                   "display": version.author.username},
        "contained": goals, "goal": [{"reference": f"#{g['id']}"} for g in goals], "activity": activities,
        "note": [{"text": f"anticipatory care: {c['anticipatory_care']}"}] if c.get("anticipatory_care") else []}
    return {k: v for k, v in resource.items() if v not in (None, [], "")}


def care_team(person: m.Person) -> dict[str, Any]:
    members = person.care_team.filter(ended_at__isnull=True).select_related("user").order_by("added_at", "id")
    return {"resourceType": "CareTeam", "id": person.id, "status": "active",
            "subject": {"reference": f"Patient/{person.id}"},
            "participant": [{"role": [{"text": t.role_in_team}], "member": _org(t.organisation_id),
                             "period": {"start": t.added_at.isoformat()}} for t in members]}


def consent(c: m.Consent) -> dict[str, Any]:
    return {"resourceType": "Consent", "id": str(c.id), "status": "active" if c.status == "given" else "inactive",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                  "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}],
                          "text": "consent to share the care plan beyond the registered practice"}],
            "patient": {"reference": f"Patient/{c.person_id}"}, "dateTime": c.recorded_at.isoformat(),
            "policyRule": {"text": "share with the organisations caring for the person"},
            "provision": {"type": "permit" if c.status == "given" else "deny"},
            **({"sourceAttachment": {"title": c.note}} if c.note else {})}


AUDIT_ACTIONS = {"read": "R", "list": "R", "export": "R", "write": "U", "reidentify": "E", "audit": "R",
                 "load": "C"}


def audit_event(r: dict[str, Any]) -> dict[str, Any]:
    """An audit record as an AuditEvent; the person it is about (the record's person column) is the entity."""
    entity: dict[str, Any] = {"description": r["what"][:1000]}
    if r.get("person"):
        entity["what"] = {"reference": f"Patient/{r['person']}"}
    return {"resourceType": "AuditEvent", "id": str(r["id"]),
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
            "action": AUDIT_ACTIONS.get(r["action"], "E"), "recorded": _recorded(r["recorded_at"]), "outcome": "0",
            "purposeOfEvent": [{"text": r["purpose"]}] if r.get("purpose") else [],
            "agent": [{"who": {"display": r["actor_user"]}, "requestor": True,
                       "role": [{"text": r["actor_roles"]}], "name": r["actor_user"]}],
            "source": {"observer": {"display": "icsys care service"}, "site": r["destination"][:200]},
            "entity": [{**entity, **({"detail": [{"type": "people", "valueString": str(r["people"])}]}
                                     if r.get("people") is not None else {})}]}


def _recorded(value: Any) -> str:
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return text if ("+" in text[10:] or text.endswith("Z")) else text + "+00:00"


def _strip(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if v not in ([], None)}


# --- reads and searches (the policy, then one audit record with the count) ----------------------------------
def read(ctx: s.Ctx, kind: str, rid: str) -> dict[str, Any]:
    found, _ = search(ctx, kind, patient=None, rid=rid)
    if not found:
        raise FhirError(404, "not-found", f"no {kind}/{rid} that you may see")
    return found[0]


DEFAULT_COUNT, MAX_COUNT = 50, 200  # a searchset page: _count asks for fewer or more, up to MAX_COUNT


@dataclass(frozen=True)
class Page:
    """Which page of a search: `count` resources from `offset` (0: the total only, FHIR's _count=0)."""

    offset: int = 0
    count: int = DEFAULT_COUNT

    @classmethod
    def parse(cls, count: str | None, offset: str | None) -> Page:
        """From the search's _count and _offset; more than MAX_COUNT is served as MAX_COUNT (FHIR lets a server
        return fewer than asked); anything but a whole number 0 or more is refused, naming the parameter."""
        values = []
        for name, text, default in (("_count", count, DEFAULT_COUNT), ("_offset", offset, 0)):
            if text is None:
                values.append(default)
                continue
            if not text.strip().isdigit():
                raise FhirError(422, "value", f"{name} {text!r}: a whole number, 0 or more", [name])
            values.append(int(text))
        return cls(offset=values[1], count=min(values[0], MAX_COUNT))

    def cut(self, rows: Any) -> Any:
        return rows[self.offset:self.offset + self.count]


def search(ctx: s.Ctx, kind: str, patient: str | None, rid: str | None = None,
           page: Page | None = None) -> tuple[list[dict[str, Any]], int]:
    """One page of the resources of `kind` for one patient (or the one by id), each checked by the policy,
    and how many there are in all; only the page is built, validated and released, and audited once."""
    page = page or Page(count=MAX_COUNT)
    try:
        if kind == "AuditEvent":
            return _audit_events(ctx, patient, rid, page)
        resources, total = _gather(ctx, kind, patient, rid, page)
    except s.CareError as exc:
        raise from_care_error(exc) from exc
    out = [checked(_strip(r)) for r in resources]
    people = len({(r.get("subject") or r.get("for") or r.get("patient") or {}).get("reference", r.get("id"))
                  for r in out})
    subject = patient or rid
    ctx.record(READ, f"fhir {kind} x{len(out)}" + (f" of {total} from {page.offset}" if total > len(out) else "")
               + f" person={subject}", people, patient or (rid if kind == "Patient" else None))
    return out, total


def _person(ctx: s.Ctx, kind: str, patient: str | None, rid: str | None) -> m.Person:
    pid = patient if patient else rid
    if kind in ("CarePlan",):
        return s.person_for(ctx, pid, record=s.CARE_PLAN)
    return s.person_for(ctx, pid)


def _gather(ctx: s.Ctx, kind: str, patient: str | None, rid: str | None,
            page: Page) -> tuple[list[dict[str, Any]], int]:
    if kind in ("Patient", "CarePlan", "CareTeam"):  # one per person: the id is the person's
        if patient and rid and patient != rid:
            return [], 0
        person = _person(ctx, kind, patient, rid)
        if kind == "Patient":
            return page.cut([patient_resource(ctx, person)]), 1
        if kind == "CareTeam":
            return page.cut([care_team(person)]), 1
        version = s._current_version(person)
        return (page.cut([care_plan(version.plan, version)]), 1) if version else ([], 0)
    model = {"ServiceRequest": m.Referral, "Task": m.Task, "Consent": m.Consent}[kind]
    if rid is not None:
        if not rid.isdigit():
            return [], 0
        row = model.objects.filter(pk=int(rid)).first()
        if row is None or row.person_id is None:
            raise s.NotFound(f"no {kind}/{rid} that you may see")
        if patient and row.person_id != patient:
            return [], 0
        s.person_for(ctx, row.person_id)
        rows, total = page.cut([row]), 1
    else:
        person = s.person_for(ctx, patient)
        matches = model.objects.filter(person=person)
        total = matches.count()
        rows = list(page.cut(matches.order_by("id"))) if page.count and page.offset < total else []
    build = {"ServiceRequest": service_request, "Task": task, "Consent": consent}[kind]
    return [build(r) for r in rows], total


def _audit_events(ctx: s.Ctx, patient: str | None, rid: str | None,
                  page: Page) -> tuple[list[dict[str, Any]], int]:
    try:
        ctx.require_role("privacy_officer", doing="export the audit log")
    except s.CareError as exc:
        raise from_care_error(exc) from exc
    database = ctx.auditor.database
    if rid is not None:
        records = [r for r in database.records(person=patient or None) if str(r["id"]) == rid]
        total = len(records)
        records = page.cut(records)
    else:  # every access to one person (indexed), or every record: a page of them read
        total = database.count(person=patient or None)
        records = database.records(person=patient or None, limit=page.count, offset=page.offset) \
            if page.count else []
    out = [checked(_strip(audit_event(r))) for r in records]
    ctx.record("audit", f"fhir AuditEvent x{len(out)}" + (f" of {total} from {page.offset}" if total > len(out)
                                                          else "") + (f" person={patient}" if patient else ""),
               None, patient)
    return out, total


EXPORTED = ("Patient", "ServiceRequest", "Task", "CarePlan", "CareTeam", "Consent", "AuditEvent")
IMPORTED = ("Patient", "ServiceRequest", "Task", "CarePlan", "CareTeam", "Consent")


def capability_statement(base: str, when: date) -> dict[str, Any]:
    """What this server does (FHIR `metadata`): read and search by patient of each resource it exports, a
    batch or transaction Bundle of those it imports, CarePlan versioned with If-Match; bearer tokens."""

    def resource(kind: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": kind, "interaction": [{"code": "read"}, {"code": "search-type"}],
                                 "searchParam": [{"name": "patient", "type": "reference",
                                                  "documentation": "the person (required, but for AuditEvent)"}]}
        if kind == "CarePlan":
            entry |= {"versioning": "versioned-update", "conditionalUpdate": False,
                      "documentation": "an existing plan changes only with request.ifMatch naming its current "
                                       "version (else 412); every version is kept"}
        return entry

    return checked({
        "resourceType": "CapabilityStatement", "status": "active", "date": when.isoformat(), "kind": "instance",
        "publisher": "icsys", "fhirVersion": "4.0.1", "format": ["json"],
        "software": {"name": "icsys care coordination"},
        "implementation": {"description": "icsys care coordination FHIR API", "url": base},
        "rest": [{"mode": "server",
                  "documentation": f"searchset Bundles are paged: _count (default {DEFAULT_COUNT}, at most "
                                   f"{MAX_COUNT}; 0 gives only the total) and _offset; Bundle.total counts every "
                                   "match and Bundle.link gives self, first, last, next and previous",
                  "security": {"description": "Bearer tokens (POST /api/auth/token); every read and search is "
                                              "decided by the access policy and audited"},
                  "resource": [resource(kind) for kind in EXPORTED],
                  "interaction": [{"code": "transaction"}, {"code": "batch"}]}]})


def care_plan_history(ctx: s.Ctx, person_id: str, base: str) -> dict[str, Any]:
    """Every version of one person's care plan, newest first, as a FHIR history Bundle (the policy and consent
    decide as for the plan itself; audited once with the count)."""
    try:
        versions = s.care_plan_versions(ctx, person_id)
    except s.CareError as exc:
        raise from_care_error(exc) from exc
    if not versions:
        raise FhirError(404, "not-found", f"no CarePlan/{person_id} that you may see")
    entries = [{"fullUrl": f"{base}/CarePlan/{person_id}/_history/{v.number}",
                "resource": checked(_strip(care_plan(v.plan, v))),
                "request": {"method": "POST" if v.number == 1 else "PUT", "url": f"CarePlan/{person_id}"},
                "response": {"status": "201 Created" if v.number == 1 else "200 OK",
                             "lastModified": v.saved_at.isoformat()}}
               for v in sorted(versions, key=lambda v: v.number, reverse=True)]
    return {"resourceType": "Bundle", "type": "history", "total": len(entries), "entry": entries}


def bundle(kind: str, resources: list[dict[str, Any]], base: str, *, total: int | None = None,
           page: Page | None = None, query: dict[str, str] | None = None) -> dict[str, Any]:
    """A searchset Bundle of one page: `total` matches in all, links to this page (self), the first and
    last, and the next and previous where there are some (`query`: the search's other parameters)."""
    total = len(resources) if total is None else total
    out: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total}
    if page is not None:
        def url(offset: int) -> str:
            return f"{base}/{kind}?" + urlencode({**(query or {}), "_count": page.count, "_offset": offset})

        last = max(total - 1, 0) // page.count * page.count if page.count else 0
        links = [("self", page.offset), ("first", 0), ("last", last)]
        if page.count and page.offset + page.count < total:
            links.append(("next", page.offset + page.count))
        if page.count and page.offset > 0:
            links.append(("previous", max(page.offset - page.count, 0)))
        out["link"] = [{"relation": relation, "url": url(offset)} for relation, offset in links]
    out["entry"] = [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r,
                     "search": {"mode": "match"}} for r in resources]
    return out


def import_bundle(ctx: s.Ctx, user: m.User, data: Any) -> dict[str, Any]:
    """A batch (each entry on its own) or a transaction (all or nothing) of resources; the response Bundle."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise FhirError(422, "structure", "POST a Bundle", ["Bundle.resourceType"])
    kind = data.get("type")
    if kind not in ("batch", "transaction"):
        raise FhirError(422, "value", f"Bundle.type {kind!r}: batch or transaction", ["Bundle.type"])
    entries = data.get("entry") or []
    if not isinstance(entries, list):
        raise FhirError(422, "structure", "Bundle.entry must be a list", ["Bundle.entry"])
    order = sorted(range(len(entries)), key=lambda i: _rank(entries[i]))
    importer = _Importer(ctx, user)
    results: dict[int, dict[str, Any]] = {}
    if kind == "transaction":
        with transaction.atomic():  # any refusal rolls back every entry
            for i in order:
                results[i] = importer.entry(i, entries[i])
    else:
        for i in order:
            try:
                with transaction.atomic():
                    results[i] = importer.entry(i, entries[i])
            except FhirError as exc:
                results[i] = {"response": {"status": str(exc.status), "outcome": exc.outcome}}
    return {"resourceType": "Bundle", "type": f"{kind}-response",
            "entry": [results[i] for i in range(len(entries))]}


def _rank(entry: Any) -> int:
    kind = (entry.get("resource") or {}).get("resourceType") if isinstance(entry, dict) else None
    return IMPORT_ORDER.index(kind) if kind in IMPORT_ORDER else len(IMPORT_ORDER)


def _ods(ref: Any, where: str) -> str:
    ident = (ref or {}).get("identifier") or {}
    if ident.get("system") != ODS or not ident.get("value"):
        raise FhirError(422, "required", f"{where}: an organisation by ODS code ({ODS})", [where])
    return str(ident["value"])


def _coding(concept: Any, system: str, where: str) -> str:
    for c in (concept or {}).get("coding") or []:
        if c.get("system") == system and c.get("code"):
            return str(c["code"])
    raise FhirError(422, "required", f"{where}: a coding of {system}", [where])


def _same_person(known: m.Person, name: dict[str, Any], birth_date: str | None, where: str) -> None:
    """A known NHS number whose birth date or family name differs is more likely a wrong number than a
    changed person: refused for someone to check, never linked quietly."""
    if birth_date and birth_date != known.birth_date.isoformat():
        raise FhirError(409, "conflict", "the NHS number is known with another birth date: check the number",
                        [f"{where}.birthDate"])
    family = (name.get("family") or "").strip().casefold()
    if family and family != known.family_name.strip().casefold():
        raise FhirError(409, "conflict", "the NHS number is known with another family name: check the number",
                        [f"{where}.name[0].family"])


class _Importer:
    def __init__(self, ctx: s.Ctx, user: m.User) -> None:
        self.ctx, self.user = ctx, user
        self.made: dict[str, str] = {}  # fullUrl -> "Type/id" of what this Bundle created
        self.registered: set[str] = set()  # people this Bundle registered: its referral makes the relationship

    def entry(self, i: int, entry: Any) -> dict[str, Any]:
        where = f"Bundle.entry[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            raise FhirError(422, "structure", f"{where}: no resource", [f"{where}.resource"])
        resource = validate(entry["resource"], f"{where}.resource.")
        kind = resource["resourceType"]
        request = entry.get("request") or {}
        handler = getattr(self, f"_{kind}", None)
        if handler is None:
            raise FhirError(422, "not-supported", f"{kind} cannot be imported (AuditEvent is written by the "
                            "service itself)", [f"{where}.resource.resourceType"])
        try:
            location, status = handler(_json(resource), request, f"{where}.resource")
        except s.CareError as exc:
            raise from_care_error(exc, f"{where}.resource") from exc
        if entry.get("fullUrl"):
            self.made[str(entry["fullUrl"])] = location
        return {"response": {"status": status, "location": location}}

    def _person_ref(self, ref: Any, where: str) -> m.Person:
        target = (ref or {}).get("reference") or ""
        target = self.made.get(target, target)
        if not target.startswith("Patient/"):
            raise FhirError(422, "required", f"{where}: a Patient reference (Patient/ID or an entry's fullUrl)",
                            [where])
        person_id = target.removeprefix("Patient/")
        if person_id in self.registered:
            return m.Person.objects.get(pk=person_id)
        return s.person_for(self.ctx, person_id)

    def _Patient(self, r: dict[str, Any], request: dict, where: str) -> tuple[str, str]:
        self.ctx.require(s.WRITE)
        numbers = [x.get("value") for x in r.get("identifier") or [] if x.get("system") == NHS_NUMBER]
        if not numbers or not numbers[0]:
            raise FhirError(422, "required", f"{where}.identifier: an NHS number ({NHS_NUMBER})",
                            [f"{where}.identifier"])
        number = s._checked_number(numbers[0], f"{where}.identifier")
        link, allow = s.reidentification(), s.settings.ICSYS_ALLOW_TEST_NHS_NUMBERS
        why = f"{self.ctx.via} (FHIR Patient import)"
        person_id = link.resolve(self.ctx.auditor, number, why=why, allow_synthetic=allow)
        name = (r.get("name") or [{}])[0]
        if person_id and m.Person.objects.filter(pk=person_id).exists():
            known = s.person_for(self.ctx, person_id)  # known: the importer must have a relationship
            _same_person(known, name, r.get("birthDate"), where)
            return f"Patient/{person_id}", "200 OK"
        if not name.get("family") or not name.get("given") or not r.get("birthDate"):
            raise FhirError(422, "required", f"{where}: a new person needs name.family, name.given and birthDate",
                            [f"{where}.name"])
        gp = r.get("generalPractitioner") or []
        practice = s._organisation(_ods(gp[0] if gp else None, f"{where}.generalPractitioner[0]"),
                                   f"{where}.generalPractitioner[0]", ("practice",))
        person_id = person_id or link.link(self.ctx.auditor, number, why=why, allow_synthetic=allow)
        m.Person.objects.create(id=person_id, given_name=name["given"][0], family_name=name["family"],
                                birth_date=r["birthDate"], practice=practice)
        self.ctx.record(s.WRITE, f"care.person person={person_id} (FHIR import)", 1, person_id)
        self.registered.add(person_id)
        return f"Patient/{person_id}", "201 Created"

    def _ServiceRequest(self, r: dict[str, Any], request: dict, where: str) -> tuple[str, str]:
        person = self._person_ref(r.get("subject"), f"{where}.subject")
        number = s.reidentification().nhs_number_of(self.ctx.auditor, person.id, why=f"{self.ctx.via} (referral)")
        notes = {n["text"].split(": ", 1)[0]: n["text"].split(": ", 1)[1] for n in r.get("note") or []
                 if ": " in n.get("text", "")}
        performer = r.get("performer") or []
        data = {"nhs_number": number or "", "given_name": person.given_name, "family_name": person.family_name,
                "birth_date": person.birth_date, "registered_practice": person.practice_id,
                "source": _coding((r.get("category") or [None])[0], SOURCE, f"{where}.category[0]"),
                "from_organisation": _ods(r.get("requester"), f"{where}.requester"),
                "to_organisation": _ods(performer[0] if performer else None, f"{where}.performer[0]"),
                "needs": ((r.get("reasonCode") or [{}])[0]).get("text") or "",
                "mobility": notes.get("mobility", ""), "carer_situation": notes.get("carer situation", ""),
                "recommended_services": [_coding(d, SERVICE_SYSTEM, f"{where}.orderDetail[{j}]")
                                         for j, d in enumerate(r.get("orderDetail") or [])],
                "expected_discharge_date": (r.get("occurrenceDateTime") or "")[:10] or None}
        if data["source"] not in dict(m.REFERRAL_SOURCES):
            raise FhirError(422, "code-invalid", f"referral source {data['source']!r}", [f"{where}.category[0]"])
        if not data["needs"]:
            raise FhirError(422, "required", "the needs (reasonCode[0].text)", [f"{where}.reasonCode[0].text"])
        referral = s.create_referral(self.ctx, self.user, data)
        return f"ServiceRequest/{referral.id}", "201 Created"

    def _Task(self, r: dict[str, Any], request: dict, where: str) -> tuple[str, str]:
        if r.get("status") != "requested":
            raise FhirError(422, "business-rule", "a Task is imported as requested; the service accepts it here",
                            [f"{where}.status"])
        based = [self.made.get(b.get("reference", ""), b.get("reference", "")) for b in r.get("basedOn") or []]
        referral = next((b.removeprefix("ServiceRequest/") for b in based if b.startswith("ServiceRequest/")), "")
        if not referral.isdigit():
            raise FhirError(422, "required", "basedOn: the ServiceRequest (referral) it comes from",
                            [f"{where}.basedOn"])
        service = _coding(r.get("code"), SERVICE_SYSTEM, f"{where}.code")
        if service not in dict(m.SERVICES):
            raise FhirError(422, "code-invalid", f"unknown service {service!r}", [f"{where}.code"])
        spec = {"service": service, "organisation": _ods(r.get("owner"), f"{where}.owner"),
                "note": "; ".join(n.get("text", "") for n in r.get("note") or [])}
        made = s.triage(self.ctx, self.user, int(referral), [spec])
        return f"Task/{made[0].id}", "201 Created"

    def _CarePlan(self, r: dict[str, Any], request: dict, where: str) -> tuple[str, str]:
        from icsys.care.schemas import CarePlanContent

        person = self._person_ref(r.get("subject"), f"{where}.subject")
        for j, e in enumerate(r.get("extension") or []):  # never drop what a sender meant us to keep
            if e.get("url") not in (EOL, CONTACT):
                raise FhirError(422, "not-supported", f"extension {e.get('url')!r} is not understood here: "
                                "nothing of the plan would hold it", [f"{where}.extension[{j}]"])
        content = plan_content(r)
        try:
            content = CarePlanContent.model_validate(content).model_dump(mode="json")
        except PydanticError as exc:  # the plan's own rules (lengths, codes), named by the plan's field
            first = exc.errors()[0]
            raise FhirError(422, "invalid", first["msg"],
                            [f"{where} (care plan {'.'.join(map(str, first['loc']))})"]) from None
        if_match = str(request.get("ifMatch") or "").removeprefix("W/").strip('"')
        exists = m.CarePlan.objects.filter(person=person).exists()
        if exists and not if_match.isdigit():
            raise FhirError(412, "conflict", "the person has a care plan: send request.ifMatch with the version "
                            "you edited (meta.versionId)", [f"{where}.meta.versionId"])
        plan, version = s.save_care_plan(self.ctx, self.user, person.id, content, int(if_match) if exists else None)
        return f"CarePlan/{plan.person_id}/_history/{version.number}", "200 OK" if exists else "201 Created"

    def _CareTeam(self, r: dict[str, Any], request: dict, where: str) -> tuple[str, str]:
        person = self._person_ref(r.get("subject"), f"{where}.subject")
        current = set(person.care_team.filter(ended_at__isnull=True).values_list("organisation_id", "role_in_team"))
        for j, p in enumerate(r.get("participant") or []):
            code = _ods(p.get("member"), f"{where}.participant[{j}].member")
            role = ((p.get("role") or [{}])[0]).get("text") or "member"
            if (code, role) not in current:
                s.add_to_care_team(self.ctx, person.id, code, role)
        return f"CareTeam/{person.id}", "200 OK"

    def _Consent(self, r: dict[str, Any], request: dict, where: str) -> tuple[str, str]:
        person = self._person_ref(r.get("patient"), f"{where}.patient")
        status = {"active": "given", "inactive": "withdrawn", "rejected": "withdrawn"}.get(r.get("status"))
        if status is None:
            raise FhirError(422, "code-invalid", "status: active (given) or inactive (withdrawn)",
                            [f"{where}.status"])
        note = ((r.get("sourceAttachment") or {}).get("title")) or ""
        made = s.record_consent(self.ctx, self.user, person.id, status, note)
        return f"Consent/{made.id}", "201 Created"


def plan_content(r: dict[str, Any]) -> dict[str, Any]:
    """A CarePlan resource back into the care plan's content (the inverse of `care_plan`)."""
    contained = {g.get("id"): g for g in r.get("contained") or [] if g.get("resourceType") == "Goal"}
    goals = []
    for ref in r.get("goal") or []:
        g = contained.get(str(ref.get("reference", "")).lstrip("#"))
        if g:
            goals.append({"goal": (g.get("description") or {}).get("text") or "",
                          "by": ((g.get("target") or [{}])[0]).get("dueDate")})
    actions = [{"action": d.get("description") or "", "who": ((d.get("performer") or [{}])[0]).get("display") or "",
                "due": d.get("scheduledString"), "done": d.get("status") == "completed"}
               for d in (a.get("detail") or {} for a in r.get("activity") or [])]
    ext = {e["url"]: e for e in r.get("extension") or []}
    eol = {x["url"]: x.get("valueString", "") for x in (ext.get(EOL) or {}).get("extension") or []}
    contacts = [{x["url"]: x.get("valueString", "") for x in e.get("extension") or []}
                for e in r.get("extension") or [] if e.get("url") == CONTACT]
    notes = [n.get("text", "") for n in r.get("note") or []]
    anticipatory = next((n.removeprefix("anticipatory care: ") for n in notes if n.startswith("anticipatory care: ")),
                        "")
    return {"summary": r.get("description") or "", "goals": goals, "actions": actions, "named_contacts": contacts,
            "anticipatory_care": anticipatory,
            "end_of_life": {"resuscitation_decision": "not_yet_discussed", **eol}}
