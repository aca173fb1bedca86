"""Completed care tasks into the analytical store, so that the performance standards they belong to are
measured from them: a 2-hour urgent community response (`ucr_2h`, performance/standards.toml) is measured
from its task, referral (the task offered) to contact (the task completed: the team with the patient).

The care service's tasks become rows of the dataset's tables (the schema is the dataset's, unchanged):

* `community_contact`, the Community Services Data Set's shape: a completed task of a community service the
  data set covers (urgent community response, district nursing); referral = the task offered, contact = the
  task completed (the team with the patient).
* `social_care_package`, Client Level Data's shape: a package of domiciliary care (service_type domiciliary)
  or reablement (reablement) arranged by a council, once it has ended: request_date the referral received
  (the task offered if it came from an MDT), start_date its episode's start (the provider accepted the
  package), end_date the episode's end; council_code the council of the task's organisation (a council's
  adult social care, or the council a home-care provider serves, from the system definition). A package
  still running is published when it ends: a published row is never rewritten. Weekly hours are not
  recorded by the care service and stay empty.
* No table holds the other tasks, so they stay in the care service: a social work assessment or a carer's
  assessment (Client Level Data's assessments are not in the schema), carer support, a community bed (a
  `community_bed_stay` names the bed unit, which a task offered to a community provider does not), NHS
  Continuing Healthcare.

Rows are written in one `Store.transaction()` after the auditor has recorded the release (no record, no
write); a task is published once (its contact_id or package_id is `CONTACT_ID_BASE` + the task's id, apart
from any id a CSDS or CLD load holds), so publishing again adds only the tasks completed or ended since.

The store's person_id is the re-identification store's pseudonym as an integer; a person the store does
not hold (a demonstration person, someone not yet in a load) is counted and left out, never invented.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from icsys.access import Auditor
from icsys.access.policy import LOAD, require
from icsys.dataset.store import Store, StoreError

TABLE = "community_contact"
SERVICES = ("urgent_community_response", "district_nursing")  # the care services that are CSDS contacts
PACKAGE_TABLE = "social_care_package"
PACKAGES = {"domiciliary_care": "domiciliary", "reablement": "reablement"}  # care service -> CLD service_type
CONTACT_ID_BASE = 9_000_000_000
LOCAL = ZoneInfo("Europe/London")  # the data sets record local clock times
SCHEMA = pa.schema([("contact_id", pa.int64()), ("person_id", pa.int64()), ("provider_code", pa.string()),
                    ("service", pa.string()), ("referral_time", pa.timestamp("us")),
                    ("contact_time", pa.timestamp("us")), ("end_date", pa.date32())])
PACKAGE_SCHEMA = pa.schema([("package_id", pa.int64()), ("person_id", pa.int64()), ("council_code", pa.string()),
                            ("service_type", pa.string()), ("request_date", pa.date32()),
                            ("start_date", pa.date32()), ("end_date", pa.date32()), ("weekly_hours", pa.float64()),
                            ("care_home_code", pa.string())])


@dataclass(frozen=True)
class Published:
    written: int  # community_contact rows added to the store
    already: int  # tasks published before
    not_in_store: int  # tasks of people the store does not hold
    not_a_provider: int  # tasks of organisations that are not community providers (or councils) of the system
    packages: int = 0  # social_care_package rows added
    running: int = 0  # packages not yet ended: published when they end

    def as_dict(self) -> dict[str, int]:
        return {"written": self.written, "packages": self.packages, "already": self.already,
                "not_in_store": self.not_in_store, "not_a_provider": self.not_a_provider, "running": self.running}


def councils_of(system: Any = None) -> dict[str, str]:
    """Which council arranges a package given by each care organisation: a council's adult social care
    (`<council>-ASC`) its own, a home-care provider the council it serves (the system definition)."""
    from icsys.system import load_system

    system = system or load_system()
    out = {f"{c.code}-ASC": c.code for c in system.council if c.social_care}
    out |= {h.code: h.council for h in system.home_care_provider if h.council}
    return out


def _local(at: datetime) -> datetime:
    return at.astimezone(LOCAL).replace(tzinfo=None)


def _store_person(person_id: str) -> int | None:
    return int(person_id) if person_id.isdigit() else None


def _done_ids(store: Store, table: str, column: str) -> set[int]:
    if not store.has_table(table):
        raise StoreError(f"{store.location}: has no {table} table (load or synthesise the dataset)")
    rows = store.table(table)
    return set(rows.filter(rows[column] >= CONTACT_ID_BASE)[column].to_pyarrow().to_pylist())


def _known_people(store: Store, person_ids: list[str]) -> set[int]:
    wanted = {p for pid in person_ids if (p := _store_person(pid)) is not None}
    people = store.table("person")
    return set(people.filter(people.person_id.isin(sorted(wanted))).person_id.to_pyarrow().to_pylist()) \
        if wanted else set()


def _held_back(task: dict[str, Any], person: int | None, done: set[int], known: set[int],
               organisations: set[str] | dict[str, str], counts: Counter) -> bool:
    """Whether a task is not published, counted by why: published before, a person the store does not
    hold, or an organisation that is not one of the system's providers (or councils)."""
    reason = ("already" if CONTACT_ID_BASE + task["id"] in done else "not_in_store" if person not in known
              else "not_a_provider" if task["organisation_id"] not in organisations else None)
    if reason:
        counts[reason] += 1
    return reason is not None


