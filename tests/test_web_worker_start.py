"""A web worker loads the matching model when it starts, in the background (config/wsgi.py), so
the first talent search it serves does not wait for the load."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import json, threading
import config.wsgi
from matching import encoder
loaders = [t for t in threading.enumerate() if t.name == "matchwork-model-load"]
for thread in loaders:
    thread.join(120)
from django.test import Client
health = Client().get("/healthz", secure=True).json()
print(json.dumps({"loaders": len(loaders), "loaded": sorted(encoder._encoders), "active": encoder.active_model().key,
                  "health": health["model_loaded"]}))
"""


def start_worker(load_at_start: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "MATCHING_LOAD_MODEL_AT_START": load_at_start}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.model
def test_a_web_worker_loads_the_model_at_start_without_a_request():
    result = start_worker("true")
    assert result["loaders"] == 1
    assert result["loaded"] == [result["active"]]
    assert result["health"] is True  # /healthz says so


def test_the_load_at_start_can_be_turned_off():
    result = start_worker("false")
    assert result["loaders"] == 0
    assert result["loaded"] == []
    assert result["health"] is False


def test_a_process_forked_while_the_model_loads_can_still_load_it():
    from matching import encoder

    with encoder._lock:  # as while the loading thread holds it, in a gunicorn master run with --preload
        pid = os.fork()
        if pid == 0:  # the child: its own lock, free
            os._exit(0 if encoder._lock.acquire(timeout=5) else 1)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
