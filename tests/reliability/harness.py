"""Real processes for fault-injection tests: a dedicated PostgreSQL, Redis, gunicorn and Celery.

Every scenario gets servers of its own (loopback ports away from the suite's), so killing or
restarting them never disturbs the rest of the suite or the machine's shared services.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from config.embedded import EmbeddedPostgres, EmbeddedRedis

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


FIGURES: list[str] = []


def report(line: str) -> None:
    """A scenario's figures: printed (with -s) and repeated in the terminal summary of the run."""
    FIGURES.append(line.strip())
    print("\n[reliability] " + line.strip())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} (last={last!r})")


@dataclass
class Stack:
    """A dedicated PostgreSQL + Redis and the product's processes pointed at them."""

    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mw-rel-", dir="/tmp")))
    pg_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self):
        os.chmod(self.workdir, 0o755)
        self.pg = EmbeddedPostgres(pgdata=self.workdir / "pg", port=self.pg_port)
        self.redis = EmbeddedRedis(data_dir=self.workdir / "redis", port=self.redis_port)

    # ------------------------------------------------------------------ environment
    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/matchwork"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            CELERY_QUEUE="reliability",
            CACHE_KEY_PREFIX="reliability",
            DJANGO_DEBUG="0",
            MATCHWORK_TESTING="1",
            DJANGO_SECRET_KEY="reliability-test-secret-key-not-for-production-0123456789",
            DB_CONNECT_TIMEOUT="2",
            DB_CONN_MAX_AGE="0",
            PYTHONUNBUFFERED="1",
            # the scenarios are about faults, not moderation: a new client's gigs go live on publish
            MODERATION_NEW_CLIENT_GIGS="0",
        )
        env.update(extra)
        return env

    # ------------------------------------------------------------------ servers
    def start_servers(self) -> None:
        self.pg.start()
        self.redis.start()
        self.manage("migrate", "--no-input")

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [PY, "manage.py", *args], cwd=ROOT, env=self.env(), capture_output=True, text=True, check=check, timeout=300
        )

    def shell(self, code: str) -> str:
        """Run Django code against this stack's database and return what it prints."""
        return self.manage("shell", "-c", code).stdout.strip()

    def query(self, code: str):
        """Run Django code that assigns ``result`` and return it (JSON round trip)."""
        out = self.shell(code + "\nimport json as _j; print('RESULT=' + _j.dumps(result, default=str))")
        line = [row for row in out.splitlines() if row.startswith("RESULT=")][-1]
        return json.loads(line.removeprefix("RESULT="))

    def stop_postgres(self, mode: str = "immediate") -> None:
        self.pg.stop(mode=mode)
        wait_until(lambda: not self.pg.is_running(), what="postgres to stop")

    def start_postgres(self) -> None:
        self.pg.start()

    def stop_redis(self) -> None:
        self.redis.stop()
        wait_until(lambda: not self.redis.is_running(), what="redis to stop")

    def crash_redis(self) -> None:
        """SIGKILL the Redis server: no shutdown, only what the append-only file already holds survives."""
        os.kill(int(self.redis.pidfile.read_text().strip()), signal.SIGKILL)
        wait_until(lambda: not self.redis.is_running(), what="redis to die")
        self.redis.pidfile.unlink(missing_ok=True)

    def start_redis(self) -> None:
        self.redis.start()

    # ------------------------------------------------------------------ processes
    def start_web(self, workers: int = 2, **env: str) -> None:
        cmd = [
            PY,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.web_port}",
            "--workers",
            str(workers),
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
        ]
        self._spawn("web", cmd, **env)
        wait_until(lambda: self._port_open(self.web_port), timeout=60, what="gunicorn")

    def start_worker(
        self, name: str = "worker", concurrency: int = 1, include: str = "", **env: str
    ) -> subprocess.Popen:
        cmd = [
            PY,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "-n",
            f"{name}@%h",
            "-Q",
            "reliability",
            "--without-mingle",
            "--without-gossip",
        ]
        if include:
            cmd.append(f"--include={include}")
        return self._spawn(name, cmd, **env)

    def start_beat(self, name: str = "beat", **env: str) -> subprocess.Popen:
        cmd = [
            PY,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--loglevel=INFO",
            "--schedule",
            str(self.workdir / "celerybeat-schedule"),
        ]
        return self._spawn(name, cmd, **env)

    def queue_length(self) -> int:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            return client.llen("reliability")
        finally:
            client.close()

    def _spawn(self, name: str, cmd: list[str], **env: str) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env(**env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs[name] = proc
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @staticmethod
    def _port_open(port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                return True
        except OSError:
            return False

    # ------------------------------------------------------------------ HTTP
    def request(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        token: str | None = None,
        headers: dict | None = None,
        timeout: float = 10.0,
    ) -> tuple[int, dict | str, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.web_port}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Token {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw, status, hdrs = resp.read(), resp.status, dict(resp.headers)
        except urllib.error.HTTPError as err:
            raw, status, hdrs = err.read(), err.code, dict(err.headers)
        try:
            return status, json.loads(raw), hdrs
        except ValueError:
            return status, raw.decode(errors="replace"), hdrs

    # ------------------------------------------------------------------ teardown
    def close(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM if name == "web" else signal.SIGKILL)
        self.redis.stop()
        self.pg.stop(mode="immediate")
        if os.environ.get("RELIABILITY_KEEP_WORKDIR") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)
