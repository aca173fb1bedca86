"""Shared clinical definitions: which records are an emergency admission, an elective or a maternity one, an
ordinary admission, a type 1 A&E attendance, a death or a discharge to a care home, in the codes of the NHS Data
Model and Dictionary (HES ADMIMETH, CLASSPAT, DISDEST; ECDS department type); and age, in whole years on a
date as the NHS counts it (a person is a year older on their birthday, not after 365.25 days).

Each is a tuple of codes, which `.isin` takes on an Ibis column and a pandas Series alike, and the functions
below say of a column whether each row is one, so population, performance and flow count the same thing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

# Admission method (HES ADMIMETH)
ELECTIVE_ADMISSION_METHODS = ("11", "12", "13")  # waiting list, booked, planned
EMERGENCY_ADMISSION_METHODS = ("21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28")
MATERNITY_ADMISSION_METHODS = ("31", "32")  # ante and post partum
TRANSFER_ADMISSION_METHODS = ("81",)  # an admitted patient transferred from another hospital, not an emergency
# Births in or outside the provider, high security psychiatric admissions, not applicable, not known
OTHER_ADMISSION_METHODS = ("82", "83", "84", "89", "98", "99")

# Patient classification (HES CLASSPAT)
ORDINARY_ADMISSION = "1"  # an ordinary admission, not a day case or a regular attender
REGULAR_ATTENDER_CLASSIFICATIONS = ("3", "4")  # regular day and regular night admissions

# A&E department type
TYPE_1_AE = "1"  # consultant-led 24-hour major emergency department

# Discharge destination (HES DISDEST)
DIED = "79"
# NHS run care home, local authority residential, non-NHS care home, nursing home, residential care home
CARE_HOME_DESTINATIONS = ("54", "65", "85", "86", "89")

def emergency_admission(method: Any) -> Any:
    """Whether each admission method (an Ibis string column or a pandas Series) is an emergency admission."""
    return method.isin(EMERGENCY_ADMISSION_METHODS)


def elective_admission(method: Any) -> Any:
    return method.isin(ELECTIVE_ADMISSION_METHODS)


def maternity_admission(method: Any) -> Any:
    return method.isin(MATERNITY_ADMISSION_METHODS)


def age_on(birth: ir.DateValue, day: date | ir.DateValue) -> ir.IntegerValue:
    """Whole years of age on `day` of people born on `birth` (Ibis; portable: no engine's own date difference).
    Born on 29 February, a person turns a year older on 1 March in a year that has none."""
    day = ibis.literal(day) if isinstance(day, date) else day
    before_birthday = (day.month() * 100 + day.day()) < (birth.month() * 100 + birth.day())
    return day.year() - birth.year() - before_birthday.cast("int32")


def age_in_years(birth: pd.Series, day: date) -> pd.Series:
    """Whole years of age on `day` (pandas), as age_on."""
    born = pd.to_datetime(birth)
    before_birthday = (day.month * 100 + day.day) < (born.dt.month * 100 + born.dt.day)
    return day.year - born.dt.year - before_birthday.astype(int)
