"""Access to personal data, in one seam: who is asking (`Actor`), what they may do and see (`policy`),
and the record of every release (`Auditor`, writing to an append-only audit database). Plain Python:
the command line, the web and the care service all build on it; nothing here imports Django."""

from icsys.access.actor import Actor, ActorError, local_actor
from icsys.access.audit import AuditDatabase, Auditor, AuditRecord, open_audit
from icsys.access.policy import AccessDenied, Scope, may, require, scope

__all__ = ["AccessDenied", "Actor", "ActorError", "AuditDatabase", "AuditRecord", "Auditor", "Scope",
           "local_actor", "may", "open_audit", "require", "scope"]
