"""Reading the store for calibration: attendances, admissions, community bed stays and the social care packages
linked to discharges, with each person's age band, frailty (eFI at the middle of the data) and place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from icsys.dataset.definitions import (
    CARE_HOME_DESTINATIONS,
    ORDINARY_ADMISSION,
    TRANSFER_ADMISSION_METHODS,
    elective_admission,
    maternity_admission,
)
from icsys.errors import InputError
from icsys.flow.model import AGE_BANDS
from icsys.system import System

if TYPE_CHECKING:
    from icsys.dataset.store import Store

AGE_EDGES = [16, 65, 75, 85]
CARE_HOME = set(CARE_HOME_DESTINATIONS)
EMERGENCY_DIRECT = "gp_sdec"


class CalibrationError(InputError):
    """The store cannot be calibrated from (too little data, missing tables)."""


@dataclass
class Data:
    first: date
    last: date
    scale: float  # a synthetic store's share of the population (1 for real data): beds are scaled by it
    ae: pd.DataFrame
    spells: pd.DataFrame
    community: pd.DataFrame
    packages: pd.DataFrame
    bed_pools: dict[str, str] | None = None  # site -> the pool a synthetic store constrained its beds in

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def extract(store: Store, system: System) -> Data:
    import ibis

    from icsys.population import measures

    backend = store.backend
    first, last = _window(backend)
    scale = store.scale
    person = backend.table("person")
    middle = first + (last - first) / 2
    frailty = measures.efi(person, backend.table("clinical_event"), backend.table("medication"), middle)
    people = person.select("person_id", "birth_date", "practice_code").join(
        frailty.select("person_id", frailty="efi_category"), "person_id", how="left").select(
        "person_id", "birth_date", "practice_code", "frailty")
    spells = backend.table("inpatient_spell")
    spells = spells.filter(spells.patient_classification == ORDINARY_ADMISSION,
                           ~maternity_admission(spells.admission_method),
                           ~spells.admission_method.isin(TRANSFER_ADMISSION_METHODS))
    spells = spells.join(people, "person_id", how="left").select(
        "spell_id", "person_id", "site_code", "admission_time", "ready_for_discharge_time", "discharge_time",
        "admission_method", "specialty", "discharge_pathway", "discharge_destination", "attendance_id",
        "birth_date", "practice_code", "frailty")
    ae = backend.table("ae_attendance").join(people, "person_id", how="left").select(
        "attendance_id", "site_code", "department_type", "arrival_time", "decision_to_admit_time",
        "departure_time", "arrival_mode", "disposal", "birth_date", "practice_code", "frailty")
    stays = backend.table("community_bed_stay").join(people, "person_id", how="left").select(
        "spell_id", "unit_code", "source", "admission_time", "ready_for_discharge_time", "discharge_time",
        "discharge_destination", "birth_date", "practice_code")
    packages = _linked_packages(backend, ibis)
    frames = [t.to_pandas() for t in (ae, spells, stays, packages)]
    ae, spells, stays, packages = frames
    if len(spells) < 200 or len(ae) < 200:
        raise CalibrationError(f"{store.location}: too little data to calibrate from ({len(spells)} admissions, "
                               f"{len(ae)} A&E attendances)")
    spells = _spells(spells, system)
    # placed: the spell's pathway found its place (a community bed for P2, a package for P1 and P3); else
    # another route was found
    spells["placed"] = np.where(spells["pathway"] == 2, spells["spell_id"].isin(set(stays["spell_id"].dropna())),
                                spells["spell_id"].isin(set(packages["spell_id"].dropna())))
    pools = (store.meta.get("bed_pools") or {}).get("sites")
    return Data(first, last, scale, _ae(ae, spells, system), spells, _community(stays, system),
                _packages(packages), pools)


def _window(backend: Any) -> tuple[date, date]:
    t = backend.table("ae_attendance")
    row = t.aggregate(first=t.arrival_time.min(), last=t.arrival_time.max()).to_pandas().iloc[0]
    if pd.isna(row["first"]):
        raise CalibrationError("the store has no A&E attendances to calibrate from")
    first, last = row["first"].date(), row["last"].date()
    if last > first:  # the final day is usually part-filled (attendances that ran past midnight)
        last -= timedelta(days=1)
    return first, last


def _linked_packages(backend: Any, ibis: Any) -> Any:
    """Social care packages that started a discharge (within 3 days of leaving hospital), with the delay
    from ready for discharge to leaving; and all packages for the census."""
    spells = backend.table("inpatient_spell")
    spells = spells.filter(spells.discharge_pathway.isin([1, 2, 3]), spells.discharge_time.notnull())
    spells = spells.select("spell_id", spell_person="person_id", left_on=spells.discharge_time.date(),
                           pathway="discharge_pathway", ready="ready_for_discharge_time", left_at="discharge_time")
    p = backend.table("social_care_package")
    joined = p.join(spells, [p.person_id == spells.spell_person, p.start_date >= spells.left_on,
                             p.start_date <= spells.left_on + ibis.interval(days=3)], how="inner")
    delay = (joined.left_at.epoch_seconds() - joined.ready.epoch_seconds()) / 86_400
    return joined.select("package_id", "spell_id", "council_code", "service_type", "start_date", "end_date",
                         "weekly_hours", "pathway", delay_days=delay).distinct(on="package_id", keep="first")


def _age_band(birth: pd.Series, when: pd.Series) -> np.ndarray:
    years = (pd.to_datetime(when) - pd.to_datetime(birth)).dt.days.to_numpy() / 365.25
    index = np.searchsorted(AGE_EDGES, np.nan_to_num(years, nan=50.0), side="right")
    return np.array(AGE_BANDS)[index]


def _places(df: pd.DataFrame, system: System) -> pd.DataFrame:
    district = {p.code: p.district for p in system.practice}
    council = {d.code: d.council for d in system.district}
    icp = system.hierarchy.icp_by_district
    d = df["practice_code"].map(district)
    return df.assign(council=d.map(council).fillna(_main(system, "council")), icp=d.map(icp).fillna(
        _main(system, "icp")))


def _main(system: System, what: str) -> str:
    """The council or ICP of most people, for the few whose practice is not in the system definition."""
    weights: dict[str, int] = {}
    district = {d.code: d for d in system.district}
    for p in system.practice:
        key = getattr(district[p.district], what)
        weights[key] = weights.get(key, 0) + p.list_size
    return max(weights, key=lambda k: weights[k])


def _days_between(a: pd.Series, b: pd.Series) -> np.ndarray:
    return (pd.to_datetime(b) - pd.to_datetime(a)).dt.total_seconds().to_numpy() / 86_400


def _spells(s: pd.DataFrame, system: System) -> pd.DataFrame:
    s = _places(s, system)
    method = s["admission_method"].astype(str)
    source = np.where(elective_admission(method), "elective",
                      np.where(s["attendance_id"].notna(), "ae", EMERGENCY_DIRECT))
    died = s["ready_for_discharge_time"].isna() & s["discharge_time"].notna()
    # a death ends the stay: it counts as a stay to the moment of death, then pathway 0 (the bed frees)
    ready = s["ready_for_discharge_time"].where(~died, s["discharge_time"])
    return s.assign(
        source=source, age_band=_age_band(s["birth_date"], s["admission_time"]),
        frailty=s["frailty"].fillna("unknown"), los=_days_between(s["admission_time"], ready),
        pathway=s["discharge_pathway"].where(~died, 0), delay=_days_between(ready, s["discharge_time"]),
        ready=ready)


def _ae(ae: pd.DataFrame, spells: pd.DataFrame, system: System) -> pd.DataFrame:
    """Attendances, with the specialty, stay and pathway of the admission each led to."""
    ae = ae.assign(age_band=_age_band(ae["birth_date"], ae["arrival_time"]),
                   frailty=ae["frailty"].fillna("unknown"),
                   hours=_days_between(ae["arrival_time"], ae["departure_time"]) * 24,
                   dta_hours=_days_between(ae["arrival_time"], ae["decision_to_admit_time"]) * 24,
                   transfer_hours=_days_between(ae["decision_to_admit_time"], ae["departure_time"]) * 24,
                   disposed_admitted=ae["disposal"] == "admitted")
    linked = spells[spells["attendance_id"].notna()][["attendance_id", "specialty", "los", "pathway", "site_code",
                                                      "ready"]]
    ae = ae.merge(linked.rename(columns={"site_code": "bed_site", "ready": "bed_ready"}), on="attendance_id",
                  how="left")
    # admitted, for the model: to an ordinary general and acute bed (a linked spell the model covers)
    return ae.assign(admitted=ae["specialty"].notna())


def _community(c: pd.DataFrame, system: System) -> pd.DataFrame:
    icp_of_unit = {u.code: system.icp_of_district(u.district) for u in system.community_bed_unit}
    c = _places(c, system)
    ready = c["ready_for_discharge_time"].fillna(c["discharge_time"])
    return c.assign(pool_icp=c["unit_code"].map(icp_of_unit), los=_days_between(c["admission_time"], ready),
                    delay=_days_between(ready, c["discharge_time"]))


def _packages(p: pd.DataFrame) -> pd.DataFrame:
    return p.assign(start_date=pd.to_datetime(p["start_date"]), end_date=pd.to_datetime(p["end_date"]))


