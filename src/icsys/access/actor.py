"""Who is asking: an `Actor` is a named user in one or more roles, acting for organisations (ODS codes),
authenticated in a stated way, for a purpose where one applies. There is no anonymous actor.

The command line's actor is `local_actor()`: the operating system user in a local role read from a small
TOML file (`ICSYS_CONFIG`, else ~/.config/icsys/access.toml):

    role = "clinician"                 # analyst (the default), data_manager, clinician or privacy_officer
    organisations = ["G82001"]         # ODS codes the role acts for (a clinician sees only these)
    purpose = "direct care"            # optional: stated in every audit record
    audit = "sqlite:////var/lib/icsys/audit.sqlite"   # optional: the audit database (see icsys.access.audit)
"""

from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from icsys.errors import InputError

CONFIG_ENV = "ICSYS_CONFIG"
DEFAULT_CONFIG = Path("~/.config/icsys/access.toml")
DEFAULT_ROLE = "analyst"  # the least that is useful: pseudonymised rows only
CONFIG_KEYS = {"role", "roles", "organisations", "purpose", "audit"}


class ActorError(InputError):
    """No actor, or an actor that cannot be built as configured, with the reason."""


@dataclass(frozen=True)
class Actor:
    """Someone acting on personal data. `roles` and `organisations` are tuples so an Actor is hashable."""

    user: str
    roles: tuple[str, ...]
    organisations: tuple[str, ...] = ()
    authentication: str = "os-user"
    purpose: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.user, str) or not self.user.strip():
            raise ActorError("an actor needs a named user: there is no anonymous access to personal data")
        roles = (self.roles,) if isinstance(self.roles, str) else tuple(self.roles or ())
        if not roles or not all(isinstance(r, str) and r.strip() for r in roles):
            raise ActorError(f"actor {self.user!r} needs at least one role: there is no access without one")
        orgs = (self.organisations,) if isinstance(self.organisations, str) else tuple(self.organisations or ())
        if not self.authentication:
            raise ActorError(f"actor {self.user!r}: say how the user was authenticated")
        object.__setattr__(self, "roles", roles)
        object.__setattr__(self, "organisations", orgs)

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def for_purpose(self, purpose: str) -> Actor:
        """The same actor acting for a stated purpose (e.g. "direct care", "planning")."""
        return replace(self, purpose=purpose)

    def __str__(self) -> str:
        orgs = f" for {', '.join(self.organisations)}" if self.organisations else ""
        return f"{self.user} ({', '.join(self.roles)}{orgs})"


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG).expanduser()


def read_config(path: Path | None = None) -> dict[str, Any]:
    """The local access configuration; {} when the default file does not exist. A file named by
    ICSYS_CONFIG must exist, and any file must be valid, so a mistyped setting never silently widens access."""
    path = path or config_path()
    if not path.exists():
        if os.environ.get(CONFIG_ENV):
            raise ActorError(f"{CONFIG_ENV}={path}: no such file")
        return {}
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ActorError(f"{path}: not valid TOML: {exc}") from exc
    unknown = set(config) - CONFIG_KEYS
    if unknown:
        raise ActorError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}; known: "
                         f"{', '.join(sorted(CONFIG_KEYS))}")
    return config


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (e.g. in a container)
        return f"uid {os.getuid()}"


def local_actor(config: Path | None = None, purpose: str | None = None) -> Actor:
    """The command line's actor: the operating system user in the configured local role."""
    from icsys.access.policy import ROLES

    settings = read_config(config)
    where = config or config_path()
    roles = settings.get("roles", settings.get("role", DEFAULT_ROLE))
    roles = [roles] if isinstance(roles, str) else roles
    organisations = settings.get("organisations", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise ActorError(f"{where}: role must be a name or a list of names")
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ActorError(f"{where}: unknown role {', '.join(unknown)}; local roles: {', '.join(ROLES)}")
    if not isinstance(organisations, list) or not all(isinstance(o, str) for o in organisations):
        raise ActorError(f"{where}: organisations must be a list of ODS codes")
    stated = purpose or settings.get("purpose")
    return Actor(user=os_user(), roles=tuple(roles), organisations=tuple(o.upper() for o in organisations),
                 authentication="os-user", purpose=stated)


def configured_audit_url(config: Path | None = None) -> str | None:
    """The audit database the configuration names, if any (`ICSYS_AUDIT_URL` wins over the file)."""
    return os.environ.get("ICSYS_AUDIT_URL") or read_config(config).get("audit")
