"""The care service's API (a django-ninja router mounted at /api/ by icsys.web). Each endpoint is thin:
it builds the `Ctx` from the request's actor and calls `icsys.care.services`; access, audit and the rules
live there and in `icsys.access.policy`, never here."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Header, Query, Router, Status

from icsys.care import services as s
from icsys.care.schemas import (
    AcceptIn,
    AuditOut,
    BreakGlassIn,
    BreakGlassOut,
    CarePlanContent,
    CarePlanOut,
    CareTeamIn,
    CareTeamOut,
    ChcChecklistIn,
    ChcDecisionIn,
    ChcOut,
    ChcSummaryOut,
    CompleteIn,
    ConsentIn,
    ConsentOut,
    DeclineIn,
    DischargeIn,
    FieldErrors,
    Message,
    NotificationOut,
    OrganisationOut,
    PersonDetailOut,
    PersonOut,
    ReferralIn,
    ReferralOut,
    ResolveIn,
    ReviewIn,
    TaskOut,
    TimelineOut,
    TriageIn,
    UrgentCareOut,
)

router = Router(tags=["care"])
ERRORS = {403: Message, 404: Message, 409: Message}


def ctx(request: HttpRequest) -> s.Ctx:
    return s.Ctx(request.actor, via=f"api {request.method} {request.path}", auditor=request.auditor)


LIMIT = Query(s.DEFAULT_LIMIT, ge=1, le=s.MAX_LIMIT,
              description=f"rows a page (default {s.DEFAULT_LIMIT}, at most {s.MAX_LIMIT})")
OFFSET = Query(0, ge=0, le=s.MAX_OFFSET, description="the first row of the page (0); take it from the next link")

def paged(request: HttpRequest, response: HttpResponse, page: s.Page, **keep: Any) -> list:
    """The page's rows, its total and next link in headers (the body stays a list for existing clients); the
    link carries `keep` too (what holds a walk to the list as it began)."""
    response["X-Total-Count"] = str(page.total)
    if page.next_offset is not None:
        query = request.GET.copy()
        query["limit"], query["offset"] = str(page.paging.limit), str(page.next_offset)
        for k, v in keep.items():  # set, not QueryDict.update, which would add a value each page
            if v is not None:
                query[k] = str(v)
        response["Link"] = f'<{request.path}?{query.urlencode()}>; rel="next"'
    return page.rows


def plan_out(plan, version) -> dict:
    return {"person_id": plan.person_id, "version": version.number, "content": version.content,
            "author": version.author.username, "organisation": version.organisation_id, "saved_at": version.saved_at}


@router.get("/organisations", response=list[OrganisationOut], tags=["organisations"])
def organisations(request: HttpRequest, kind: str | None = None):
    """The organisations of the system (no personal data)."""
    from icsys.care.models import Organisation

    qs = Organisation.objects.order_by("code")
    return qs.filter(kind=kind) if kind else qs


# --- referrals -----------------------------------------------------------------------------------------
@router.post("/referrals", response={201: ReferralOut, **ERRORS, 422: FieldErrors})
def create_referral(request: HttpRequest, body: ReferralIn):
    """A referral into the SPoA (the discharge support form). Unknown NHS numbers wait in the unmatched queue."""
    return Status(201, s.create_referral(ctx(request), request.care_user, body.model_dump()))


@router.get("/referrals", response={200: list[ReferralOut], **ERRORS, 422: FieldErrors})
def list_referrals(request: HttpRequest, response: HttpResponse, limit: int = LIMIT, offset: int = OFFSET):
    """Referrals to, from or about the actor's organisations' people, oldest waiting first.
    Paged: X-Total-Count and a Link rel=next."""
    return paged(request, response, s.referrals_for(ctx(request), paging=s.Paging(limit, offset)))


@router.get("/referrals/unmatched", response={200: list[ReferralOut], **ERRORS, 422: FieldErrors})
def unmatched_referrals(request: HttpRequest, response: HttpResponse, limit: int = LIMIT, offset: int = OFFSET):
    """The SPoA's queue of referrals whose NHS number found no one, oldest waiting first.
    Paged: X-Total-Count and a Link rel=next."""
    return paged(request, response, s.referrals_for(ctx(request), unmatched=True, paging=s.Paging(limit, offset)))


@router.get("/referrals/{referral_id}", response={200: ReferralOut, **ERRORS})
def read_referral(request: HttpRequest, referral_id: int):
    return s.read_referral(ctx(request), referral_id)


@router.post("/referrals/{referral_id}/resolve", response={200: ReferralOut, **ERRORS, 422: FieldErrors})
def resolve_referral(request: HttpRequest, referral_id: int, body: ResolveIn):
    return s.resolve_referral(ctx(request), referral_id, nhs_number=body.nhs_number, register_new=body.register_new)


@router.post("/referrals/{referral_id}/triage", response={201: list[TaskOut], **ERRORS, 422: FieldErrors})
def triage(request: HttpRequest, referral_id: int, body: TriageIn):
    """The SPoA's triage: one task per service, each due by its standard."""
    return Status(201, s.triage(ctx(request), request.care_user, referral_id, [t.model_dump() for t in body.tasks]))


