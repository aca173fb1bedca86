"""Care coordination (Django app `care`): referrals into the single point of access (SPoA), tasks for
services against their standards, discharge notifications, shared care plans with consent, and the access
rules of `icsys.access.policy` applied in one place. `services` holds the operations the API (and the pages
to come) call; `api` is the django-ninja router."""
