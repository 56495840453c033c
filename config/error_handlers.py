"""Last-resort HTTP error responses: JSON, no tracebacks, and 503 (not 500) while the database is away."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.views import defaults
from psycopg.errors import QueryCanceled

from config.api.errors import error_body

log = logging.getLogger("matchwork.errors")


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


def _is_admin(request) -> bool:
    return request.path.startswith("/admin/")


class DatabaseUnavailableMiddleware:
    """Turn a lost database connection, or a statement cancelled for running too long, into a clean
    503 with Retry-After.

    Django reconnects on the next request (CONN_HEALTH_CHECKS), so the process recovers without a
    restart once the database is back.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        if isinstance(exception.__cause__, QueryCanceled):  # DB_STATEMENT_TIMEOUT_MS: it ran too long
            event, message = "database statement timed out", "The database took too long to answer; retry shortly."
        else:
            event, message = "database unavailable", "The database is unavailable; retry shortly."
        log.warning(event, extra={"path": request.path, "error": str(exception)[:200]})
        response = _error(503, "service_unavailable", message)
        response["Retry-After"] = "5"
        return response


def server_error(request, *args, **kwargs):
    if _is_admin(request):
        return defaults.server_error(request, *args, **kwargs)
    return _error(500, "server_error", "An unexpected error occurred; it has been logged.")


def not_found(request, exception=None, *args, **kwargs):
    if _is_admin(request):
        return defaults.page_not_found(request, exception, *args, **kwargs)
    return _error(404, "not_found", "Not found.")


def bad_request(request, exception=None, *args, **kwargs):
    return _error(400, "bad_request", "Bad request.")


def permission_denied(request, exception=None, *args, **kwargs):
    if _is_admin(request):
        return defaults.permission_denied(request, exception, *args, **kwargs)
    return _error(403, "permission_denied", "You do not have permission to perform this action.")
