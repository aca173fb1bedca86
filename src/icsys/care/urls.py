"""The care service's pages (icsys.care.pages), mounted at the site's root by icsys.web.urls."""

from django.urls import path

from icsys.care import pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("people/", pages.people, name="people"),
    path("people/<str:person_id>/", pages.person, name="person"),
    path("people/<str:person_id>/care-plan/", pages.care_plan, name="care_plan"),
    path("people/<str:person_id>/chc/", pages.chc, name="chc"),
    path("chc/", pages.chc_summary, name="chc_summary"),
    path("referrals/", pages.referrals, name="referrals"),
    path("referrals/unmatched/", pages.referrals, name="unmatched"),
    path("referrals/new/", pages.new_referral, name="new_referral"),
    path("referrals/<int:referral_id>/", pages.referral, name="referral"),
    path("tasks/", pages.tasks, name="tasks"),
    path("mdt/", pages.mdt, name="mdt"),
    path("mdt/meetings/<int:meeting_id>/", pages.meeting, name="meeting"),
    path("audit/", pages.audit, name="audit"),
]
