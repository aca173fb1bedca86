"""FHIR R4 endpoints (mounted at /api/fhir): read, search by patient, and a Bundle import (batch, or
transaction: all or nothing). Thin, like the care API: the mapping, the policy and the audit are in
`icsys.care.fhir` and the services it calls. Every refusal is an OperationOutcome."""

from __future__ import annotations

import json
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Status

from icsys.care import fhir
from icsys.care import services as s

router = Router(tags=["fhir"])
ResourceType = Literal["Patient", "ServiceRequest", "Task", "CarePlan", "CareTeam", "Consent", "AuditEvent"]
OUTCOMES = {400: dict, 403: dict, 404: dict, 409: dict, 412: dict, 422: dict}
BUNDLE_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "description": "a FHIR Bundle of type batch or transaction",
    "properties": {"resourceType": {"type": "string", "enum": ["Bundle"]},
                   "type": {"type": "string", "enum": ["batch", "transaction"]},
                   "entry": {"type": "array", "items": {"type": "object"}}},
    "required": ["resourceType", "type"]}}}}}


def _ctx(request: HttpRequest) -> s.Ctx:
    return s.Ctx(request.actor, via=f"api {request.method} {request.path}", auditor=request.auditor)


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/api/fhir").rstrip("/")


@router.get("/metadata", response={200: dict}, auth=None)
def metadata(request: HttpRequest):
    """The CapabilityStatement: what this FHIR server reads, searches and imports (no personal data)."""
    from django.utils import timezone

    return fhir.capability_statement(_base(request), timezone.localdate())


@router.get("/CarePlan/{rid}/_history", response={200: dict, **OUTCOMES})
def care_plan_history(request: HttpRequest, rid: str):
    """Every version of a care plan, newest first (a history Bundle)."""
    try:
        return Status(200, fhir.care_plan_history(_ctx(request), rid, _base(request)))
    except fhir.FhirError as exc:
        return Status(exc.status, exc.outcome)


@router.get("/{resource_type}", response={200: dict, **OUTCOMES})
def search(request: HttpRequest, resource_type: ResourceType, patient: str | None = None,
           count: str | None = Query(None, alias="_count", description=f"resources a page (default "
                                     f"{fhir.DEFAULT_COUNT}, at most {fhir.MAX_COUNT}; 0: the total only)"),
           offset: str | None = Query(None, alias="_offset", description="the first resource of the page (0)")):
    """A searchset Bundle of one patient's resources (AuditEvent: the privacy officer's, patient optional), a
    page at a time: Bundle.total counts every match, Bundle.link gives self, first, last, next and previous."""
    if patient is None and resource_type != "AuditEvent":
        return Status(422, fhir.outcome([{"severity": "error", "code": "required",
                                          "diagnostics": "search by patient: ?patient=ID", "expression": ["patient"]}]))
    try:
        page = fhir.Page.parse(count, offset)
        found, total = fhir.search(_ctx(request), resource_type, patient, page=page)
    except fhir.FhirError as exc:
        return Status(exc.status, exc.outcome)
    query = {"patient": patient} if patient is not None else {}
    return Status(200, fhir.bundle(resource_type, found, _base(request), total=total, page=page, query=query))


@router.get("/{resource_type}/{rid}", response={200: dict, **OUTCOMES})
def read(request: HttpRequest, resource_type: ResourceType, rid: str):
    try:
        return Status(200, fhir.read(_ctx(request), resource_type, rid))
    except fhir.FhirError as exc:
        return Status(exc.status, exc.outcome)


@router.post("", response={200: dict, **OUTCOMES}, openapi_extra=BUNDLE_BODY)
def import_bundle(request: HttpRequest):
    """A Bundle of Patient, ServiceRequest, Task, CarePlan, CareTeam and Consent resources: a batch (each entry
    on its own) or a transaction (every entry or none)."""
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        return Status(400, fhir.outcome([{"severity": "error", "code": "structure",
                                          "diagnostics": f"not JSON: {exc}"}]))
    try:
        return Status(200, fhir.import_bundle(_ctx(request), request.care_user, data))
    except fhir.FhirError as exc:
        return Status(exc.status, exc.outcome)
