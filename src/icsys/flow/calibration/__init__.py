"""`icsys flow calibrate`: a scenario fitted to the linked dataset, with a report of fit.

What is fitted, and from what:
- arrival streams per site: A&E type 1 by arrival mode, A&E type 3 (minor injuries and urgent
  treatment centres), emergency admissions not through A&E (GP and same-day emergency care),
  ordinary elective admissions, and step-up admissions to community beds; each with its mean a day
  and hour-of-day, day-of-week and month profiles (`ae_attendance`, `inpatient_spell`,
  `community_bed_stay`);
- case mixes by age band, eFI frailty category (computed from the GP record at the middle of the
  data) and specialty: each group's share, whether it is admitted, its length of stay from admission
  to ready for discharge (an empirical distribution) and its discharge pathway mix;
- time in A&E of those not admitted and from arrival to decision to admit;
- beds per site and community beds per ICP from the system definition (`icsys.system.load_system`);
- for each council, reablement (places), home care (care hours a week) and care-home places open to
  hospital discharges: the most held at once by people discharged from hospital in the last year
  of data (packages linked to a discharge by person and start date), shown beside what the system
  definition commissions; how long each is held (Kaplan-Meier, so packages still running count);
  the care hours each person needs; and the time from ready for discharge to moving (arranging);
- where each pathway leads from each site (by the council or ICP where patients live), and onward
  destinations from community beds;
- a census of the day the scenario starts, when the data reach it.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from icsys.flow.calibration.estimators import empirical, kaplan_meier
from icsys.flow.calibration.fit import Fit
from icsys.flow.calibration.read import CalibrationError, Data, extract
from icsys.flow.calibration.report import fit_report
from icsys.flow.model import Scenario
from icsys.flow.toml_out import dumps
from icsys.system import load_system

if TYPE_CHECKING:
    from icsys.dataset.store import Store

__all__ = ["CalibrationError", "Data", "Fit", "calibrate", "empirical", "extract", "fit_report", "kaplan_meier"]


def calibrate(store: Store, system_path: Path | None, start: date | None, days: int, beds: str = "system",
              progress: Any = None) -> tuple[str, str]:
    """The scenario (TOML text) and the report of fit (Markdown). `beds`: "system" takes acute and community
    beds from the system definition; "observed" takes the most occupied at once in the last year of data
    (when the data show more people in beds than the definition has, as a synthetic store can)."""
    if beds not in ("system", "observed"):
        raise CalibrationError(f"beds {beds!r}: use system or observed")
    update = progress or (lambda *_: None)
    system = load_system(system_path)
    update("reading the store (eFI of everyone, admissions, attendances, stays, packages)", 0, 3)
    data = extract(store, system)
    start = start or data.last + timedelta(days=1)
    update("fitting streams, case mixes, stays and services", 1, 3)
    fit = Fit(data, system, start, days, beds)
    scenario = fit.scenario()
    update("writing the report of fit", 2, 3)
    try:
        Scenario.model_validate(scenario)
    except ValidationError as exc:  # a bug here, not bad input: say what was produced
        raise CalibrationError(f"the calibrated scenario does not validate: {exc}") from exc
    header = {"scenario": f"Calibrated by `icsys flow calibrate` from {store.location} ({data.first} to {data.last}).\n"
                          "See the report of fit beside this file."}
    return dumps(scenario, header), fit_report(fit, store.location)
