"""The one declarative schema of the linked dataset.

Every table and column is described once, here. The store creates its tables from it,
loaders validate against it, the synthetic generator fills it and `docs/data-dictionary.md`
is written from it. Change a table here and all four follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["string", "int", "float", "date", "timestamp", "bool", "bytes"]

DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR", "int": "BIGINT", "float": "DOUBLE",
    "date": "DATE", "timestamp": "TIMESTAMP", "bool": "BOOLEAN", "bytes": "BLOB",
}

# References to organisations resolve against the system definition, not a table.
SYSTEM_REFERENCES = ("practice", "site", "provider", "council", "community_bed_unit", "care_home")
ODS_SITE = r"^[A-Z0-9]{5}$"  # an NHS trust's site (trust code and two characters) or an independent provider's
ODS_PRACTICE = r"^[A-Z][0-9]{5}$"  # a GP practice in England or Wales
ODS_PROVIDER = r"^[A-Z0-9]{3}([A-Z0-9]{2})?$"  # an NHS trust (3 characters) or an independent provider (3 or 5)


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description: str
    required: bool = True
    codes: dict[str, str] | None = None  # allowed values and what each means
    pattern: str | None = None  # regular expression a string value must match
    minimum: float | None = None
    maximum: float | None = None
    references: str | None = None  # "table.column" or "system:<organisation kind>"
    check: Literal["nhs_number", "first_of_month"] | None = None
    # For a "system:" reference: the form (a regular expression) of a code outside the system that is kept
    # and flagged rather than refused (activity at a provider outside the ICS; a practice outside it).
    outside: str | None = None

    @property
    def sql_type(self) -> str:
        return DUCKDB_TYPES[self.type]


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: str
    # Pairs (earlier, later): where both are present the first must not come after the second.
    in_order: tuple[tuple[str, str], ...] = ()
    source: str = ""
    grain: str = ""
    # Who writes a derived table (a command of icsys); empty for the dataset's own tables, which are loaded.
    derived_by: str = ""
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(c.name for c in self.columns))

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name} has no column {name!r}")

    @property
    def time_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.type in ("date", "timestamp"))


# --- shared column definitions -------------------------------------------------------------

def _id(name: str, what: str) -> Column:
    return Column(name, "int", f"Identifier of the {what}, unique in this table.", minimum=1)


PERSON_REF = Column("person_id", "int", "The person (person.person_id).", references="person.person_id")


def _who_pays(place: str) -> tuple[Column, Column]:
    """The two flags of activity a provider records: whether its `place` (site or provider) is the ICS's and
    whether the ICB is the responsible commissioner (set on load: icsys.dataset.commissioner)."""
    return (
        Column("provider_in_ics", "bool", f"The {place} is one of the ICS's (its system definition). Activity at a "
               "provider outside the ICS is kept with false (set on load; docs/adr/010).", required=False),
        Column("commissioned_by_ics", "bool", "The ICB is the responsible commissioner, by NHS England's Who Pays? "
               "rules as simplified in docs/adr/010: the person's GP registration on the day (a practice of the "
               "ICS), else their residence where the source gives it; empty when neither is known (set on load).",
               required=False),
    )

SNOMED = r"^[1-9][0-9]{5,17}$"
DMD = r"^[1-9][0-9]{5,17}$"
ICD10 = r"^[A-Z][0-9]{2}(\.?[0-9X])?[0-9]?$"
TREATMENT_FUNCTION = r"^[1-9][0-9]{2}$"

SEX = {"F": "Female", "M": "Male"}

# NHS Data Dictionary ethnic category (2001 census categories used in NHS data sets).
ETHNIC_CATEGORY = {
    "A": "White - British", "B": "White - Irish", "C": "White - Any other White background",
    "D": "Mixed - White and Black Caribbean", "E": "Mixed - White and Black African",
    "F": "Mixed - White and Asian", "G": "Mixed - Any other mixed background",
    "H": "Asian or Asian British - Indian", "J": "Asian or Asian British - Pakistani",
    "K": "Asian or Asian British - Bangladeshi", "L": "Asian or Asian British - Any other Asian background",
    "M": "Black or Black British - Caribbean", "N": "Black or Black British - African",
    "P": "Black or Black British - Any other Black background", "R": "Other Ethnic Groups - Chinese",
    "S": "Other Ethnic Groups - Any other ethnic group", "Z": "Not stated",
}

PLACE_OF_DEATH = {
    "hospital": "NHS or other hospital", "home": "Usual residence", "care_home": "Care home",
    "hospice": "Hospice", "other": "Elsewhere",
}

# HES ADMIMETH: 1x elective, 2x emergency, 3x maternity, 8x other.
ADMISSION_METHOD = {
    "11": "Elective - from waiting list", "12": "Elective - booked", "13": "Elective - planned",
    "21": "Emergency - via A&E", "22": "Emergency - via GP", "23": "Emergency - via bed bureau",
    "24": "Emergency - via consultant outpatient clinic", "25": "Emergency - via mental health crisis team",
    "2A": "Emergency - A&E of another provider", "2B": "Emergency - transfer from another provider",
    "2C": "Emergency - baby born at home as intended", "2D": "Emergency - other means", "28": "Emergency - other means",
    "31": "Maternity - ante partum", "32": "Maternity - post partum",
    "81": "Transfer of an admitted patient from another hospital",
    "82": "Birth of a baby in this provider", "83": "Baby born outside the provider, not at home as intended",
    "84": "Admission by the admissions panel of a high security psychiatric hospital",
    "89": "High security psychiatric hospital waiting list", "98": "Not applicable", "99": "Not known",
}

PATIENT_CLASSIFICATION = {"1": "Ordinary admission", "2": "Day case", "3": "Regular day admission",
                          "4": "Regular night admission", "5": "Mothers and babies using only delivery facilities",
                          "8": "Not applicable (other maternity event)", "9": "Not known"}

# HES DISDEST (discharge destination).
DISCHARGE_DESTINATION = {
    "19": "Usual place of residence", "29": "Temporary place of residence",
    "30": "Repatriation from a high security psychiatric hospital", "37": "Court",
    "38": "Penal establishment or police station",
    "48": "Secure hospital", "49": "NHS other hospital provider - high security psychiatric",
    "50": "NHS other hospital provider - medium secure unit",
    "51": "NHS other hospital provider - ward for general patients",
    "52": "NHS other hospital provider - ward for maternity patients or neonates",
    "53": "NHS other hospital provider - ward for mentally ill or learning disabled patients",
    "54": "NHS run care home", "65": "Local authority residential accommodation",
    "66": "Local authority foster care", "79": "Not applicable - patient died",
    "84": "Non-NHS run hospital - medium secure unit",
    "85": "Non-NHS run care home", "86": "Non-NHS run nursing home", "87": "Non-NHS run hospital",
    "88": "Non-NHS run hospice", "89": "Non-NHS run residential care home",
    "98": "Not applicable - hospital provider spell not finished", "99": "Not known",
}

DISCHARGE_PATHWAY = {
    "0": "Pathway 0: home, no new support", "1": "Pathway 1: home with support (reablement, domiciliary care)",
    "2": "Pathway 2: community or intermediate-care bed", "3": "Pathway 3: care home bed",
}

AE_DEPARTMENT_TYPE = {
    "1": "Type 1: consultant-led 24-hour major emergency department",
    "2": "Type 2: consultant-led single-specialty A&E", "3": "Type 3: other A&E / minor injury unit",
    "4": "Type 4: NHS walk-in centre", "9": "Not known",
}

ARRIVAL_MODE = {"ambulance": "Brought in by ambulance", "walk_in": "Walked in or other transport",
                "not_known": "Not known"}

# ECDS acuity (Manchester-style triage levels).
ACUITY = {"1": "Immediate resuscitation", "2": "Very urgent", "3": "Urgent", "4": "Standard",
          "5": "Low acuity"}

AE_DISPOSAL = {
    "admitted": "Admitted to the same hospital", "discharged": "Discharged, no follow-up",
    "gp_follow_up": "Discharged to GP follow-up", "referred": "Referred to other outpatient or service",
    "transferred": "Transferred to another provider", "left": "Left before treatment",
    "died": "Died in department",
}

RTT_STOP_REASON = {
    "admitted": "Clock stopped by admission for treatment",
    "non_admitted": "Clock stopped by first treatment not needing admission",
    "active_monitoring": "Active monitoring started", "declined": "Patient declined treatment",
    "no_treatment": "Decision not to treat", "died": "Patient died",
}

OUTPATIENT_STATUS = {"attended": "Attended", "dna": "Did not attend", "cancelled_by_patient": "Cancelled by patient",
                     "cancelled_by_provider": "Cancelled by provider"}

CONSULTATION_MEDIUM = {"face_to_face": "Face to face", "telephone": "Telephone", "video": "Video / online",
                       "not_known": "Not known"}

TUMOUR_GROUP = {
    "breast": "Breast", "lower_gi": "Lower gastrointestinal", "upper_gi": "Upper gastrointestinal",
    "lung": "Lung", "skin": "Skin", "urological": "Urological", "gynaecological": "Gynaecological",
    "head_and_neck": "Head and neck", "haematological": "Haematological", "other": "Other",
}

CANCER_TREATMENT = {"surgery": "Surgery", "chemotherapy": "Anti-cancer drug regimen",
                    "radiotherapy": "Radiotherapy", "other": "Other / active monitoring"}

# DM01 diagnostic tests.
DIAGNOSTIC_TEST = {
    "mri": "Magnetic resonance imaging", "ct": "Computed tomography", "non_obstetric_ultrasound":
    "Non-obstetric ultrasound", "dexa": "DEXA scan", "echocardiography": "Echocardiography",
    "colonoscopy": "Colonoscopy", "flexi_sigmoidoscopy": "Flexi sigmoidoscopy", "gastroscopy": "Gastroscopy",
    "cystoscopy": "Cystoscopy", "audiology": "Audiology assessments", "sleep_studies": "Sleep studies",
    "urodynamics": "Urodynamics", "neurophysiology": "Peripheral neurophysiology",
}

AMBULANCE_CATEGORY = {"1": "Category 1: life-threatening", "2": "Category 2: emergency",
                      "3": "Category 3: urgent", "4": "Category 4: less urgent"}

COMMUNITY_SERVICE = {
    "district_nursing": "District / neighbourhood nursing", "urgent_community_response":
    "2-hour urgent community response", "virtual_ward": "Virtual ward (hospital at home)",
    "therapy": "Community therapy (physiotherapy, occupational therapy)", "frailty_team": "Community frailty team",
    "falls_service": "Falls service", "long_term_conditions": "Long-term conditions nursing",
    # the rest of the CSDS team types, grouped (mappings/csds.toml maps every CSDS code to one)
    "intermediate_care": "Home- and bed-based intermediate care, reablement and rehabilitation (NHS)",
    "integrated_team": "Integrated multidisciplinary team (jointly commissioned)",
    "specialist_nursing": "Specialist nursing and condition services (diabetes, respiratory, cardiac, tissue "
    "viability, continence ...)",
    "end_of_life": "End of life and specialist palliative care",
    "children_and_families": "Children's and family services (health visiting, school nursing, community "
    "paediatrics ...)",
    "other_community": "Other community services (dental, hearing, phlebotomy, wheelchairs, lifestyle ...)",
}

COMMUNITY_BED_SOURCE = {"step_down": "Step down from an acute bed", "step_up": "Step up from the community"}

SOCIAL_CARE_SERVICE = {
    "domiciliary": "Home care (domiciliary)", "reablement": "Reablement (short-term)",
    "residential": "Residential care home", "nursing": "Nursing home",
    "direct_payment": "Direct payment (long-term support in the community)",
    "supported_living": "Supported living", "day_care": "Day care",
}

# Talking Therapies comes from its own data set; the rest are the MHSDS team types grouped as the Mental
# Health Services Monthly Statistics group them (every MHSDS code maps to one, in mappings/mhsds.toml). Children
# and young people's services are told by the person's age, as the MHSDS access measure tells them.
MENTAL_HEALTH_SERVICE = {
    "talking_therapies": "NHS Talking Therapies for anxiety and depression (IAPT)",
    "eip": "Early intervention in psychosis", "crisis": "Crisis resolution, home treatment and crisis alternatives",
    "community_mental_health": "Community mental health team and core community services",
    "liaison": "Psychiatric liaison in a general hospital", "eating_disorder": "Community eating disorder service",
    "perinatal": "Specialist perinatal and maternal mental health",
    "learning_disability_autism": "Learning disability, autism and neurodevelopmental services",
    "forensic": "Forensic and criminal justice mental health services",
    "single_point_of_access": "Mental health single point of access",
    "other_mental_health": "Other mental health services",
}

GP_MODE = {"face_to_face": "Face to face", "telephone": "Telephone", "online": "Video or online",
           "home_visit": "Home visit"}

GP_STATUS = {"attended": "Attended", "dna": "Did not attend"}

GP_STAFF = {"gp": "GP", "nurse": "Practice nurse", "other": "Other direct patient care staff"}


def _time(name: str, description: str, required: bool = True, date: bool = False) -> Column:
    return Column(name, "date" if date else "timestamp", description, required=required)


# --- the tables ---------------------------------------------------------------------------

PERSON = Table(
    "person",
    "One row per person ever registered with a practice in the system: the spine every other table joins to. "
    "`person_id` is the dataset's pseudonym, one per person across all sources: a load links each source's "
    "person key to it (NHS numbers through the re-identification store, which alone holds them; PSEUDO_HESID "
    "and tokens through `person_link`; see docs/adr/010).",
    (
        _id("person_id", "person (pseudonymised, stable across tables)"),
        Column("nhs_number", "string", "NHS number: 10 digits, modulus 11 check digit, in an issued range "
               "(400-499 or 600-799 million) or the 900-999 million range never issued to patients, which "
               "test and synthetic data use. Empty in the analytical store: a load sends it to the "
               "re-identification store and keeps only the pseudonym (docs/adr/010).", required=False,
               check="nhs_number", pattern=r"^[0-9]{10}$"),
        Column("sex", "string", "Sex as registered.", codes=SEX),
        Column("birth_date", "date", "Date of birth, rounded to the first of the month.",
               check="first_of_month"),
        Column("ethnicity", "string", "NHS ethnic category.", codes=ETHNIC_CATEGORY),
        Column("lsoa_code", "string", "Lower layer super output area of residence (empty if not known, e.g. "
               "no fixed abode or from a FHIR Patient).", required=False, pattern=r"^[EW]0[01][0-9]{6}$"),
        Column("imd_decile", "int", "Index of Multiple Deprivation decile of the LSOA, 1 most deprived.",
               required=False, minimum=1, maximum=10),
        Column("practice_code", "string", "GP practice of the latest registration (ODS code); a practice outside "
               "the ICS is kept and marked by in_ics_population.", references="system:practice",
               outside=ODS_PRACTICE),
        Column("registration_start", "date", "Start of the latest registration with practice_code, where known.",
               required=False),
        Column("registration_end", "date", "End of registration (left or died), empty if still registered.",
               required=False),
        Column("death_date", "date", "Date of death, empty if alive.", required=False),
        Column("place_of_death", "string", "Place of death.", required=False, codes=PLACE_OF_DEATH),
        Column("in_ics_population", "bool", "Registered (latest registration) with a practice of the ICS: counted in "
               "its population. False for a person registered outside it, kept but not in its denominators; set on "
               "load (empty where not set, e.g. a synthetic store, whose people are all the ICS's).",
               required=False),
    ),
    primary_key="person_id",
    in_order=(("birth_date", "registration_start"), ("registration_start", "registration_end"),
              ("birth_date", "death_date")),
    source="GP registrations (PDS / practice systems)",
    grain="person",
)

CLINICAL_EVENT = Table(
    "clinical_event",
    "Coded events in the primary care record: diagnoses, observations with values, procedures, reviews.",
    (
        _id("event_id", "clinical event"), PERSON_REF,
        Column("event_date", "date", "Date the event was recorded as happening."),
        Column("snomed_code", "string", "SNOMED CT concept identifier.", pattern=SNOMED),
        Column("value", "float", "Numeric value where the observation has one (e.g. systolic blood pressure).",
               required=False),
        Column("unit", "string", "Unit of the value (UCUM).", required=False),
        Column("practice_code", "string", "Practice that recorded it.", references="system:practice"),
    ),
    primary_key="event_id",
    source="GP clinical systems (as in GPES / OpenSAFELY extracts)",
    grain="coded event",
)

MEDICATION = Table(
    "medication",
    "Medicines issued in primary care.",
    (
        _id("medication_id", "issue"), PERSON_REF,
        Column("issue_date", "date", "Date of issue."),
        Column("dmd_code", "string", "dm+d virtual medicinal product identifier.", pattern=DMD),
        Column("bnf_code", "string", "BNF code of the product (chemical substance or presentation); its first 6 "
               "characters are the BNF sub-subchapter that eFI2 polypharmacy counts.", required=False,
               pattern=r"^[0-9]{6}[0-9A-Z]{0,9}$"),
        Column("quantity", "float", "Quantity issued.", required=False, minimum=0),
        Column("practice_code", "string", "Issuing practice.", references="system:practice"),
    ),
    primary_key="medication_id",
    source="GP clinical systems",
    grain="medication issue",
)

AE_ATTENDANCE = Table(
    "ae_attendance",
    "Attendances at A&E departments, urgent treatment centres and minor injury units (ECDS-like).",
    (
        _id("attendance_id", "attendance"), PERSON_REF,
        Column("site_code", "string", "Site attended (ODS code); a site outside the ICS is kept and flagged.",
               references="system:site", outside=ODS_SITE),
        Column("department_type", "string", "A&E department type.", codes=AE_DEPARTMENT_TYPE),
        _time("arrival_time", "Arrival date and time."),
        _time("initial_assessment_time", "Initial assessment (triage) date and time (ECDS).", required=False),
        _time("treatment_time", "Seen for treatment by a decision-making clinician: date and time (ECDS).",
              required=False),
        _time("decision_to_admit_time", "Time of the decision to admit, if admitted.", required=False),
        _time("departure_time", "Time the patient left the department (conclusion of the attendance)."),
        Column("arrival_mode", "string", "How the patient arrived.", codes=ARRIVAL_MODE),
        Column("acuity", "string", "Acuity at initial assessment (ECDS; not in HES A&E extracts).", required=False,
               codes=ACUITY),
        Column("chief_complaint", "string", "ECDS chief complaint, a SNOMED CT concept.", required=False,
               pattern=SNOMED),
        Column("diagnosis", "string", "ECDS primary diagnosis, a SNOMED CT concept.", required=False,
               pattern=SNOMED),
        Column("disposal", "string", "Outcome of the attendance.", codes=AE_DISPOSAL),
        *_who_pays("site"),
    ),
    primary_key="attendance_id",
    in_order=(("arrival_time", "decision_to_admit_time"), ("arrival_time", "departure_time"),
              ("decision_to_admit_time", "departure_time"), ("arrival_time", "initial_assessment_time"),
              ("initial_assessment_time", "treatment_time"), ("treatment_time", "departure_time")),
    source="Emergency Care Data Set (ECDS)",
    grain="attendance",
)

INPATIENT_SPELL = Table(
    "inpatient_spell",
    "Hospital provider spells (admission to discharge), with the time a patient became medically fit "
    "for discharge (ready for discharge) and the discharge pathway they needed.",
    (
        _id("spell_id", "hospital provider spell"), PERSON_REF,
        Column("site_code", "string", "Hospital site (ODS code); a site outside the ICS is kept and flagged.",
               references="system:site", outside=ODS_SITE),
        _time("admission_time", "Admission date and time."),
        _time("ready_for_discharge_time", "When the patient no longer met the criteria to reside (MFFD).",
              required=False),
        _time("discharge_time", "Discharge date and time; empty if still in hospital.", required=False),
        Column("admission_method", "string", "HES ADMIMETH.", codes=ADMISSION_METHOD),
        Column("patient_classification", "string", "HES CLASSPAT.", codes=PATIENT_CLASSIFICATION),
        Column("specialty", "string", "Treatment function code of the lead specialty.",
               pattern=TREATMENT_FUNCTION),
        Column("primary_diagnosis", "string", "ICD-10 primary diagnosis.", pattern=ICD10),
        Column("discharge_pathway", "int", "Discharge pathway 0-3 (discharge to assess).", required=False,
               minimum=0, maximum=3),
        Column("discharge_destination", "string", "HES DISDEST.", required=False, codes=DISCHARGE_DESTINATION),
        Column("attendance_id", "int", "The A&E attendance that led to the admission, if any.", required=False,
               references="ae_attendance.attendance_id"),
        *_who_pays("site"),
    ),
    primary_key="spell_id",
    in_order=(("admission_time", "ready_for_discharge_time"), ("ready_for_discharge_time", "discharge_time"),
              ("admission_time", "discharge_time")),
    source="SUS / HES admitted patient care",
    grain="hospital provider spell",
)

RTT_PATHWAY = Table(
    "rtt_pathway",
    "Referral to treatment pathways: the 18-week clock from referral to first definitive treatment.",
    (
        _id("pathway_id", "RTT pathway"), PERSON_REF,
        Column("provider_code", "string", "Provider holding the pathway.", references="system:provider",
               outside=ODS_PROVIDER),
        Column("specialty", "string", "Treatment function code.", pattern=TREATMENT_FUNCTION),
        Column("clock_start", "date", "Clock start (receipt of referral)."),
        Column("clock_stop", "date", "Clock stop; empty while the patient is still waiting.", required=False),
        Column("stop_reason", "string", "Why the clock stopped.", required=False, codes=RTT_STOP_REASON),
        *_who_pays("provider"),
    ),
    primary_key="pathway_id",
    in_order=(("clock_start", "clock_stop"),),
    source="RTT waiting list minimum data set (WLMDS)",
    grain="pathway",
)

OUTPATIENT_APPOINTMENT = Table(
    "outpatient_appointment",
    "Outpatient appointments, first and follow-up, linked to an RTT pathway where one is open.",
    (
        _id("appointment_id", "appointment"), PERSON_REF,
        Column("site_code", "string", "Site (ODS code); a site outside the ICS is kept and flagged.",
               references="system:site", outside=ODS_SITE),
        Column("appointment_date", "date", "Date of the appointment."),
        Column("specialty", "string", "Treatment function code.", pattern=TREATMENT_FUNCTION),
        Column("first_attendance", "bool", "True for a first appointment, false for a follow-up; empty if not known.",
               required=False),
        Column("status", "string", "Attendance status.", codes=OUTPATIENT_STATUS),
        Column("consultation_medium", "string", "How it was held.", codes=CONSULTATION_MEDIUM),
        Column("pathway_id", "int", "RTT pathway, if any.", required=False, references="rtt_pathway.pathway_id"),
        *_who_pays("site"),
    ),
    primary_key="appointment_id",
    source="SUS / HES outpatients",
    grain="appointment",
)

CANCER_PATHWAY = Table(
    "cancer_pathway",
    "Urgent suspected cancer referrals and what followed: faster diagnosis, decision to treat, first treatment.",
    (
        _id("pathway_id", "cancer pathway"), PERSON_REF,
        Column("provider_code", "string", "Provider.", references="system:provider",
               outside=ODS_PROVIDER),
        Column("tumour_group", "string", "Suspected tumour group.", codes=TUMOUR_GROUP),
        Column("referral_date", "date", "Receipt of the urgent suspected cancer referral."),
        Column("diagnosis_date", "date", "Date cancer was diagnosed or ruled out (faster diagnosis standard).",
               required=False),
        Column("cancer_confirmed", "bool", "True if cancer was diagnosed.", required=False),
        Column("decision_to_treat_date", "date", "Decision to treat.", required=False),
        Column("first_treatment_date", "date", "First definitive treatment.", required=False),
        Column("treatment_modality", "string", "First treatment.", required=False, codes=CANCER_TREATMENT),
        *_who_pays("provider"),
    ),
    primary_key="pathway_id",
    in_order=(("referral_date", "diagnosis_date"), ("diagnosis_date", "decision_to_treat_date"),
              ("decision_to_treat_date", "first_treatment_date"), ("referral_date", "first_treatment_date")),
    source="Cancer Outcomes and Services Data set (COSD) / Cancer Waiting Times",
    grain="pathway",
)

DIAGNOSTIC_WAIT = Table(
    "diagnostic_wait",
    "Requests for the DM01 diagnostic tests and when the test was done.",
    (
        _id("request_id", "diagnostic request"), PERSON_REF,
        Column("provider_code", "string", "Provider.", references="system:provider",
               outside=ODS_PROVIDER),
        Column("test", "string", "Diagnostic test.", codes=DIAGNOSTIC_TEST),
        Column("request_date", "date", "Date the request was received (clock start)."),
        Column("test_date", "date", "Date of the test; empty while waiting.", required=False),
        *_who_pays("provider"),
    ),
    primary_key="request_id",
    in_order=(("request_date", "test_date"),),
    source="Diagnostic waiting times and activity (DM01)",
    grain="request",
)

AMBULANCE_INCIDENT = Table(
    "ambulance_incident",
    "999 incidents: call, response, conveyance and handover at hospital.",
    (
        _id("incident_id", "incident"), PERSON_REF,
        Column("provider_code", "string", "Ambulance service.", references="system:provider",
               outside=ODS_PROVIDER),
        Column("category", "string", "Response category.", codes=AMBULANCE_CATEGORY),
        _time("call_time", "Call connect time (clock start)."),
        _time("on_scene_time", "First vehicle on scene.", required=False),
        Column("conveyed", "bool", "True if taken to hospital."),
        Column("site_code", "string", "Hospital conveyed to.", required=False, references="system:site",
               outside=ODS_SITE),
        _time("hospital_arrival_time", "Arrival at hospital.", required=False),
        _time("handover_time", "Clinical handover to the emergency department.", required=False),
        *_who_pays("provider"),
    ),
    primary_key="incident_id",
    in_order=(("call_time", "on_scene_time"), ("on_scene_time", "hospital_arrival_time"),
              ("hospital_arrival_time", "handover_time")),
    source="Ambulance Data Set",
    grain="incident",
)

COMMUNITY_CONTACT = Table(
    "community_contact",
    "Community health service contacts, including the 2-hour urgent community response and virtual wards.",
    (
        _id("contact_id", "contact"), PERSON_REF,
        Column("provider_code", "string", "Community provider.", references="system:provider",
               outside=ODS_PROVIDER),
        Column("service", "string", "Service.", codes=COMMUNITY_SERVICE),
        _time("referral_time", "Referral received."),
        _time("contact_time", "First contact (for urgent community response: arrival with the patient)."),
        Column("end_date", "date", "Discharge from the service (virtual ward stays).", required=False),
        *_who_pays("provider"),
    ),
    primary_key="contact_id",
    in_order=(("referral_time", "contact_time"),),
    source="Community Services Data Set (CSDS)",
    grain="contact",
)

COMMUNITY_BED_STAY = Table(
    "community_bed_stay",
    "Stays in community, intermediate-care and rehabilitation beds.",
    (
        _id("stay_id", "stay"), PERSON_REF,
        Column("unit_code", "string", "Community bed unit.", references="system:community_bed_unit"),
        Column("source", "string", "Step down from hospital or step up from home.", codes=COMMUNITY_BED_SOURCE),
        _time("admission_time", "Admission."),
        _time("ready_for_discharge_time", "Ready to leave.", required=False),
        _time("discharge_time", "Discharge; empty if still there.", required=False),
        Column("discharge_destination", "string", "HES DISDEST.", required=False, codes=DISCHARGE_DESTINATION),
        Column("spell_id", "int", "Acute spell stepped down from.", required=False,
               references="inpatient_spell.spell_id"),
    ),
    primary_key="stay_id",
    in_order=(("admission_time", "ready_for_discharge_time"), ("ready_for_discharge_time", "discharge_time"),
              ("admission_time", "discharge_time")),
    source="Community Services Data Set / bed management systems",
    grain="stay",
)

SOCIAL_CARE_PACKAGE = Table(
    "social_care_package",
    "Adult social care services arranged by the council: home care, reablement, residential and nursing care.",
    (
        _id("package_id", "package"), PERSON_REF,
        Column("council_code", "string", "Council arranging the care.", references="system:council"),
        Column("service_type", "string", "Service.", codes=SOCIAL_CARE_SERVICE),
        Column("request_date", "date", "Request for support received."),
        Column("start_date", "date", "Service started."),
        Column("end_date", "date", "Service ended; empty if ongoing.", required=False),
        Column("weekly_hours", "float", "Planned hours a week (home care and reablement).", required=False,
               minimum=0, maximum=168),
        Column("care_home_code", "string", "Care home (residential and nursing).", required=False,
               references="system:care_home"),
    ),
    primary_key="package_id",
    in_order=(("request_date", "start_date"), ("start_date", "end_date")),
    source="Client Level Data (adult social care)",
    grain="package of care",
)

MENTAL_HEALTH_REFERRAL = Table(
    "mental_health_referral",
    "Referrals to mental health services, with PHQ-9 and GAD-7 at first and last contact for NHS Talking Therapies.",
    (
        _id("referral_id", "referral"), PERSON_REF,
        Column("provider_code", "string", "Provider.", references="system:provider",
               outside=ODS_PROVIDER),
        Column("service", "string", "Service.", codes=MENTAL_HEALTH_SERVICE),
        Column("referral_date", "date", "Referral received."),
        Column("first_contact_date", "date", "First treatment contact.", required=False),
        Column("last_contact_date", "date", "Last contact.", required=False),
        Column("discharge_date", "date", "Referral closed.", required=False),
        Column("phq9_first", "int", "PHQ-9 at first contact (0-27).", required=False, minimum=0, maximum=27),
        Column("phq9_last", "int", "PHQ-9 at last contact (0-27).", required=False, minimum=0, maximum=27),
        Column("gad7_first", "int", "GAD-7 at first contact (0-21).", required=False, minimum=0, maximum=21),
        Column("gad7_last", "int", "GAD-7 at last contact (0-21).", required=False, minimum=0, maximum=21),
        Column("sessions", "int", "Treatment sessions attended.", required=False, minimum=0),
        *_who_pays("provider"),
    ),
    primary_key="referral_id",
    in_order=(("referral_date", "first_contact_date"), ("first_contact_date", "last_contact_date"),
              ("referral_date", "discharge_date")),
    source="Mental Health Services Data Set (MHSDS) / IAPT data set",
    grain="referral",
)

GP_APPOINTMENT = Table(
    "gp_appointment",
    "Appointments in general practice (GPAD-like).",
    (
        _id("appointment_id", "appointment"), PERSON_REF,
        Column("practice_code", "string", "Practice.", references="system:practice"),
        _time("appointment_time", "Date and time of the appointment."),
        Column("booked_date", "date", "Date the appointment was booked."),
        Column("mode", "string", "Appointment mode.", codes=GP_MODE),
        Column("staff_type", "string", "Who it was with.", codes=GP_STAFF),
        Column("status", "string", "Attended or not.", codes=GP_STATUS),
    ),
    primary_key="appointment_id",
    in_order=(("booked_date", "appointment_time"),),
    source="GP Appointments Data (GPAD)",
    grain="appointment",
)

# --- GP registration history -----------------------------------------------------------------
# Every registration a person has had with a practice of the system, so that the registration in force on a
# date decides who is on a practice's list then (person.practice_code keeps only the latest). A practice change
# is a new registration.
GP_REGISTRATION = Table(
    "gp_registration",
    "One row per registration of a person with a GP practice: the registration history.",
    (
        _id("registration_id", "registration"), PERSON_REF,
        Column("practice_code", "string", "GP practice registered with (ODS code); a practice outside the system is "
               "kept (a person who moved away), so it is not held to the system definition."),
        Column("registration_start", "date", "First day of the registration."),
        Column("registration_end", "date", "Day the registration ended (left the practice, moved away or died), "
               "empty while registered.", required=False),
        Column("practice_in_ics", "bool", "The practice is one of the ICS's: the registration counts in its "
               "population while in force (set on load; empty where not set, e.g. a synthetic store).",
               required=False),
    ),
    primary_key="registration_id",
    in_order=(("registration_start", "registration_end"),),
    source="GP registrations (PDS / practice systems)",
    grain="registration",
)

TABLES: dict[str, Table] = {t.name: t for t in (
    PERSON, CLINICAL_EVENT, MEDICATION, AE_ATTENDANCE, INPATIENT_SPELL, RTT_PATHWAY, OUTPATIENT_APPOINTMENT,
    CANCER_PATHWAY, DIAGNOSTIC_WAIT, AMBULANCE_INCIDENT, COMMUNITY_CONTACT, COMMUNITY_BED_STAY,
    SOCIAL_CARE_PACKAGE, MENTAL_HEALTH_REFERRAL, GP_APPOINTMENT, GP_REGISTRATION,
)}


def table(name: str) -> Table:
    """The table called `name`, or a KeyError that lists the tables there are."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; tables are: {', '.join(TABLES)}") from None


