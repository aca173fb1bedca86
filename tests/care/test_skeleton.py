"""The project stands up: settings from the environment, migrations committed and complete, the
organisations of the definition loaded, OpenAPI served."""

from __future__ import annotations

import io
import os

import pytest
from django.conf import settings
from django.core.management import call_command

from icsys.care.models import Organisation
from icsys.care.organisations import organisations
from icsys.errors import InputError
from icsys.system import load_system
from icsys.web.settings import database_from_url


def test_database_urls():
    pg = database_from_url("postgresql://care:s%40cret@db.example:6543/icsys")
    assert (pg["ENGINE"], pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == \
        ("django.db.backends.postgresql", "icsys", "care", "s@cret", "db.example", "6543")
    lite = database_from_url("sqlite:////tmp/care.sqlite")
    assert (lite["ENGINE"], lite["NAME"]) == ("django.db.backends.sqlite3", "/tmp/care.sqlite")
    with pytest.raises(InputError, match="use a file path"):
        database_from_url("mysql://x@y/z")
    with pytest.raises(InputError, match="name the database"):
        database_from_url("postgresql://x@y")


def test_the_tests_run_on_postgresql_when_it_is_configured():
    engine = settings.DATABASES["default"]["ENGINE"]
    assert engine.endswith("postgresql" if os.environ.get("ICSYS_TEST_POSTGRES_URL") else "sqlite3")


@pytest.mark.django_db
def test_migrations_are_committed():
    out = io.StringIO()
    call_command("makemigrations", "care", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_every_organisation_of_the_definition_is_loaded():
    system = load_system()
    kinds = dict(Organisation.objects.values_list("code", "kind"))
    assert all(kinds[p.code] == "practice" for p in system.practice)
    assert all(kinds[p.code] == "pcn" for p in system.pcn)
    assert kinds["RPA"] == "acute" and kinds["NQV"] == "community" and kinds["RYD"] == "ambulance"
    assert kinds["E06000035-ASC"] == kinds["E10000016-ASC"] == "social_care"
    assert sum(k == "care_home" for k in kinds.values()) == len(system.care_home)
    hospices = {h.code for h in system.hospice} | {u.code for u in system.community_bed_unit if u.kind == "hospice"}
    assert {c for c, k in kinds.items() if k == "hospice"} == hospices
    assert {s.code for s in system.spoa} == {c for c, k in kinds.items() if k == "spoa"}
    assert {h.code for h in system.home_care_provider} == {c for c, k in kinds.items() if k == "home_care"}
    assert "nhs_111" in kinds.values()
    # one hierarchy: practice -> PCN -> ICP -> ICB
    practice = Organisation.objects.get(pk=system.practice[0].code)
    assert practice.parent_id == system.practice[0].pcn
    assert practice.parent.parent.parent_id == system.ics.code
    assert len(kinds) == len(organisations())


@pytest.mark.django_db
def test_openapi_is_served(client):
    schema = client.get("/api/openapi.json").json()
    assert schema["info"]["title"] == "icsys care coordination"
    assert {"/api/auth/token", "/api/referrals", "/api/people/{person_id}/care-plan"} <= set(schema["paths"])
