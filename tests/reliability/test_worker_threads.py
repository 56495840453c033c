"""A Celery worker's pool processes share the CPUs when they encode: a real worker of concurrency
2, real tasks through Redis, the threads each process's model runs with read from its own log.

Left to torch, each process of a prefork pool takes a thread per CPU: on 2 CPUs a worker of
concurrency 2 encoded at about half the model's speed (docs/benchmarks.md, section 2)."""

import json

import pytest

from matching.encoder import available_cpus
from tests.reliability import data
from tests.reliability.harness import report, wait_until

pytestmark = [pytest.mark.slow]


def _records(log: str, msg: str) -> list[dict]:
    out = []
    for line in log.splitlines():
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:  # a line of something else that happens to start with a brace
            continue
        if record.get("msg") == msg:
            out.append(record)
    return out


def test_a_worker_of_concurrency_two_gives_each_process_its_share_of_the_cpus(stack):
    cpus = available_cpus()  # as the worker counts them
    share = max(1, cpus // 2)
    ids = data.freelancers(stack, 48, "threads")
    stack.start_worker("worker", concurrency=2, MATCHING_ENCODER_THREADS="0")
    stack.shell(
        "from matching import tasks\n"
        + "".join(f"tasks.embed_freelancers.delay({ids[k : k + 8]})\n" for k in range(0, 48, 8))
    )
    wait_until(lambda: len(data.vector_counts(stack, ids)) == len(ids), timeout=120, interval=1, what="the vectors")
    log = stack.log("worker")
    [planned] = _records(log, "encoder threads per worker process")
    assert planned["threads"] == share and planned["concurrency"] == "2"
    loads = _records(log, "matching model loaded")
    assert loads, "no process of the worker loaded the model"
    assert {r["threads"] for r in loads} == {share}  # every process that encoded: its share, not every CPU
    assert data.vector_counts(stack, ids) == {pid: 2 for pid in ids}
    report(f"worker threads: concurrency 2 on {cpus} CPUs, {len(loads)} processes encoded with {share} thread(s) each")


def test_matching_encoder_threads_decides_for_a_workers_processes(stack):
    ids = data.freelancers(stack, 8, "explicit")
    stack.start_worker("worker", concurrency=2, MATCHING_ENCODER_THREADS="3")
    stack.shell(f"from matching import tasks\ntasks.embed_freelancers.delay({ids})\n")
    wait_until(lambda: len(data.vector_counts(stack, ids)) == len(ids), timeout=120, interval=1, what="the vectors")
    log = stack.log("worker")
    assert [r["threads"] for r in _records(log, "encoder threads per worker process")] == [3]
    assert {r["threads"] for r in _records(log, "matching model loaded")} == {3}