# --- derived tables: what icsys writes beside the dataset ------------------------------------------
# Declared here like the dataset's own tables, so the data dictionary, `icsys info` and `icsys export` know
# them; their writers create them from these declarations. They are never loaded from files.

def _derived(name: str, description: str, by: str, grain: str, key: str, *columns: Column) -> Table:
    return Table(name, description, columns, primary_key=key, grain=grain, derived_by=by)


def _c(name: str, type_: ColumnType, description: str, required: bool = False) -> Column:
    return Column(name, type_, description, required=required)


PERSON_MEASURES = _derived(
    "person_measures",
    "Population health measures of every registered person on a date: frailty, multimorbidity, segment, "
    "case-finding flags and the risk of an emergency admission.",
    "icsys population stratify", "person on the as-of date", "person_id",
    _c("person_id", "int", "The person (person.person_id).", True),
    _c("practice_code", "string", "Registered practice on the date."),
    _c("sex", "string", "Sex, as in person."),
    _c("birth_date", "date", "Date of birth, as in person (an analyst's export shows the month only)."),
    _c("ethnicity", "string", "Ethnic category, as in person."),
    _c("imd_decile", "int", "IMD 2019 decile of the person's LSOA (1 most deprived)."),
    _c("efi_deficits", "int", "eFI deficits present (Clegg 2016; 36 in all)."),
    _c("efi_score", "float", "eFI score: deficits / 36."),
    _c("efi_category", "string", "eFI category: fit, mild, moderate or severe."),
    _c("ltc_count", "int", "Long-term conditions on the record."),
    _c("cambridge_score", "float", "Cambridge Multimorbidity Score (general outcome weights)."),
    _c("segment", "string", "Population segment (Bridges to Health style)."),
    _c("flag_dementia_medication_no_diagnosis", "bool", "Case finding: dementia medicine, no dementia diagnosis."),
    _c("flag_raised_bp_no_hypertension", "bool", "Case finding: raised blood pressure, no hypertension diagnosis."),
    _c("flag_ltc3_no_review", "bool", "Case finding: three or more LTCs and no review in the year."),
    _c("flag_ld_no_health_check", "bool", "Case finding: learning disability, no annual health check."),
    _c("flag_smi_no_health_check", "bool", "Case finding: severe mental illness, no physical health check."),
    _c("case_finding_reasons", "string", "The case-finding flags raised, in words."),
    _c("efi2_deficits", "int", "eFI2 deficits present (Best 2025); null under 65."),
    _c("efi2_score", "float", "eFI2 score: sum of coefficients / 8.429; null under 65."),
    _c("efi2_category", "string", "eFI2 category: fit, mild, moderate or severe; null under 65."),
    _c("as_of", "date", "The date the measures describe.", True),
    _c("risk_emergency_admission_12m", "float", "Predicted probability of an emergency admission in 12 months."),
    _c("risk_top_percent", "float", "The person's place in the ICS's risk ranking, as a top percentage."),
)

