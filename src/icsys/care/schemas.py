"""The API's request and response bodies (pydantic, through django-ninja): bad input is refused with 422
naming the field, before anything is saved."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, field_validator

Source = Literal["acute_discharger", "gp", "nhs_111", "care_home"]
Service = Literal["domiciliary_care", "reablement", "district_nursing", "urgent_community_response", "community_bed",
                  "carer_support", "social_work_assessment", "chc_assessment"]
Resuscitation = Literal["for_resuscitation", "not_for_resuscitation", "not_yet_discussed"]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """A NUL character is never text a person typed, and PostgreSQL cannot store it: 422, not a 500."""
        if (isinstance(value, str) and "\x00" in value) or \
                (isinstance(value, list) and any(isinstance(v, str) and "\x00" in v for v in value)):
            raise ValueError("must not contain a NUL character")
        return value


class TokenIn(Strict):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(Schema):
    token: str
    expires_at: datetime
    user: str
    role: str
    organisations: list[str]


class CarerIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    relationship: str = Field(min_length=1, max_length=100)
    telephone: str = Field(default="", max_length=40)
    able_to_care: bool = True
    needs_support: bool = False


class ReferralIn(Strict):
    """The discharge support form (and a GP's, NHS 111's or a care home's referral)."""

    nhs_number: str = Field(min_length=10, max_length=12)
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: date
    registered_practice: str = Field(min_length=3, max_length=20)
    source: Source
    from_organisation: str = Field(min_length=3, max_length=20)
    to_organisation: str = Field(min_length=3, max_length=20)
    needs: str = Field(min_length=1, max_length=4000)
    mobility: str = Field(default="", max_length=2000)
    carer_situation: str = Field(default="", max_length=2000)
    recommended_services: list[Service] = []
    expected_discharge_date: date | None = None
    carers: list[CarerIn] = []

    @field_validator("birth_date")
    @classmethod
    def _born_in_the_past(cls, value: date) -> date:
        if value > date.today() or value.year < 1890:
            raise ValueError("a date of birth in the past (after 1890)")
        return value


class ReferralOut(Schema):
    id: int
    person_id: str | None
    status: str
    source: str
    from_organisation: str = Field(validation_alias="from_organisation_id")
    to_organisation: str = Field(validation_alias="to_organisation_id")
    given_name: str
    family_name: str
    birth_date: date
    needs: str
    mobility: str
    carer_situation: str
    recommended_services: list[str]
    expected_discharge_date: date | None
    discharged_at: datetime | None
    duplicate_of: int | None = Field(validation_alias="duplicate_of_id")
    created_at: datetime


class ResolveIn(Strict):
    nhs_number: str | None = Field(default=None, min_length=10, max_length=12)
    register_new: bool = False


class TaskSpec(Strict):
    service: Service
    organisation: str = Field(min_length=3, max_length=20)
    note: str = Field(default="", max_length=2000)
    carer: int | None = None


class TriageIn(Strict):
    tasks: list[TaskSpec] = Field(min_length=1)


class AlertOut(Schema):
    kind: str
    standard: str
    due_at: datetime
    raised_at: datetime


class TaskOut(Schema):
    id: int
    referral_id: int | None
    person_id: str
    carer_id: int | None
    service: str
    organisation: str = Field(validation_alias="organisation_id")
    standard: str
    status: str
    owner: str | None = None
    note: str
    created_at: datetime
    due_at: datetime
    responded_at: datetime | None
    decline_reason: str
    completed_at: datetime | None
    outcome: str
    weeks: int | None
    alerts: list[AlertOut] = []

    @staticmethod
    def resolve_owner(task) -> str | None:
        return task.owner.username if task.owner_id else None

    @staticmethod
    def resolve_alerts(task) -> list:
        return list(task.alerts.all())


class AcceptIn(Strict):
    owner: str | None = Field(default=None, max_length=150)


class DeclineIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class CompleteIn(Strict):
    outcome: str = Field(min_length=1, max_length=4000)
    weeks: int | None = Field(default=None, ge=1, le=104)
    end_episode: bool = False


class DischargeIn(Strict):
    discharged_at: datetime


class NotificationOut(Schema):
    id: int
    referral_id: int
    person_id: str
    practice: str = Field(validation_alias="practice_id")
    discharged_at: datetime
    due_by: datetime
    sent_at: datetime | None
    late: bool
    summary: str


class CarerOut(Schema):
    id: int
    name: str
    relationship: str
    telephone: str
    able_to_care: bool
    needs_support: bool


class PersonOut(Schema):
    id: str
    given_name: str
    family_name: str
    birth_date: date
    practice: str = Field(validation_alias="practice_id")


class CareTeamOut(Schema):
    organisation: str = Field(validation_alias="organisation_id")
    user: str | None = None
    role_in_team: str
    added_at: datetime

    @staticmethod
    def resolve_user(member) -> str | None:
        return member.user.username if member.user_id else None


class EpisodeOut(Schema):
    organisation: str = Field(validation_alias="organisation_id")
    service: str
    started_at: datetime
    ended_at: datetime | None


class PersonDetailOut(Schema):
    person: PersonOut
    nhs_number: str | None
    carers: list[CarerOut]
    care_team: list[CareTeamOut]
    episodes: list[EpisodeOut]


class Goal(Strict):
    goal: str = Field(min_length=1, max_length=1000)
    by: date | None = None


class Action(Strict):
    action: str = Field(min_length=1, max_length=1000)
    who: str = Field(default="", max_length=200)
    due: date | None = None
    done: bool = False


class Contact(Strict):
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(default="", max_length=200)
    organisation: str = Field(default="", max_length=20)
    telephone: str = Field(default="", max_length=40)


class EndOfLife(Strict):
    preferred_place_of_care: str = Field(default="", max_length=200)
    preferred_place_of_death: str = Field(default="", max_length=200)
    resuscitation_decision: Resuscitation = "not_yet_discussed"
    contact: str = Field(default="", max_length=400)


class CarePlanContent(Strict):
    """A personalised care and support plan (EPaCCS-style end-of-life preferences)."""

    summary: str = Field(default="", max_length=4000)
    goals: list[Goal] = []
    actions: list[Action] = []
    named_contacts: list[Contact] = []
    anticipatory_care: str = Field(default="", max_length=4000)
    end_of_life: EndOfLife = EndOfLife()


class CarePlanOut(Schema):
    person_id: str
    version: int
    content: dict
    author: str
    organisation: str
    saved_at: datetime


class UrgentCareOut(Schema):
    person_id: str
    given_name: str
    family_name: str
    birth_date: date
    resuscitation_decision: str | None
    preferred_place_of_care: str | None
    preferred_place_of_death: str | None
    contact: str | None


class ConsentIn(Strict):
    status: Literal["given", "withdrawn"]
    note: str = Field(default="", max_length=2000)


class ConsentOut(Schema):
    person_id: str
    status: str
    recorded_at: datetime


class CareTeamIn(Strict):
    organisation: str = Field(min_length=3, max_length=20)
    role_in_team: str = Field(min_length=1, max_length=100)
    user: str | None = Field(default=None, max_length=150)


class BreakGlassIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class BreakGlassOut(Schema):
    id: int
    user: str
    organisation: str = Field(validation_alias="organisation_id")
    person_id: str
    reason: str
    started_at: datetime
    expires_at: datetime
    reviewed_at: datetime | None
    review_note: str

    @staticmethod
    def resolve_user(grant) -> str:
        return grant.user.username


class ReviewIn(Strict):
    note: str = Field(min_length=1, max_length=2000)


class AuditOut(Schema):
    id: int
    recorded_at: str
    actor_user: str
    actor_roles: str
    actor_organisations: str
    authentication: str
    action: str
    purpose: str | None
    what: str
    people: int | None
    destination: str
    person: str | None = None  # the one person the record is about


class TimelineOut(Schema):
    at: datetime
    kind: str
    id: int
    what: str


class OrganisationOut(Schema):
    code: str
    name: str
    kind: str
    parent: str | None = Field(validation_alias="parent_id")


class MeOut(Schema):
    user: str
    role: str
    organisations: list[str]
    authentication: str


class Message(Schema):
    detail: str


class FieldError(Schema):
    loc: list[str | int]
    msg: str
    type: str


class FieldErrors(Schema):
    """422: each bad field by its path (`["body", "nhs_number"]`), nothing saved."""

    detail: list[FieldError]


# --- NHS Continuing Healthcare -------------------------------------------------------------------------
class ChcChecklistIn(Strict):
    outcome: Literal["positive", "negative"]
    organisation: str = Field(min_length=3, max_length=20, description="the team that assesses and decides")
    assessment_place: Literal["home", "care_home", "hospital"] | None = Field(
        default=None, description="where the assessment will be (a positive checklist): home or a care home "
                                  "placement under Discharge to Assess; hospital only with a reason")
    hospital_reason: str = Field(default="", max_length=2000)
    checklist_at: datetime | None = None
    note: str = Field(default="", max_length=2000)


class PersonalHealthBudgetIn(Strict):
    status: Literal["offered", "accepted", "declined"]
    weekly_amount: Decimal | None = Field(default=None, ge=0, le=100000, max_digits=9, decimal_places=2)


class ChcDecisionIn(Strict):
    decision: Literal["eligible", "not_eligible"]
    personal_health_budget: PersonalHealthBudgetIn | None = None
    note: str = Field(default="", max_length=2000)


class ChcSummaryOut(Schema):
    """Counts only: the NHS Continuing Healthcare work of the actor's teams."""

    organisations: list[str]
    checklists: int
    positive: int
    negative: int
    assessment_place: dict[str, int]
    decided: int
    decided_within_standard: int
    decided_late: int
    within_standard_percent: float | None
    waiting: int
    waiting_overdue: int
    eligible: int
    not_eligible: int
    personal_health_budget: dict[str, int]


class ChcOut(Schema):
    id: int
    person_id: str
    checklist_at: datetime
    checklist_outcome: str
    checklist_by: str
    organisation: str
    assessment_place: str
    hospital_reason: str
    task_id: int | None
    decision_due_by: datetime | None
    decision: str
    decided_at: datetime | None
    decision_late: bool
    phb_status: str
    phb_weekly_amount: Decimal | None

    @staticmethod
    def resolve_checklist_by(case) -> str:
        return case.checklist_by.username

    @staticmethod
    def resolve_organisation(case) -> str:
        return case.organisation_id
