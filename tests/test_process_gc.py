"""Web and Celery workers freeze what they load at start out of full collections (config/process.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Each process starts fresh: a frozen count only comes from the start-up hook under test.
SCRIPT = """
import gc, json, sys
before = gc.get_freeze_count()
if sys.argv[1] == "wsgi":
    import config.wsgi
else:
    import django
    django.setup()
    from celery.signals import worker_process_init
    from config.celery import app
    worker_process_init.send(sender=None)
frozen = gc.get_freeze_count()
junk = [[] for _ in range(1000)]
for item in junk:
    item.append(item)  # cyclic garbage made after start-up
del junk, item
print(json.dumps({"before": before, "frozen": frozen, "collected": gc.collect()}))
"""


def run(kind: str) -> dict:
    # Without the model load at start: its thread freezes objects too, which this test counts.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "MATCHING_LOAD_MODEL_AT_START": "false"}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, kind], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_web_worker_freezes_what_django_loaded():
    result = run("wsgi")
    assert result["before"] == 0
    assert result["frozen"] > 10_000  # Django, DRF, the apps
    assert result["collected"] >= 1000  # what comes later is still collected


def test_a_celery_worker_process_freezes_at_start():
    result = run("celery")
    assert result["before"] == 0
    assert result["frozen"] > 10_000
    assert result["collected"] >= 1000
