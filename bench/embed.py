"""Embedding pipeline throughput: the real worker path against raw SentenceTransformer.encode.

    python -m bench.embed [--profiles 1024] [--batch 64] [--concurrency N]

On the bench database (grown to at least --profiles synthetic freelancers if needed) the chosen
profiles' documents and vectors are deleted, then, segment by segment (--segment tasks of
--batch profiles), four ways of turning the same profiles into vectors, in an order that rotates
from one segment to the next, so drift on a shared machine falls on all alike:

- raw, one process: ``SentenceTransformer.encode`` of exactly the texts the pipeline will encode
  (both views of every profile of a task, a call per task, the encoder's batch size, normalised),
  with torch's default threads (one per CPU);
- raw, N processes (--concurrency, default: the CPUs) of one CPU's share of threads each, taking
  the same calls from a queue: the model's throughput when the CPUs are shared out by process;
- the task body in one process: ``embed_freelancers(ids)`` (read rows, build documents, write the
  full-text documents and their postings, encode, upsert vectors, which also inserts them into
  the HNSW graphs) called here, without the broker, with torch's default threads;
- the deployed worker: a real ``celery worker --concurrency N`` (prefork, the production task
  settings, its processes' torch threads as it sets them: ``MATCHING_ENCODER_THREADS``), sent
  one ``embed_freelancers`` message per task through Redis; timed from sending to the last task's end, as the worker's
  own log says (waiting costs the worker nothing); then every vector is checked written.

Prints profiles/s of each and the ratios: the deployed worker against the faster raw layout (the
model's best throughput on this machine) is the figure the target is about; the task body in one
process against one-process raw is the figure of earlier passes. Before every segment, one raw
call over all its texts as well (the model sorts a call by length, and larger calls pad less).
The profiles' original vectors are restored afterwards and the table vacuumed, so a later run
meets the same HNSW graph.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import time
from datetime import datetime

from bench.common import OUT, peak_rss_mib, start_bench, start_celery_worker, write_json


def _raw_process(threads: int, jobs, done, ready) -> None:
    """A raw encoder process: encodes each call it is given with ``threads`` torch threads."""
    from bench.common import setup_django

    setup_django()
    import torch

    from matching.encoder import BATCH_SIZE, get_encoder

    model = get_encoder()._model
    torch.set_num_threads(threads)  # after the load, which applies MATCHING_ENCODER_THREADS
    model.encode(["warm up"] * 8, batch_size=BATCH_SIZE, show_progress_bar=False)
    ready.put(torch.get_num_threads())
    while (texts := jobs.get()) is not None:
        model.encode(
            texts, batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        done.put(len(texts))


class RawPool:
    """N processes of ``threads`` torch threads each, taking raw encode calls from one queue."""

    def __init__(self, processes: int, threads: int) -> None:
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: torch's threads are not forked
        self.jobs, self.done, ready = ctx.Queue(), ctx.Queue(), ctx.Queue()
        args = (threads, self.jobs, self.done, ready)
        self.procs = [ctx.Process(target=_raw_process, args=args) for _ in range(processes)]
        for p in self.procs:
            p.start()
        self.threads = [ready.get(timeout=300) for _ in self.procs]

    def run(self, calls: list[list[str]]) -> float:
        t = time.perf_counter()
        for texts in calls:
            self.jobs.put(texts)
        for _ in calls:
            self.done.get(timeout=600)
        return time.perf_counter() - t

    def close(self) -> None:
        for _ in self.procs:
            self.jobs.put(None)
        for p in self.procs:
            p.join(timeout=30)


class CeleryWorker:
    """A real Celery worker on the bench queue; a segment's tasks go to it through Redis.

    When a task ended is read from the worker's own log (its ``succeeded`` line's timestamp), so
    waiting for the worker costs it nothing."""

    def __init__(self, concurrency: int, log_path) -> None:
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(log_path, "wb")
        self.read_at = 0
        self.records: list[dict] = []
        env = {**os.environ, "LOG_LEVEL": "INFO"}
        log, err = self.log, subprocess.STDOUT
        self.proc = start_celery_worker(concurrency, loglevel="INFO", env=env, stdout=log, stderr=err)

    def _read(self) -> list[dict]:
        with open(self.log_path, "rb") as fh:
            fh.seek(self.read_at)
            chunk = fh.read()
        end = chunk.rfind(b"\n") + 1  # whole lines only
        self.read_at += end
        for line in chunk[:end].decode(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    self.records.append(json.loads(line))
                except ValueError:
                    continue
        return self.records

    def loaded(self) -> list[dict]:
        """The model loads its processes logged (one per process that has encoded)."""
        return [r for r in self._read() if r.get("msg") == "matching model loaded"]

    def run(self, batches: list[list[int]], timeout: float = 600) -> float:
        """Seconds from sending ``embed_freelancers`` for each batch to the last one's end."""
        from matching.tasks import embed_freelancers

        seen = len(self._read())
        start = time.time()
        pending = {embed_freelancers.delay(batch).id for batch in batches}
        ended = start
        while pending:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the Celery worker exited ({self.proc.returncode}); see {self.log_path}")
            if time.time() - start > timeout:
                raise RuntimeError(f"{len(pending)} of {len(batches)} tasks not done in {timeout:.0f}s")
            time.sleep(0.05)
            records = self._read()
            for record in records[seen:]:
                task = (record.get("data") or {}).get("id")
                if task not in pending or record.get("logger") != "celery.app.trace":  # the task's end
                    continue
                if "succeeded" not in record.get("msg", ""):
                    raise RuntimeError(f"a bench task did not succeed: {record.get('msg')}")
                pending.discard(task)
                ended = max(ended, datetime.fromisoformat(record["ts"]).timestamp())
            seen = len(records)
        return ended - start

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=64, help="profiles per task (tasks.EMBED_BATCH)")
    parser.add_argument("--segment", type=int, default=4, help="tasks per segment (each way runs a whole segment)")
    parser.add_argument("--concurrency", type=int, default=0, help="worker and raw processes (default: the CPUs)")
    parser.add_argument("--json", default=str(OUT / "embed.json"))
    args = parser.parse_args()
    for name in ("profiles", "batch", "segment"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.concurrency < 0:
        parser.error("--concurrency must be 0 (the CPUs) or more")
    info = start_bench()
    from django.db import connection
    from tqdm import tqdm

    from bench.synthetic import freelancer_count, seed_freelancers
    from marketplace.models import FreelancerProfile
    from matching.documents import freelancer_document
    from matching.encoder import BATCH_SIZE, active_model, available_cpus, get_encoder
    from matching.models import EmbeddingView, FreelancerDocument, FreelancerEmbedding
    from matching.tasks import embed_freelancers

    concurrency = args.concurrency or available_cpus()
    warm = 2 * concurrency * 8  # profiles embedded by the Celery worker before timing (model loads)
    if freelancer_count() < args.profiles + warm:
        seed_freelancers(args.profiles + warm)
    all_ids = list(FreelancerProfile.objects.order_by("id").values_list("id", flat=True)[: args.profiles + warm])
    ids, warm_ids = all_ids[: args.profiles], all_ids[args.profiles :]
    profiles = FreelancerProfile.objects.filter(id__in=ids).prefetch_related("skill_claims__skill").order_by("id")
    views = {}
    for p in profiles:
        doc = freelancer_document(p)
        views[p.id] = [doc.views[EmbeddingView.FULL], doc.views[EmbeddingView.SKILLS]]
    batches = [ids[i : i + args.batch] for i in range(0, len(ids), args.batch)]
    texts = [[t for pid in b for t in views[pid]] for b in batches]
    encoder = get_encoder()
    model = encoder._model
    model.encode(texts[0][:64], batch_size=BATCH_SIZE, normalize_embeddings=True)  # warm-up
    version = active_model().version

    def raw_here(calls: list[list[str]]) -> float:
        t = time.perf_counter()
        for chunk in calls:
            model.encode(chunk, batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True)
        return time.perf_counter() - t

    def forget(profile_ids: list[int]) -> None:
        FreelancerEmbedding.objects.filter(profile_id__in=profile_ids).delete()
        FreelancerDocument.objects.filter(profile_id__in=profile_ids).delete()

    def written(profile_ids: list[int]) -> int:
        with connection.cursor() as c:
            c.execute(
                "SELECT count(*) FROM matching_freelancerembedding WHERE profile_id = ANY(%s) AND model_version = %s",
                [profile_ids, version],
            )
            return c.fetchone()[0]

    def worker_here(segment: list[list[int]]) -> float:
        forget([pid for b in segment for pid in b])
        t = time.perf_counter()
        for batch in segment:
            embed_freelancers(batch)
        return time.perf_counter() - t

    def worker_celery(segment: list[list[int]]) -> float:
        profile_ids = [pid for b in segment for pid in b]
        forget(profile_ids)
        seconds = celery.run(segment)
        if written(profile_ids) != 2 * len(profile_ids):
            raise RuntimeError(f"the Celery worker wrote {written(profile_ids)} vectors, not {2 * len(profile_ids)}")
        return seconds

    with connection.cursor() as c:
        c.execute("DROP TABLE IF EXISTS bench_saved_embeddings")
        c.execute(
            "CREATE TABLE bench_saved_embeddings AS SELECT * FROM matching_freelancerembedding "
            "WHERE profile_id = ANY(%s)",
            [all_ids],
        )
    threads_each = max(1, available_cpus() // concurrency)
    times = {"raw_one": 0.0, "raw_pool": 0.0, "worker_one": 0.0, "worker_celery": 0.0, "raw_big": 0.0}
    pool = celery = None
    try:
        print(f"starting {concurrency} raw encoder processes and a Celery worker of concurrency {concurrency} ...")
        pool = RawPool(concurrency, threads_each)
        celery = CeleryWorker(concurrency, OUT / "embed-worker.log")
        # Until each worker process has loaded the model: small tasks of profiles outside the timed ones.
        deadline = time.monotonic() + 300
        while len(celery.loaded()) < concurrency:
            if time.monotonic() > deadline:
                loads = len(celery.loaded())
                raise RuntimeError(f"the Celery worker's processes loaded the model {loads} times, not {concurrency}")
            warm_chunks = [warm_ids[i : i + 8] for i in range(0, len(warm_ids), 8)]
            worker_celery(warm_chunks)
        worker_threads = [line.get("threads") for line in celery.loaded()]
        segments = [
            (batches[k : k + args.segment], texts[k : k + args.segment]) for k in range(0, len(batches), args.segment)
        ]
        ways = {
            "raw_one": lambda seg, calls: raw_here(calls),
            "raw_pool": lambda seg, calls: pool.run(calls),
            "worker_one": lambda seg, calls: worker_here(seg),
            "worker_celery": lambda seg, calls: worker_celery(seg),
        }
        order = list(ways)
        for k, (seg, calls) in enumerate(tqdm(segments, desc="segments (4 ways each)", unit="segment")):
            times["raw_big"] += raw_here([[t for chunk in calls for t in chunk]])
            for name in order[k % len(order) :] + order[: k % len(order)]:
                times[name] += ways[name](seg, calls)
    finally:
        if celery is not None:
            celery.close()
        if pool is not None:
            pool.close()
        with connection.cursor() as c:
            c.execute("DELETE FROM matching_freelancerembedding WHERE profile_id = ANY(%s)", [all_ids])
            c.execute("INSERT INTO matching_freelancerembedding SELECT * FROM bench_saved_embeddings")
            c.execute("DROP TABLE bench_saved_embeddings")
        # Documents a stopped run left deleted are written again (the vectors are current: no encoding).
        for k in range(0, len(all_ids), args.batch):
            embed_freelancers(all_ids[k : k + args.batch])
        print("vacuuming the vectors' table (the deleted rows leave the HNSW graphs) ...")
        with connection.cursor() as c:
            c.execute("VACUUM (ANALYZE) matching_freelancerembedding")
    n = len(ids)
    rate = {name: n / seconds for name, seconds in times.items()}
    best_raw = max(rate["raw_one"], rate["raw_pool"])
    result = {
        "profiles": n,
        "texts": sum(len(c) for c in texts),
        "batch": args.batch,
        "segment_tasks": args.segment,
        "concurrency": concurrency,
        "seconds": times,
        "profiles_per_s": rate,
        "ratio_worker_vs_best_raw": rate["worker_celery"] / best_raw,
        "ratio_worker_vs_raw_pool": rate["worker_celery"] / rate["raw_pool"],
        "ratio_task_body_vs_raw_one": rate["worker_one"] / rate["raw_one"],
        "ratio_task_body_vs_big_calls": rate["worker_one"] / rate["raw_big"],
        "torch_threads": {
            "this_process": __import__("torch").get_num_threads(),
            "raw_pool": pool.threads if pool else None,
            "celery_worker": worker_threads,
        },
        "bench_peak_rss_mib": peak_rss_mib(),
    }
    th = result["torch_threads"]
    print(
        f"\n{n} profiles ({result['texts']} texts) in {len(batches)} tasks of {args.batch}, "
        f"{len(segments)} segments\n"
        f"raw encode, 1 process x {th['this_process']} threads      : {rate['raw_one']:6.1f} profiles/s "
        f"(in one call per segment: {rate['raw_big']:.1f})\n"
        f"raw encode, {concurrency} processes x {threads_each} threads      : {rate['raw_pool']:6.1f} profiles/s\n"
        f"task body, 1 process x {th['this_process']} threads       : {rate['worker_one']:6.1f} profiles/s\n"
        f"Celery worker, concurrency {concurrency} (threads {worker_threads}): "
        f"{rate['worker_celery']:6.1f} profiles/s\n"
        f"ratio deployed worker / best raw = {result['ratio_worker_vs_best_raw']:.3f} "
        f"(/ raw in the same layout {result['ratio_worker_vs_raw_pool']:.3f}); "
        f"task body in one process / raw one process = {result['ratio_task_body_vs_raw_one']:.3f}  "
        f"(peak RSS {result['bench_peak_rss_mib']:.0f} MiB)"
    )
    write_json(args.json, {"machine": info, "result": result})


if __name__ == "__main__":
    main()
