"""OpenID Connect sign-in in the NHS Care Identity Service 2 (CIS2) style: configured, not live.

Production sets `ICSYS_OIDC_ISSUER` (e.g. https://am.nhsidentity.spineservices.nhs.uk/openam/oauth2/realms/
root/realms/NHSIdentity/realms/Healthcare), `ICSYS_OIDC_CLIENT_ID`, `ICSYS_OIDC_CLIENT_SECRET`, and
optionally `ICSYS_OIDC_SCOPES` (default "openid profile email nationalrbacaccess associatedorgs") and
`ICSYS_OIDC_ACR` (default AAL3_ANY: a smartcard or equivalent). An OIDC client library (e.g. mozilla-django-oidc
or Authlib) does the authorisation-code flow and token validation; its user-info callback calls the hook
here, `user_from_claims`, which is the only icsys code involved: it maps the CIS2 claims to a user, a role
and organisations, and the session's authentication is recorded as "cis2" in every audit record.

CIS2's `nhsid_nrbac_roles` claim lists the user's role profiles, each with an organisation (`org_code`) and
national RBAC codes (`activity_codes`, `person_roleid`, `role_code` like "S8000:G8000:R8000"). ROLE_CODES maps
national job role codes to icsys roles; a profile whose code is not mapped gives no access.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from icsys.errors import InputError

# National RBAC job roles (the R-code of role_code) to icsys roles; extend as the ICS agrees them.
ROLE_CODES = {
    "R8000": "clinician",          # clinical practitioner
    "R8003": "clinician",          # health professional access role
    "R8008": "administrator",      # admin and clerical
    "R0260": "clinician",          # general medical practitioner
    "R1974": "care_coordinator",   # care coordinator
    "R1977": "social_worker",      # social worker
    "R8010": "privacy_officer",    # information governance (Caldicott and privacy)
}


class OidcError(InputError):
    """Claims that do not give a usable sign-in."""


def enabled() -> bool:
    return bool(settings.ICSYS_OIDC.get("issuer"))


def role_from_profile(profile: dict[str, Any]) -> str | None:
    code = str(profile.get("role_code", "")).split(":")[-1]
    return ROLE_CODES.get(code)


def user_from_claims(claims: dict[str, Any], selected_role_id: str | None = None):
    """The icsys user for a CIS2 sign-in: created or updated from the claims; role and organisation from the
    selected role profile (`selected_roleid` claim, as CIS2 sends it), else the only profile."""
    from icsys.care.models import Membership, Organisation, User

    uid = claims.get("uid") or claims.get("sub")
    if not uid:
        raise OidcError("CIS2 claims without uid or sub: no one to sign in")
    profiles = claims.get("nhsid_nrbac_roles") or []
    chosen = selected_role_id or claims.get("selected_roleid")
    profile = next((p for p in profiles if p.get("person_roleid") == chosen), None)
    if profile is None and len(profiles) == 1:
        profile = profiles[0]
    if profile is None:
        raise OidcError(f"CIS2 user {uid}: select one role profile (none of {len(profiles)} was selected)")
    role = role_from_profile(profile)
    if role is None:
        raise OidcError(f"CIS2 user {uid}: role {profile.get('role_code')!r} gives no access to icsys")
    org = Organisation.objects.filter(pk=profile.get("org_code", "")).first()
    if org is None:
        raise OidcError(f"CIS2 user {uid}: organisation {profile.get('org_code')!r} is not in the system")
    user, _ = User.objects.get_or_create(username=f"cis2:{uid}")
    user.first_name, user.last_name = claims.get("given_name", ""), claims.get("family_name", "")
    user.role = role
    user.set_unusable_password()  # CIS2 users sign in only through CIS2
    user.save()
    Membership.objects.filter(user=user).exclude(organisation=org).delete()
    Membership.objects.get_or_create(user=user, organisation=org)
    return user