@router.post("/referrals/{referral_id}/discharge", response={201: NotificationOut, **ERRORS, 422: FieldErrors})
def discharge(request: HttpRequest, referral_id: int, body: DischargeIn):
    """The discharge, notified to the registered practice."""
    return Status(201, s.record_discharge(ctx(request), referral_id, body.discharged_at))


@router.get("/notifications", response={200: list[NotificationOut], **ERRORS, 422: FieldErrors})
def notifications(request: HttpRequest, response: HttpResponse, limit: int = LIMIT, offset: int = OFFSET):
    """Discharge notifications for the actor's practices, newest discharge first.
    Paged: X-Total-Count and a Link rel=next."""
    return paged(request, response, s.notifications_for(ctx(request), s.Paging(limit, offset)))


# --- tasks ---------------------------------------------------------------------------------------------
@router.get("/tasks", response={200: list[TaskOut], **ERRORS, 422: FieldErrors})
def list_tasks(request: HttpRequest, response: HttpResponse, status: str | None = None, limit: int = LIMIT,
               offset: int = OFFSET):
    """A service's task list, soonest due first, with warnings and breaches.
    Paged: X-Total-Count and a Link rel=next."""
    return paged(request, response, s.tasks_for(ctx(request), status, paging=s.Paging(limit, offset)))


@router.get("/tasks/{task_id}", response={200: TaskOut, **ERRORS})
def read_task(request: HttpRequest, task_id: int):
    return s.read_task(ctx(request), task_id)


@router.post("/tasks/{task_id}/accept", response={200: TaskOut, **ERRORS, 422: FieldErrors})
def accept_task(request: HttpRequest, task_id: int, body: AcceptIn):
    return s.respond_to_task(ctx(request), request.care_user, task_id, accept=True, owner=body.owner)


@router.post("/tasks/{task_id}/decline", response={200: TaskOut, **ERRORS, 422: FieldErrors})
def decline_task(request: HttpRequest, task_id: int, body: DeclineIn):
    return s.respond_to_task(ctx(request), request.care_user, task_id, accept=False, reason=body.reason)


@router.post("/tasks/{task_id}/complete", response={200: TaskOut, **ERRORS, 422: FieldErrors})
def complete_task(request: HttpRequest, task_id: int, body: CompleteIn):
    return s.complete_task(ctx(request), task_id, outcome=body.outcome, weeks=body.weeks,
                           end_episode=body.end_episode)


# --- people --------------------------------------------------------------------------------------------
@router.get("/people", response={200: list[PersonOut], **ERRORS, 422: FieldErrors})
def list_people(request: HttpRequest, response: HttpResponse, limit: int = LIMIT, offset: int = OFFSET):
    """The people the actor's organisations have a legitimate relationship with, by name.
    Paged: X-Total-Count and a Link rel=next."""
    return paged(request, response, s.list_people(ctx(request), s.Paging(limit, offset)))


@router.get("/people/lookup", response={200: PersonOut, **ERRORS, 422: FieldErrors})
def lookup(request: HttpRequest, nhs_number: str):
    """A person by NHS number (resolved through the re-identification store; audited)."""
    return s.lookup(ctx(request), nhs_number)


