"""Where each practice sits: its PCN, ICP, locality and district, with names, as one table. Person-level
figures are placed by the person's practice."""

from __future__ import annotations

import pandas as pd

from icsys.system.model import System

LEVELS = ("practice", "pcn", "icp", "district", "locality", "ics")


def practice_places(system: System) -> pd.DataFrame:
    """One row per practice: practice, pcn, icp, district, locality and ics codes, and a *_name for each."""
    pcn = {p.code: p for p in system.pcn}
    names = {kind: {x.code: x.name for x in getattr(system, kind)}
             for kind in ("practice", "pcn", "icp", "district", "locality")}
    rows = [{"practice": p.code, "pcn": p.pcn, "icp": pcn[p.pcn].icp, "district": p.district,
             "locality": pcn[p.pcn].locality or "", "ics": system.ics.code} for p in system.practice]
    frame = pd.DataFrame(rows)
    for kind, lookup in names.items():
        frame[f"{kind}_name"] = frame[kind].map(lookup).fillna("")
    frame["ics_name"] = system.ics.name
    return frame
