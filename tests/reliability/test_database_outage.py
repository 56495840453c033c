"""Scenario: PostgreSQL stops abruptly (immediate mode) and comes back.

While it is down the API answers clean 503s (never a 500 or a hang); afterwards the same gunicorn
processes serve again without a restart.
"""

import pytest

from tests.reliability.harness import wait_until

pytestmark = [pytest.mark.slow]


def test_clean_503_while_database_down_and_recovery_without_restart(stack):
    stack.start_web()
    status, body, _ = stack.request("GET", "/healthz")
    assert status == 200, body

    stack.stop_postgres(mode="immediate")
    statuses = [stack.request("GET", "/healthz")[0] for _ in range(5)]
    assert statuses == [503] * 5
    status, body, _headers = stack.request("GET", "/healthz")
    assert body["checks"]["database"] is False

    stack.start_postgres()
    wait_until(lambda: stack.request("GET", "/healthz")[0] == 200, timeout=30, what="API to recover")
    assert stack.procs["web"].poll() is None  # same gunicorn master, never restarted
