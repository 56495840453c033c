"""The default configuration points at the embedded servers; configured URLs win."""

import subprocess
import sys


def _settings_value(env: dict, expr: str) -> str:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; "
        f"from django.conf import settings; print({expr})"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_default_urls_are_embedded_on_loopback():
    env = {"PATH": "/usr/bin:/bin", "MATCHWORK_TESTING": "1"}
    assert _settings_value(env, "settings.DATABASES['default']['HOST']") == "127.0.0.1"
    assert _settings_value(env, "settings.DATABASES['default']['PORT']") == "54329"
    assert _settings_value(env, "settings.CELERY_BROKER_URL") == "redis://127.0.0.1:63790/0"


def test_configured_urls_win():
    env = {
        "PATH": "/usr/bin:/bin",
        "MATCHWORK_TESTING": "1",
        "DATABASE_URL": "postgres://u:p@db.internal:5433/mw",
        "REDIS_URL": "redis://cache.internal:6380/2",
    }
    assert _settings_value(env, "settings.DATABASES['default']['HOST']") == "db.internal"
    assert _settings_value(env, "settings.CELERY_BROKER_URL") == "redis://cache.internal:6380/2"


def test_production_refuses_to_start_without_secret_key():
    env = {"PATH": "/usr/bin:/bin"}
    code = "import os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; import django; django.setup()"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
