"""Completed care tasks into the analytical store, so that the performance standards they belong to are
measured from them: a 2-hour urgent community response (`ucr_2h`, performance/standards.toml) is measured
from its task, referral (the task offered) to contact (the task completed: the team with the patient).

The care service's tasks become `community_contact` rows, the Community Services Data Set's shape: one row a
task of a community service the data set covers (urgent community response, district nursing). Reablement,
domiciliary care and the other social care services are not CSDS contacts and stay in the care service.
Rows are written in one `Store.transaction()` after the auditor has recorded the release (no record, no
write); a task is published once (its contact_id is `CONTACT_ID_BASE` + the task's id, apart from any
contact_id a CSDS load holds), so publishing again adds only the tasks completed since.

The store's person_id is the re-identification store's pseudonym as an integer; a person the store does
not hold (a demonstration person, someone not yet in a load) is counted and left out, never invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa

from icsys.access import Auditor
from icsys.access.policy import LOAD, require
from icsys.dataset.store import Store, StoreError

TABLE = "community_contact"
SERVICES = ("urgent_community_response", "district_nursing")  # the care services that are CSDS contacts
CONTACT_ID_BASE = 9_000_000_000
LOCAL = ZoneInfo("Europe/London")  # the data sets record local clock times
SCHEMA = pa.schema([("contact_id", pa.int64()), ("person_id", pa.int64()), ("provider_code", pa.string()),
                    ("service", pa.string()), ("referral_time", pa.timestamp("us")),
                    ("contact_time", pa.timestamp("us")), ("end_date", pa.date32())])


@dataclass(frozen=True)
class Published:
    written: int  # rows added to the store
    already: int  # tasks published before
    not_in_store: int  # tasks of people the store does not hold
    not_a_provider: int  # tasks of organisations that are not community providers of the system

    def as_dict(self) -> dict[str, int]:
        return {"written": self.written, "already": self.already, "not_in_store": self.not_in_store,
                "not_a_provider": self.not_a_provider}


def _local(at: datetime) -> datetime:
    return at.astimezone(LOCAL).replace(tzinfo=None)


def _store_person(person_id: str) -> int | None:
    return int(person_id) if person_id.isdigit() else None


def publish(store_path: Path | str, auditor: Auditor, providers: set[str]) -> Published:
    """Write every completed task of SERVICES not yet in the store as a community_contact row (see above).
    `providers`: the system's community provider codes (a task's organisation must be one)."""
    from icsys.care.models import Task

    require(auditor.actor, LOAD, identifiable=False, all_organisations=True)
    tasks = list(Task.objects.filter(service__in=SERVICES, status="completed", completed_at__isnull=False)
                 .order_by("id").values("id", "person_id", "organisation_id", "service", "created_at",
                                        "completed_at"))
    store = Store.open(store_path, read_only=False)
    try:
        if not store.has_table(TABLE) or not store.has_table("person"):
            raise StoreError(f"{store.location}: has no {TABLE} or person table (load or synthesise the dataset)")
        contacts = store.table(TABLE)
        done = set(contacts.filter(contacts.contact_id >= CONTACT_ID_BASE).contact_id.to_pyarrow().to_pylist())
        wanted = {p for t in tasks if (p := _store_person(t["person_id"])) is not None}
        people = store.table("person")
        known = set(people.filter(people.person_id.isin(sorted(wanted))).person_id.to_pyarrow().to_pylist()) \
            if wanted else set()
        rows, already, missing, elsewhere = [], 0, 0, 0
        for t in tasks:
            person = _store_person(t["person_id"])
            if CONTACT_ID_BASE + t["id"] in done:
                already += 1
            elif person not in known:
                missing += 1
            elif t["organisation_id"] not in providers:
                elsewhere += 1
            else:
                rows.append({"contact_id": CONTACT_ID_BASE + t["id"], "person_id": person,
                             "provider_code": t["organisation_id"], "service": t["service"],
                             "referral_time": _local(t["created_at"]), "contact_time": _local(t["completed_at"]),
                             "end_date": None})
        if rows:
            auditor.record(LOAD, f"{TABLE} +{len(rows)} rows from the care service's completed tasks",
                           people=len({r["person_id"] for r in rows}), destination=str(store_path))
            with store.transaction() as tx:
                tx.write_table(TABLE, pa.Table.from_pylist(rows, schema=SCHEMA), mode="append")
    finally:
        store.close()
    return Published(written=len(rows), already=already, not_in_store=missing, not_a_provider=elsewhere)