RISK_MODEL = _derived(
    "risk_model", "Trained risk models, stored with skops (never pickle) with their model card.",
    "icsys population train-risk (and stratify)", "model", "model_id",
    _c("model_id", "string", "Identifier of the model.", True),
    _c("trained_at", "timestamp", "When it was trained.", True),
    _c("trained_by", "string", "The actor who trained it.", True),
    _c("train_as_of", "date", "Date of the training year's predictors.", True),
    _c("validate_as_of", "date", "Date of the later validation year's predictors.", True),
    _c("features", "string", "The predictors, as JSON.", True),
    _c("model", "bytes", "The model, serialised with skops.", True),
    _c("card", "string", "The model card, as JSON.", True),
)

OPEL_STATUS = _derived(
    "opel_status", "OPEL level of each site, trust and the ICS on each day, with its score and reasons.",
    "icsys performance escalation", "organisation and day", "day, org, kind",
    _c("day", "date", "The day.", True),
    _c("org", "string", "The organisation's code.", True),
    _c("kind", "string", "site, trust or ics.", True),
    _c("score", "float", "The weighted score of the indicators."),
    _c("level", "int", "OPEL level 1-4."),
    _c("reasons", "string", "The indicators that set the level, in words.", True),
    _c("indicators", "string", "Each indicator's value and level, as JSON.", True),
    _c("computed_at", "timestamp", "When it was computed.", True),
)

