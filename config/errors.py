"""Domain errors raised by services; the API maps them onto HTTP statuses (config.api.errors).

Plain Python: services stay independent of DRF, and the admin or a Celery task can catch them too.
"""


class DomainError(Exception):
    """A rule of the marketplace refused an action. ``code`` is stable and machine-readable."""

    code = "domain_error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class NotAllowed(DomainError):
    """The actor may see the object but may not do this to it (wrong role, not the owner)."""

    code = "permission_denied"
    http_status = 403


class InvalidTransition(DomainError, ValueError):
    """The object's current state does not allow this action (publish a closed gig, hire twice).

    Also a ValueError: gig_publish raised ValueError before the API existed, and callers may catch it.
    """

    code = "invalid_transition"
    http_status = 409


class AlreadyExists(DomainError):
    """The action would duplicate something that may exist only once (second proposal, review)."""

    code = "conflict"
    http_status = 409


class StaleVersion(DomainError):
    """An edit was based on an older version of the object than the one stored (optimistic lock)."""

    code = "precondition_failed"
    http_status = 412


class InvalidInput(DomainError):
    """Input that is well-formed but breaks a rule only a service can check (budget min > max)."""

    code = "invalid"
    http_status = 400