@router.get("/people/{person_id}", response={200: PersonDetailOut, **ERRORS})
def read_person(request: HttpRequest, person_id: str):
    return s.read_person(ctx(request), person_id)


@router.get("/people/{person_id}/timeline", response={200: list[TimelineOut], **ERRORS, 422: FieldErrors})
def timeline(request: HttpRequest, response: HttpResponse, person_id: str, limit: int = LIMIT,
             offset: int = OFFSET):
    """The person's journey, newest first: referrals, tasks, alerts, notifications, plan versions, consent.
    Paged: X-Total-Count and a Link rel=next."""
    return paged(request, response, s.timeline(ctx(request), person_id, s.Paging(limit, offset)))


@router.post("/people/{person_id}/consent", response={201: ConsentOut, **ERRORS, 422: FieldErrors})
def consent(request: HttpRequest, person_id: str, body: ConsentIn):
    """Consent to share the care plan given or withdrawn; it takes effect at once."""
    return Status(201, s.record_consent(ctx(request), request.care_user, person_id, body.status, body.note))


@router.post("/people/{person_id}/care-team", response={201: CareTeamOut, **ERRORS, 422: FieldErrors})
def care_team(request: HttpRequest, person_id: str, body: CareTeamIn):
    return Status(201, s.add_to_care_team(ctx(request), person_id, body.organisation, body.role_in_team, body.user))


@router.post("/people/{person_id}/break-glass", response={201: BreakGlassOut, **ERRORS, 422: FieldErrors})
def break_glass(request: HttpRequest, person_id: str, body: BreakGlassIn):
    """Emergency access with a reason; it expires and the privacy officer reviews it."""
    return Status(201, s.break_glass(ctx(request), request.care_user, person_id, body.reason))


@router.get("/people/{person_id}/urgent-care-summary", response={200: UrgentCareOut, **ERRORS})
def urgent_care_summary(request: HttpRequest, person_id: str):
    """Resuscitation decision and end-of-life preferences (NHS 111 and ambulance clinicians regardless of consent)."""
    return s.urgent_care_summary(ctx(request), person_id)


# --- care plans ----------------------------------------------------------------------------------------
def _etag(version: int) -> str:
    return f'"{version}"'


def _plan_response(response: HttpResponse, plan, version) -> dict:
    response["ETag"] = _etag(version.number)
    return plan_out(plan, version)


@router.get("/people/{person_id}/care-plan", response={200: CarePlanOut, **ERRORS})
def read_care_plan(request: HttpRequest, response: HttpResponse, person_id: str):
    """The current version; its ETag is the version to send back in If-Match."""
    plan, version = s.care_plan(ctx(request), person_id)
    return _plan_response(response, plan, version)


@router.post("/people/{person_id}/care-plan", response={201: CarePlanOut, **ERRORS, 422: FieldErrors})
def create_care_plan(request: HttpRequest, response: HttpResponse, person_id: str, body: CarePlanContent):
    plan, version = s.save_care_plan(ctx(request), request.care_user, person_id, body.model_dump(mode="json"), None)
    return Status(201, _plan_response(response, plan, version))


@router.put("/people/{person_id}/care-plan",
            response={200: CarePlanOut, 412: CarePlanOut, 428: Message, **ERRORS, 422: FieldErrors})
def update_care_plan(request: HttpRequest, response: HttpResponse, person_id: str, body: CarePlanContent,
                     if_match: str | None = Header(default=None, alias="If-Match")):
    """A new version, only if If-Match names the current one; else 412 with the current version."""
    if not if_match:
        return Status(428, {"detail": "If-Match: send the ETag of the version you edited"})
    try:
        expected = int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError:
        return Status(428, {"detail": f"If-Match: {if_match!r} is not a care plan version"})
    try:
        plan, version = s.save_care_plan(ctx(request), request.care_user, person_id, body.model_dump(mode="json"),
                                         expected)
    except s.PreconditionFailed as exc:
        current = exc.current
        response["ETag"] = _etag(current.number)
        return Status(412, plan_out(current.plan, current))
    return Status(200, _plan_response(response, plan, version))


