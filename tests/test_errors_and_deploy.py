"""Errors never leak internals; production settings pass Django's deployment checks."""

import os
import secrets
import subprocess
import sys

import pytest
from django.test import Client

_DEV_VARS = {"DJANGO_DEBUG", "MATCHWORK_TESTING", "DJANGO_PASSWORD_HASHERS"}


@pytest.fixture
def raw_client(settings):
    settings.ROOT_URLCONF = "tests.errors_urls"
    settings.DEBUG = False
    return Client(raise_request_exception=False)


def test_unhandled_error_is_json_500_without_traceback(raw_client):
    response = raw_client.get("/test-boom")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"]["code"] == "server_error"
    assert "secret internal detail" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_lost_database_is_503_with_retry_after(raw_client):
    response = raw_client.get("/test-db-gone")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"


@pytest.mark.django_db
def test_a_statement_cancelled_for_running_too_long_is_503_naming_it(raw_client):
    response = raw_client.get("/test-db-slow")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (
        "service_unavailable",
        "The database took too long to answer; retry shortly.",
    )


@pytest.mark.django_db
def test_db_statement_timeout_ms_sets_the_connections_statement_timeout():
    from django.db import connection

    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    show = (
        "from django.db import connection; c = connection.cursor(); "
        "c.execute('SHOW statement_timeout'); print(c.fetchone()[0])"
    )

    def shown(**extra) -> str:
        env = {**os.environ, "DATABASE_URL": url, **extra}
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", show], env=env, capture_output=True, text=True, check=True
        )
        return result.stdout.strip().splitlines()[-1]

    assert shown() == "0"  # unset: never (migrations, tasks and commands run long statements)
    assert shown(DB_STATEMENT_TIMEOUT_MS="1500") == "1500ms"


@pytest.mark.django_db
def test_unknown_url_is_json_404(raw_client):
    response = raw_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_check_deploy_is_clean_with_production_settings():
    env = {
        k: v for k, v in os.environ.items() if k not in {"DJANGO_DEBUG", "MATCHWORK_TESTING", "DJANGO_PASSWORD_HASHERS"}
    }
    env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    env["DJANGO_ALLOWED_HOSTS"] = "matchwork.example.com"
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_are_secure_by_default():
    env = {
        k: v for k, v in os.environ.items() if k not in {"DJANGO_DEBUG", "MATCHWORK_TESTING", "DJANGO_PASSWORD_HASHERS"}
    }
    env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    code = (
        "import django,os;os.environ['DJANGO_SETTINGS_MODULE']='config.settings';django.setup();"
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS,"
        " s.PASSWORD_HASHERS[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == [
        "False",
        "True",
        "True",
        "True",
        "31536000",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
