"""``make run``: the whole product on one machine, stopped together by Ctrl-C.

Starts the embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are not set, migrates,
loads the demo data (idempotently), then runs the web server, a Celery worker and Celery beat as
child processes. Ctrl-C (or SIGTERM) stops every process it started, and the embedded servers it
started; the data under .data/ stays for the next run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from config import embedded

PY = sys.executable


def _manage(*args: str) -> None:
    subprocess.run([PY, "manage.py", *args], check=True)


def main() -> int:
    os.environ.setdefault("DJANGO_DEBUG", "1")
    started = embedded.up()
    procs: list[subprocess.Popen] = []
    try:
        _manage("migrate", "--no-input")
        _manage("seed_demo")
        host = os.environ.get("MATCHWORK_HOST", "127.0.0.1")
        port = os.environ.get("MATCHWORK_PORT", "8000")
        commands = {
            "web": [PY, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
            "worker": [PY, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=1"],
            "beat": [PY, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"],
        }
        for name, cmd in commands.items():
            procs.append(subprocess.Popen(cmd, start_new_session=True))
            print(f"[devstack] started {name} (pid {procs[-1].pid})", flush=True)
        print(
            f"[devstack] API http://{host}:{port}/api/v1/  docs /api/docs/  admin /admin/  (Ctrl-C stops all)",
            flush=True,
        )
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        print("[devstack] a process exited; stopping the rest", flush=True)
        return 1
    except KeyboardInterrupt:
        print("\n[devstack] stopping", flush=True)
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        embedded.down(started)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    sys.exit(main())