LOAD_LOG = _derived(
    "load_log", "Every load: who loaded which file into which table, and how many rows were kept apart.",
    "icsys load", "table of a load", "load_id, table_name",
    _c("load_id", "string", "Identifier of the load.", True),
    _c("loaded_at", "timestamp", "When.", True),
    _c("loaded_by", "string", "The actor who loaded it.", True),
    _c("file", "string", "The file loaded.", True),
    _c("format", "string", "Its format.", True),
    _c("table_name", "string", "The table it went into.", True),
    _c("rows_loaded", "int", "Rows loaded.", True),
    _c("rows_quarantined", "int", "Rows kept apart in quarantine.", True),
    _c("rows_replaced", "int", "Rows of earlier loads this one superseded (a refresh; load_replaced lists them)."),
    _c("rows_unlinked", "int", "Rows that could not be linked to a person, kept in unlinked_record (--link apart)."),
    _c("rows_opted_out", "int", "Rows not loaded because the person is on the National Data Opt-out list."),
    _c("link_mode", "string", "How the load linked people: known, create or apart."),
    _c("source", "string", "The source the rows came from (the linkage's source: a person key belongs to one)."),
)

PERSON_LINK = _derived(
    "person_link", "Each source's pseudonymised person key (PSEUDO_HESID, a token) and the person it is. NHS "
    "numbers are never here: their link is in the re-identification store (docs/adr/010).",
    "icsys load", "source key", "source, key_kind, key_value",
    _c("source", "string", "The source whose key it is (a token means something only within its source).", True),
    _c("key_kind", "string", "pseudo_hesid or token.", True),
    _c("key_value", "string", "The key as the source sends it.", True),
    _c("person_id", "int", "The person (person.person_id): one pseudonym across all sources.", True),
    _c("load_id", "string", "The load that made the link.", True),
    _c("linked_at", "timestamp", "When.", True),
)

