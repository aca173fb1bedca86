"""The MDT's API (mounted at /api/mdt/ by icsys.web): case lists from population health, meetings,
decisions and their actions. Thin, as care.api: the rules live in icsys.care.services and the policy."""

from __future__ import annotations

from datetime import date, datetime

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field

from icsys.care import services as s
from icsys.care.api import LIMIT, OFFSET, paged
from icsys.care.schemas import FieldErrors, Message

router = Router(tags=["mdt"])
ERRORS = {403: Message, 404: Message, 409: Message, 422: FieldErrors}


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class CaseOut(Schema):
    person_id: str
    practice_code: str
    efi_category: str | None = None
    efi2_category: str | None = None
    risk_emergency_admission_12m: float | None = None
    risk_top_percent: float | None = None
    segment: str | None = None
    ltc_count: int | None = None
    in_care_service: bool
    name: str | None = None  # for people known to the care service whom the actor may see


class AttendeeIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    organisation: str = Field(min_length=1, max_length=20)
    role_in_team: str = Field(default="", max_length=100)


class MeetingIn(Strict):
    organisation: str = Field(min_length=1, max_length=20)
    title: str = Field(min_length=1, max_length=200)
    held_at: datetime
    case_list: str = Field(default="", max_length=40)
    attendees: list[AttendeeIn] = Field(default_factory=list, max_length=50)


class ActionIn(Strict):
    description: str = Field(min_length=1, max_length=2000)
    service: str | None = Field(default=None, max_length=30)
    organisation: str | None = Field(default=None, max_length=20)


class DecisionIn(Strict):
    person_id: str = Field(min_length=1, max_length=20)
    decision: str = Field(min_length=1, max_length=4000)
    actions: list[ActionIn] = Field(default_factory=list, max_length=20)


class Created(Schema):
    id: int


def ctx(request: HttpRequest) -> s.Ctx:
    return s.Ctx(request.actor, via=f"api {request.method} {request.path}", auditor=request.auditor)


@router.get("/case-lists/{name}", response={200: list[CaseOut], **ERRORS})
def case_list(request: HttpRequest, response: HttpResponse, name: str, as_of: date | None = None,
              limit: int = LIMIT, offset: int = OFFSET):
    """An MDT case list of the actor's practices (frail, top_risk, complex, dementia_low_dose_antipsychotic,
    polypharmacy_review_due), from the analytical store's person_measures, highest risk first; audited with
    the page's count. Paged: X-Total-Count and a Link rel=next."""
    return paged(request, response, s.mdt_case_list(ctx(request), name, as_of, s.Paging(limit, offset)))


@router.post("/meetings", response={201: Created, **ERRORS})
def create_meeting(request: HttpRequest, body: MeetingIn):
    data = body.model_dump()
    attendees = data.pop("attendees")
    return Status(201, s.create_meeting(ctx(request), request.care_user, attendees=attendees, **data))


@router.get("/meetings/{meeting_id}", response={200: dict, **ERRORS})
def meeting(request: HttpRequest, meeting_id: int):
    """The meeting record: attendees, decisions and their actions (with the task each became)."""
    c = ctx(request)
    return s.meeting_record(c, s.meeting_for(c, meeting_id))


@router.post("/meetings/{meeting_id}/decisions", response={201: Created, **ERRORS})
def record_decision(request: HttpRequest, meeting_id: int, body: DecisionIn):
    made = s.record_decision(ctx(request), request.care_user, meeting_id, body.person_id, body.decision,
                             [a.model_dump() for a in body.actions])
    return Status(201, made)
