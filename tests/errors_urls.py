"""A URLconf for tests of the last-resort error handlers: views that fail on purpose."""

from django.db import OperationalError, connection, transaction
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401


def boom(request):
    raise RuntimeError("secret internal detail")


def db_gone(request):
    raise OperationalError("server closed the connection unexpectedly")


def db_slow(request):
    with transaction.atomic(), connection.cursor() as cursor:  # SET LOCAL: this request only
        cursor.execute("SET LOCAL statement_timeout = 50")  # as DB_STATEMENT_TIMEOUT_MS sets it
        cursor.execute("SELECT pg_sleep(2)")


urlpatterns = [
    *urlpatterns,
    path("test-boom", boom),
    path("test-db-gone", db_gone),
    path("test-db-slow", db_slow),
]