UNLINKED_RECORD = _derived(
    "unlinked_record", "Rows a load could not link to a person and kept apart (icsys load --link apart), "
    "verbatim but without any NHS number.",
    "icsys load --link apart", "unlinked row", "load_id, row_number",
    _c("load_id", "string", "The load (load_log.load_id).", True),
    _c("loaded_at", "timestamp", "When.", True),
    _c("source", "string", "The source of the row.", True),
    _c("table_name", "string", "The table the row was meant for.", True),
    _c("row_number", "int", "Its row in the file.", True),
    _c("key_kind", "string", "The kind of person key it carried.", True),
    _c("key_value", "string", "The key (empty for an NHS number, which never enters the analytical store)."),
    _c("record", "string", "The row as it was, as JSON (without the NHS number).", True),
)

LOAD_REPLACED = _derived(
    "load_replaced", "What each refresh superseded: the keys of the rows an extract restated.",
    "icsys load --refresh", "superseded row", "load_id, table_name, row_key",
    _c("load_id", "string", "The load that replaced the row.", True),
    _c("table_name", "string", "The table.", True),
    _c("row_key", "string", "The row's key in the source (the table's primary key).", True),
    _c("month", "date", "The month the row describes (first day), as it was before the refresh."),
)

LOAD_QUALITY = _derived(
    "load_quality", "The data-quality figures of every load, by table and month of activity: the rows offered, "
    "those refused and not linked, the cells filled and the delay from the month's end to the load "
    "(icsys data-quality reports them).",
    "icsys load", "table and month of a load", "load_id, table_name, month",
    _c("load_id", "string", "The load (load_log.load_id).", True),
    _c("loaded_at", "timestamp", "When.", True),
    _c("source", "string", "The source of the rows.", True),
    _c("table_name", "string", "The table.", True),
    _c("month", "date", "First day of the month of activity (empty when the row's date is missing or invalid)."),
    _c("rows", "int", "Rows offered for the month.", True),
    _c("rows_loaded", "int", "Rows loaded.", True),
    _c("rows_quarantined", "int", "Rows refused (invalid), kept in quarantine or refusing a strict load.", True),
    _c("rows_unlinked", "int", "Rows not linked to a person (kept apart, or refused in --link known).", True),
    _c("rows_linked", "int", "Rows linked to a person.", True),
    _c("cells_expected", "int", "Cells of the schema's columns in the rows loaded.", True),
    _c("cells_filled", "int", "Of those, the cells with a value.", True),
    _c("days_after_month_end", "int", "Days from the end of the month to the load (timeliness)."),
)

