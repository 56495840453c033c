"""A URLconf for tests of the last-resort error handlers: views that fail on purpose."""

from django.db import OperationalError
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401


def boom(request):
    raise RuntimeError("secret internal detail")


def db_gone(request):
    raise OperationalError("server closed the connection unexpectedly")


urlpatterns = [*urlpatterns, path("test-boom", boom), path("test-db-gone", db_gone)]
