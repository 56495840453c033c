"""Shared by the benchmarks: Django setup on the bench database, machine description, percentiles."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def setup_django() -> None:
    """Configure Django for a benchmark run (production settings unless the caller set DEBUG)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    import django

    django.setup()


def start_bench() -> dict:
    """Django on the bench database, migrated; prints and returns the machine description."""
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # As a web or Celery worker does at start (config/wsgi.py, config/celery.py).
    from config.process import freeze_long_lived_objects

    freeze_long_lived_objects(after="bench started")
    info = machine()
    print_machine(info)
    return info


def start_celery_worker(concurrency: int, *, loglevel: str, env: dict, stdout, stderr=None) -> subprocess.Popen:
    """A Celery worker on the bench queue (``CELERY_QUEUE``), in a session of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", env.get("CELERY_QUEUE", "matchwork-bench"),
         "--concurrency", str(concurrency), "--loglevel", loglevel, "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=stdout, stderr=stderr, start_new_session=True,
    )  # fmt: skip


def write_json(path: str, payload: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        json.dump(payload, fh, indent=1)
    print(f"wrote {path}")


def percentiles(values: list[float]) -> dict[str, float]:
    import numpy as np

    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "mean": float("nan")}
    return {
        "p50": float(np.percentile(arr, 50)),
        "p95": float(np.percentile(arr, 95)),
        "p99": float(np.percentile(arr, 99)),
        "mean": float(arr.mean()),
    }


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def python_workload_ms(repeats: int = 7) -> float:
    """Milliseconds, best of ``repeats``, for a fixed pure-Python workload of the kind a ranking
    and a request do (tuples, dicts, strings, sorting, float arithmetic): CPython's speed on this
    machine, which neither the numpy nor the HNSW calibration of bench/ranking.py measures. Compare
    it between machines (docs/benchmarks.md)."""

    def work() -> float:
        rows = [(i * 7919 % 1000, f"s{i % 97}", i) for i in range(20_000)]
        groups: dict[str, list[float]] = {}
        for a, b, c in rows:
            groups.setdefault(b, []).append(a * 0.5 + c / 3)
        rows.sort()
        return sum(max(v) for v in groups.values()) + rows[0][0]

    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 2)


def machine() -> dict:
    """What the figures were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    info = {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python_workload_ms": python_workload_ms(),
    }
    try:
        from django.db import connection

        with connection.cursor() as c:
            c.execute("SHOW server_version")
            info["postgresql"] = c.fetchone()[0]
            c.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = c.fetchone()
            info["pgvector"] = row[0] if row else "?"
    except Exception:  # noqa: S110 - the description is best effort
        pass
    try:
        import numpy as np
        from threadpoolctl import threadpool_info

        info["numpy"] = np.__version__
        blas = [f"{p.get('internal_api')} {p.get('version')} {p.get('architecture')}" for p in threadpool_info()]
        info["blas"] = "; ".join(blas)
    except Exception:  # noqa: S110
        pass
    info["git"] = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return info


def print_machine(info: dict) -> None:
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