QUARANTINE = _derived(
    "quarantine", "Rows a load refused, kept verbatim with their reasons (identifiable: a data manager's only).",
    "icsys load --allow-rejects", "refused row", "load_id, file, row_number",
    _c("load_id", "string", "The load (load_log.load_id).", True),
    _c("loaded_at", "timestamp", "When.", True),
    _c("table_name", "string", "The table the row was meant for.", True),
    _c("file", "string", "The file it came from.", True),
    _c("row_number", "int", "Its row in the file.", True),
    _c("reasons", "string", "Why it was refused.", True),
    _c("record", "string", "The row as it was, as JSON.", True),
)

DERIVED_TABLES: dict[str, Table] = {t.name: t for t in (PERSON_MEASURES, RISK_MODEL, OPEL_STATUS, LOAD_LOG,
                                                        QUARANTINE, PERSON_LINK, UNLINKED_RECORD, LOAD_REPLACED,
                                                        LOAD_QUALITY)}
# What a load writes beside the dataset: the store creates these with every schema table.
LOAD_TABLES = ("load_log", "quarantine", "person_link", "unlinked_record", "load_replaced", "load_quality")
# Every table icsys knows: the dataset's own, then what it derives.
ALL_TABLES: dict[str, Table] = {**TABLES, **DERIVED_TABLES}
