"""What eFI2 reads from the GP record besides coded deficits: BMI, alcohol intake and smoking status
records for people 65+, and the BNF code of each medicine. Its own random stream, so the other
tables of a chunk are the same with or without it.

Rates (approximate, for plausibility, not calibration):
- BMI recorded in the last 5 years for about 85 % of people 65+ (QOF and NHS Health Check recording in
  older people; the brief's 80-90 %); values from Health Survey for England 2019 (mean BMI about 27.5 at
  65+, SD about 4.5), which puts about 3 % below 18.5.
- Alcohol recorded for about 75 % of people 65+ within the simulated years; among them (Health Survey
  for England 2019, alcohol consumption by age, in eFI2's bands): about 22 % non-drinkers, 66 % 1-20
  units a week, 9 % 21-48, 2 % 49+, 1 % ex-heavy drinkers.
- Smoking status recorded for about 60 % of people 65+ in the simulated years (besides the status
  records of all adults in primary_care); current smokers about 7 % of people 65+ (ONS, Adult smoking
  habits in the UK 2023: 6-8 % at 65+), more in deprived areas; ex-smokers about 45 %.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pyarrow as pa

from icsys.codes import read
from icsys.synth.context import Population, SynthContext
from icsys.synth.timing import category, seasonal_days

BMI, ALCOHOL_UNITS_WEEK, TEETOTALLER, EX_HEAVY_DRINKER = "60621009", "1082641000000106", "105542008", "160585006"
CURRENT_SMOKER, EX_SMOKER, NEVER_SMOKED = "77176002", "8517006", "266919005"
UNITS = {ALCOHOL_UNITS_WEEK: "{drink}/wk"}
OLDER = 65
BMI_RECORDED, ALCOHOL_RECORDED, SMOKING_RECORDED = 0.85, 0.75, 0.60
ALCOHOL_BANDS = {"zero": 0.22, "lower": 0.66, "higher": 0.09, "harmful": 0.02, "previous": 0.01}
CURRENT_SMOKERS, EX_SMOKERS = 0.07, 0.45


class Rows(Protocol):
    def add(self, owner: np.ndarray, day: np.ndarray, code: np.ndarray | str,
            value: np.ndarray | None = None) -> None: ...


def add_records(ctx: SynthContext, pop: Population, first: np.ndarray, span: np.ndarray, rows: Rows) -> None:
    """BMI, alcohol and smoking records of people 65+ at the start, on days within their registration."""
    rng = ctx.rng("lifestyle", pop.chunk)
    older = np.flatnonzero((pop.age_on(ctx.start_day) >= OLDER) & (span > 0))

    def some(share: float) -> np.ndarray:
        return older[rng.random(len(older)) < share]

    def days(owner: np.ndarray) -> np.ndarray:
        return seasonal_days(rng, first[owner], span[owner], 0.0)

    bmi = some(BMI_RECORDED)
    rows.add(bmi, days(bmi), BMI, np.round(np.clip(rng.normal(27.5, 4.5, len(bmi)), 13, 60), 1))

    drinkers = some(ALCOHOL_RECORDED)
    band = rng.choice(list(ALCOHOL_BANDS), size=len(drinkers), p=list(ALCOHOL_BANDS.values()))
    units = np.select([band == "lower", band == "higher", band == "harmful"],
                      [rng.integers(1, 21, len(band)), rng.integers(21, 49, len(band)),
                       rng.integers(49, 90, len(band))], 0).astype(float)
    coded = (band == "previous") | ((band == "zero") & (rng.random(len(band)) < 0.5))
    rows.add(drinkers[~coded], days(drinkers[~coded]), ALCOHOL_UNITS_WEEK, units[~coded])
    rows.add(drinkers[coded], days(drinkers[coded]), np.where(band[coded] == "previous", EX_HEAVY_DRINKER, TEETOTALLER))

    smokers = some(SMOKING_RECORDED)
    deprived = (5.5 - pop.imd_decile[smokers]) / 4.5  # -1 least deprived to +1 most
    p_current = np.clip(CURRENT_SMOKERS * (1 + 0.6 * deprived), 0, 1)
    draw = rng.random(len(smokers))
    status = np.where(draw < p_current, CURRENT_SMOKER, np.where(draw < p_current + EX_SMOKERS, EX_SMOKER,
                                                                  NEVER_SMOKED))
    rows.add(smokers, days(smokers), status)


def bnf_codes(dmd_codes: list[str], extra: dict[str, str] | None = None) -> list[str | None]:
    """The BNF code of each dm+d product (codes/medication_bnf.csv, then `extra`), None where it has none."""
    by_dmd = {row.code: row.codelist for row in read("medication_bnf")} | (extra or {})
    return [by_dmd.get(code) for code in dmd_codes]


def bnf_column(index: np.ndarray, dmd_codes: list[str], extra: dict[str, str] | None = None) -> pa.DictionaryArray:
    """The bnf_code column of medicine rows whose dm+d codes are `dmd_codes[index]`."""
    labels = bnf_codes(dmd_codes, extra)
    if None in labels:
        missing = [d for d, b in zip(dmd_codes, labels, strict=True) if b is None]
        raise KeyError(f"codes/medication_bnf.csv has no BNF code for dm+d {', '.join(missing)}")
    return category(index, labels)
