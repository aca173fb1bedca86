"""A Scope filters a real Django queryset (SQLite in memory) the way it filters an Ibis table."""

from __future__ import annotations

import django
from django.conf import settings

if not settings.configured:
    settings.configure(DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
                       INSTALLED_APPS=["django.contrib.contenttypes"], USE_TZ=True,
                       DEFAULT_AUTO_FIELD="django.db.models.BigAutoField")
    django.setup()

import pytest
from django.db import connection, models

from icsys.access import Actor, scope


class Person(models.Model):
    nhs_number = models.CharField(max_length=10)
    practice_code = models.CharField(max_length=6)

    class Meta:
        app_label = "access_test"


class Referral(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE)
    service = models.CharField(max_length=40)

    class Meta:
        app_label = "access_test"


pytestmark = pytest.mark.django_db  # pytest-django: the tests' own database (the care tests' settings)


@pytest.fixture(scope="module")
def people(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with connection.schema_editor() as editor:
            editor.create_model(Person)
            editor.create_model(Referral)
        for i, practice in enumerate(["G82001", "G82002", "G82003"], start=1):
            person = Person.objects.create(id=i, nhs_number=f"94347659{i:02d}", practice_code=practice)
            Referral.objects.create(person=person, service="district nursing")
        yield
        with connection.schema_editor() as editor:
            editor.delete_model(Referral)
            editor.delete_model(Person)


def test_a_clinician_queryset_holds_only_its_organisations(people):
    clinician = scope(Actor("grace", ("clinician",), organisations=("G82001", "G82003")), "list")
    assert sorted(Person.objects.filter(**clinician.django_filter()).values_list("id", flat=True)) == [1, 3]
    referrals = Referral.objects.filter(**clinician.django_filter("person__practice_code"))
    assert sorted(r.person_id for r in referrals) == [1, 3]


def test_an_unscoped_role_sees_every_row_and_a_pseudonymised_one_no_nhs_number(people):
    analyst = scope(Actor("asha", ("analyst",)), "list")
    rows = list(Person.objects.filter(**analyst.django_filter())
                .values(*analyst.visible_columns(f.name for f in Person._meta.fields)))
    assert rows == [{"id": 1, "practice_code": "G82001"}, {"id": 2, "practice_code": "G82002"},
                    {"id": 3, "practice_code": "G82003"}]


def test_a_clinician_with_no_matching_organisation_sees_nothing(people):
    stranger = scope(Actor("ned", ("clinician",), organisations=("Y99999",)), "list")
    assert Person.objects.filter(**stranger.django_filter()).count() == 0