@router.get("/people/{person_id}/care-plan/versions", response={200: list[CarePlanOut], **ERRORS})
def care_plan_versions(request: HttpRequest, person_id: str):
    """Every version, oldest first, each with its author and organisation."""
    return [plan_out(v.plan, v) for v in s.care_plan_versions(ctx(request), person_id)]


# --- privacy officer -----------------------------------------------------------------------------------
AUDIT_LIMIT = Query(s.AUDIT_LIMIT, ge=1, le=s.AUDIT_MAX_LIMIT,
                    description=f"records a page (default {s.AUDIT_LIMIT}, at most {s.AUDIT_MAX_LIMIT})")
UNTIL = Query(None, ge=1, le=2**62,  # a record number the database can hold: a bigger one is a 422, not an overflow
              description="no record after this one (the next link sets it: the log as the walk began)")


@router.get("/audit", response={200: list[AuditOut], **ERRORS, 422: FieldErrors}, tags=["privacy"])
def audit(request: HttpRequest, response: HttpResponse, user: str | None = None, person: str | None = None,
          limit: int = AUDIT_LIMIT, offset: int = OFFSET, until: int | None = UNTIL):
    """The audit log, newest first (privacy officer): every access to one person, or by one user.
    Paged: X-Total-Count and a Link rel=next, which holds to the records up to the first page's newest."""
    page = s.audit_log(ctx(request), user=user, person=person, paging=s.Paging(limit, offset), until=until)
    return paged(request, response, page, until=page.until)


@router.get("/break-glass", response={200: list[BreakGlassOut], **ERRORS, 422: FieldErrors}, tags=["privacy"])
def break_glass_list(request: HttpRequest, response: HttpResponse, limit: int = LIMIT, offset: int = OFFSET):
    """Every break-glass, unreviewed first, then newest (privacy officer).
    Paged: X-Total-Count and a Link rel=next."""
    return paged(request, response, s.break_glass_for_review(ctx(request), s.Paging(limit, offset)))


@router.post("/break-glass/{grant_id}/review", response={200: BreakGlassOut, **ERRORS, 422: FieldErrors},
             tags=["privacy"])
def review(request: HttpRequest, grant_id: int, body: ReviewIn):
    return s.review_break_glass(ctx(request), request.care_user, grant_id, body.note)


router.add_router("/fhir", "icsys.care.fhir_api.router")  # FHIR R4: read, search, Bundle import


# --- NHS Continuing Healthcare ---------------------------------------------------------------------------
@router.post("/people/{person_id}/chc", response={201: ChcOut, **ERRORS, 422: FieldErrors}, tags=["chc"])
def chc_checklist(request: HttpRequest, person_id: str, body: ChcChecklistIn):
    """An NHS Continuing Healthcare checklist; a positive one offers the assessment (at home under Discharge to
    Assess) to the team, the decision due within 28 days of the checklist."""
    return Status(201, s.record_chc_checklist(ctx(request), request.care_user, person_id, body.model_dump()))


@router.get("/people/{person_id}/chc", response={200: list[ChcOut], **ERRORS, 422: FieldErrors}, tags=["chc"])
def chc_cases(request: HttpRequest, response: HttpResponse, person_id: str, limit: int = LIMIT,
              offset: int = OFFSET):
    """The person's NHS Continuing Healthcare checklists and decisions, oldest first.
    Paged: X-Total-Count and a Link rel=next."""
    return paged(request, response, s.chc_cases(ctx(request), person_id, s.Paging(limit, offset)))


@router.get("/chc/summary", response={200: ChcSummaryOut, **ERRORS}, tags=["chc"])
def chc_summary(request: HttpRequest):
    """The actor's teams' NHS Continuing Healthcare work as counts: checklists, decisions within the 28-day
    standard, those waiting, personal health budgets."""
    return s.chc_summary(ctx(request))


@router.post("/chc/{case_id}/decision", response={200: ChcOut, **ERRORS, 422: FieldErrors}, tags=["chc"])
def chc_decision(request: HttpRequest, case_id: int, body: ChcDecisionIn):
    """The team's eligibility decision, with the personal health budget (offered, accepted or declined)."""
    phb = body.personal_health_budget.model_dump() if body.personal_health_budget else None
    return s.decide_chc(ctx(request), request.care_user, case_id, body.decision, phb, body.note)