def _contacts(tasks: list[dict[str, Any]], done: set[int], known: set[int], providers: set[str],
              counts: Counter) -> list[dict[str, Any]]:
    rows = []
    for t in tasks:
        person = _store_person(t["person_id"])
        if not _held_back(t, person, done, known, providers, counts):
            rows.append({"contact_id": CONTACT_ID_BASE + t["id"], "person_id": person,
                         "provider_code": t["organisation_id"], "service": t["service"],
                         "referral_time": _local(t["created_at"]), "contact_time": _local(t["completed_at"]),
                         "end_date": None})
    return rows


def _package_tasks() -> list[dict[str, Any]]:
    """Each package task accepted (its episode started), with its episode's start and end and the referral's time."""
    from django.db.models import Count, Max, Min, Q

    from icsys.care.models import Task

    return list(Task.objects.filter(service__in=PACKAGES, status__in=["accepted", "completed"],
                                    episodes__isnull=False)
                .values("id", "person_id", "organisation_id", "service", "created_at", "referral__created_at")
                .annotate(started=Min("episodes__started_at"), ended=Max("episodes__ended_at"),
                          open_episodes=Count("episodes", filter=Q(episodes__ended_at__isnull=True)))
                .order_by("id"))


def _packages(tasks: list[dict[str, Any]], done: set[int], known: set[int], councils: dict[str, str],
              counts: Counter) -> list[dict[str, Any]]:
    rows = []
    for t in tasks:
        person = _store_person(t["person_id"])
        if _held_back(t, person, done, known, councils, counts):
            continue
        if t["ended"] is None or t["open_episodes"]:
            counts["running"] += 1
            continue
        requested = t["referral__created_at"] or t["created_at"]
        rows.append({"package_id": CONTACT_ID_BASE + t["id"], "person_id": person,
                     "council_code": councils[t["organisation_id"]], "service_type": PACKAGES[t["service"]],
                     "request_date": _local(requested).date(), "start_date": _local(t["started"]).date(),
                     "end_date": _local(t["ended"]).date(), "weekly_hours": None, "care_home_code": None})
    return rows


def publish(store_path: Path | str, auditor: Auditor, providers: set[str],
            councils: dict[str, str] | None = None) -> Published:
    """Write every completed task of SERVICES as a community_contact row, and every ended package of PACKAGES
    as a social_care_package row, not yet in the store (see above). `providers`: the system's community
    provider codes (a contact's organisation must be one); `councils`: care organisation -> the council
    arranging its packages (default `councils_of()`, from the system definition)."""
    from icsys.care.models import Task

    require(auditor.actor, LOAD, identifiable=False, all_organisations=True)
    councils = councils_of() if councils is None else councils
    tasks = list(Task.objects.filter(service__in=SERVICES, status="completed", completed_at__isnull=False)
                 .order_by("id").values("id", "person_id", "organisation_id", "service", "created_at",
                                        "completed_at"))
    package_tasks = _package_tasks()
    store = Store.open(store_path, read_only=False)
    counts: Counter = Counter()
    try:
        if not store.has_table("person"):
            raise StoreError(f"{store.location}: has no person table (load or synthesise the dataset)")
        known = _known_people(store, [t["person_id"] for t in tasks + package_tasks])
        contacts = _contacts(tasks, _done_ids(store, TABLE, "contact_id"), known, providers, counts)
        packages = _packages(package_tasks, _done_ids(store, PACKAGE_TABLE, "package_id"), known, councils, counts)
        writes = [(TABLE, contacts, SCHEMA, "completed tasks"), (PACKAGE_TABLE, packages, PACKAGE_SCHEMA,
                                                                 "ended care packages")]
        for table, rows, _, what in writes:
            if rows:
                auditor.record(LOAD, f"{table} +{len(rows)} rows from the care service's {what}",
                               people=len({r["person_id"] for r in rows}), destination=str(store_path))
        if contacts or packages:
            with store.transaction() as tx:
                for table, rows, schema, _ in writes:
                    if rows:
                        tx.write_table(table, pa.Table.from_pylist(rows, schema=schema), mode="append")
    finally:
        store.close()
    return Published(written=len(contacts), packages=len(packages), already=counts["already"],
                     not_in_store=counts["not_in_store"], not_a_provider=counts["not_a_provider"],
                     running=counts["running"])
