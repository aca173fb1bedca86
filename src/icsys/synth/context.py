"""What every part of the generator shares: the system, the period, the scale and the random streams.

The population is generated in chunks of whole practices so memory stays bounded at any scale;
each chunk and each table draws from its own stream, derived from the seed and a stable key, so
the same seed gives identical tables however the work is ordered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from icsys.system import System

DEFAULT_END = date(2026, 3, 31)  # end of financial year 2025/26: fixed so a seed always gives the same data


@dataclass(frozen=True)
class SynthContext:
    system: System
    scale: float
    years: int
    seed: int
    end: date = DEFAULT_END  # last day covered, inclusive

    @property
    def start(self) -> date:
        """First day covered: the same calendar day `years` years before the day after `end`."""
        after = self.end + timedelta(days=1)
        try:
            return after.replace(year=after.year - self.years)
        except ValueError:  # 29 February in a year that has none
            return date(after.year - self.years, 3, 1)

    @property
    def start_day(self) -> np.datetime64:
        return np.datetime64(self.start, "D")

    @property
    def end_day(self) -> np.datetime64:
        """The day after the last day covered (exclusive bound)."""
        return np.datetime64(self.end, "D") + 1

    @property
    def days(self) -> int:
        return int((self.end_day - self.start_day).astype(int))

    def rng(self, *key: str | int) -> np.random.Generator:
        """An independent random stream for `key` (e.g. ("ae_attendance", chunk_index))."""
        digest = hashlib.sha256("/".join(str(k) for k in key).encode()).digest()
        words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, *words])))


@dataclass
class Population:
    """One chunk of people, as arrays aligned by position, with the traits activity depends on.

    Dates are numpy datetime64[D]; NaT means "none". person_id is global (unique across chunks).
    `conditions` maps a condition name (see icsys/codes/conditions.csv) to a boolean array: True if
    the person has the condition by the end of the period, with `onset` the date it began (NaT if none
    or if onset is before the record starts). `diagnosed` says whether it is on the GP record:
    deliberate gaps (dementia, hypertension) are people with the condition who are not diagnosed.
    """

    chunk: int
    person_id: np.ndarray  # int64
    sex: np.ndarray  # "F" / "M"
    birth_date: np.ndarray  # datetime64[D], first of the month
    imd_decile: np.ndarray  # int8, 1 most deprived
    district: np.ndarray  # object: district code
    practice_code: np.ndarray  # object: ODS code
    ethnicity: np.ndarray  # NHS ethnic category letter
    lsoa_code: np.ndarray  # object
    registration_start: np.ndarray  # datetime64[D]
    registration_end: np.ndarray  # datetime64[D], NaT if still registered
    death_date: np.ndarray  # datetime64[D], NaT if alive at end
    place_of_death: np.ndarray  # object, "" if alive
    care_home: np.ndarray  # bool: lives in a care home
    frailty: np.ndarray  # float: eFI-like score at the start of the period (deficits / 36)
    ltc_count: np.ndarray  # int: long-term conditions at the start
    propensity: np.ndarray  # float, mean ~1: person-level multiplier on use of services (age, frailty,
    #                         multimorbidity, deprivation and a random effect)
    conditions: dict[str, np.ndarray] = field(default_factory=dict)
    onset: dict[str, np.ndarray] = field(default_factory=dict)
    diagnosed: dict[str, np.ndarray] = field(default_factory=dict)
    deficits: np.ndarray | None = None  # int: eFI deficits on the record (frailty = deficits / 36)
    drift: np.ndarray | None = None  # float (people x years of the period): multiplier on propensity each
    #                                  year, mean 1 per person (good and bad years)
    # Registration history: a person who changed practice within the system was registered with
    # `earlier_practice` ("" for none) from registration_start until `practice_since` (NaT for none).
    earlier_practice: np.ndarray | None = None
    practice_since: np.ndarray | None = None

    def drift_on(self, owner: np.ndarray, day: np.ndarray, start: np.datetime64) -> np.ndarray:
        """Each row's yearly drift on `day` (1 where the population has none)."""
        if self.drift is None:
            return np.ones(len(owner))
        year = np.clip((day.astype("datetime64[D]") - start).astype(np.int64) // 365, 0, self.drift.shape[1] - 1)
        return self.drift[owner, year]

    def __len__(self) -> int:
        return len(self.person_id)

    def age_on(self, day: np.datetime64 | np.ndarray) -> np.ndarray:
        """Age in whole years on `day` (scalar or per person)."""
        return ((np.asarray(day, "datetime64[D]") - self.birth_date).astype(int) // 365.25).astype(np.int16)

    def alive_days(self, start: np.datetime64, end: np.datetime64) -> tuple[np.ndarray, np.ndarray]:
        """Per person, the first and last+1 day they are registered and alive within [start, end)."""
        first = np.maximum(self.registration_start, start)
        last = np.where(np.isnat(self.registration_end), end, np.minimum(self.registration_end, end))
        last = np.where(np.isnat(self.death_date), last, np.minimum(last, self.death_date + 1))
        return first, np.maximum(first, last)
