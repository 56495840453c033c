"""API under load: gunicorn with production settings on 127.0.0.1 and a bounded load generator.

    python -m bench.api [--duration 20] [--concurrency 8] [--workers 2] [--threads 4]

Prepares the bench database (freelancers from the ranking bench if present, else 10k seeded;
bench gigs with a stored match run; a client and freelancers with API tokens), starts

- gunicorn ``config.wsgi`` on 127.0.0.1 (DJANGO_DEBUG=0, DJANGO_SECRET_KEY from the environment,
  DJANGO_SECURE_SSL_REDIRECT=0 because nothing terminates TLS in front of it here, THROTTLE_USER
  and THROTTLE_ANON raised so the throttles do not answer 429 to the load generator);
- a Celery worker on the bench queue (proposals enqueue nothing heavy; it is here for its memory);

then for each endpoint runs ``--concurrency`` keep-alive client threads for ``--duration``
seconds (bounded in time and count, loopback only): GET gig list, GET a gig's matches (stored
run), POST talent search, POST proposal (each a new freelancer/gig pair). Prints req/s,
p50/p95/p99, errors (any non-2xx), and the peak RSS (VmHWM) of the web and worker processes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import OUT, ROOT, machine, percentiles, print_machine, setup_django

MAX_REQUESTS_PER_ENDPOINT = 100_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(n_freelancers: int, n_proposers: int) -> dict:
    """Users, tokens, gigs and a stored match run; returns what the load generator needs."""
    from accounts.models import User
    from accounts.services import token_create
    from bench.synthetic import freelancer_count, seed_freelancers, seed_gigs
    from marketplace.models import FreelancerProfile, Gig
    from matching.models import MatchRun
    from matching.services import match_run_execute
    from matching.signals import enqueue_suppression

    if freelancer_count() < n_freelancers:
        seed_freelancers(n_freelancers)
    gig_ids = seed_gigs(200)
    owner = User.objects.get(email="bench-client@bench.invalid")
    gig = Gig.objects.get(id=gig_ids[0])
    with enqueue_suppression():
        if not MatchRun.objects.filter(gig=gig, status=MatchRun.Status.DONE).exists():
            run = MatchRun.objects.create(gig=gig, status=MatchRun.Status.PENDING, trigger="bench")
            match_run_execute(run_id=run.id)
    # Proposers: visible freelancers with no proposal yet, each applies to every bench gig once.
    proposers = list(
        FreelancerProfile.objects.filter(
            visibility="public", moderation_status="approved", user__is_active=True, user__is_suspended=False
        )
        .exclude(proposals__isnull=False)
        .select_related("user")
        .order_by("id")[:n_proposers]
    )
    return {
        "client_token": token_create(user=owner).key,
        "gig_ids": gig_ids,
        "match_gig": gig.id,
        "proposers": [(token_create(user=p.user).key, float(p.hourly_rate)) for p in proposers],
    }


class Endpoint:
    def __init__(self, name: str, make_request) -> None:
        self.name = name
        self.make_request = make_request  # () -> (method, path, token, body | None)


def run_load(port: int, endpoint: Endpoint, duration: float, concurrency: int) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + duration
    budget = [MAX_REQUESTS_PER_ENDPOINT]

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
                request = endpoint.make_request()
            method, path, token, body = request
            headers = {"Authorization": f"Token {token}", "Host": "127.0.0.1"}
            payload = None
            if body is not None:
                payload = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            t = time.perf_counter()
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - t
                with lock:
                    latencies.append(elapsed * 1000)
                    if response.status >= 300:
                        errors.append(f"{response.status} {data[:200]!r}")
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:3],
        "rps": len(latencies) / wall,
        "ms": percentiles(latencies),
    }


def tree_pids(root: int) -> list[int]:
    out = [root]
    try:
        children = subprocess.run(["pgrep", "-P", str(root)], capture_output=True, text=True).stdout.split()
    except OSError:
        children = []
    for c in children:
        out += tree_pids(int(c))
    return out


def vm_hwm_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def wait_http(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--freelancers", type=int, default=10_000, help="seed at least this many")
    parser.add_argument("--json", default=str(OUT / "api.json"))
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    info = machine()
    print_machine(info)
    from bench.synthetic import freelancer_count

    data = prepare(args.freelancers, n_proposers=400)
    info["freelancers"] = freelancer_count()
    from django.db import connections

    connections.close_all()

    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "THROTTLE_USER": "10000000/min",
            "THROTTLE_ANON": "10000000/min",
            "LOG_LEVEL": "WARNING",
        }
    )
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--threads", str(args.threads), "--timeout", "60",
         "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", env.get("CELERY_QUEUE", "matchwork-bench"),
         "--concurrency", "1", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    results = {}
    try:
        wait_http(port)
        rng = random.Random(7)
        client = data["client_token"]
        pairs = [(tok, rate, gid) for gid in data["gig_ids"] for tok, rate in data["proposers"]]
        rng.shuffle(pairs)
        pair_iter = iter(pairs)
        searches = [
            {"title": "Data quality analyst for a retail pipeline", "description": "Check our dbt models and "
             "Great Expectations suites, fix flaky tests.", "skills": [{"name": "Data quality analysis"},
             {"name": "dbt"}, {"name": "SQL", "required": False}], "budget_type": "hourly", "budget_max": "90",
             "languages": ["en"]},
            {"title": "Leadership coach for new managers", "description": "Six weeks of coaching sessions.",
             "skills": [{"name": "Leadership development"}, {"name": "Executive coaching"}],
             "timezone": "Europe/Berlin", "min_overlap_hours": 3},
            {"title": "Annotate medical images", "skills": [{"name": "Image annotation"},
             {"name": "Semantic segmentation"}, {"name": "CVAT", "required": False}], "budget_type": "fixed",
             "budget_max": "3000"},
        ]  # fmt: skip

        def proposal():
            tok, rate, gid = next(pair_iter)
            body = {"gig": gid, "cover_letter": "I have done this before.", "proposed_rate": f"{rate:.2f}"}
            return ("POST", "/api/v1/proposals/", tok, body)

        endpoints = [
            Endpoint("GET /api/v1/gigs/", lambda: ("GET", "/api/v1/gigs/", client, None)),
            Endpoint(
                "GET /api/v1/gigs/{id}/matches/",
                lambda: ("GET", f"/api/v1/gigs/{data['match_gig']}/matches/", client, None),
            ),
            Endpoint(
                "POST /api/v1/talent-search/",
                lambda: ("POST", "/api/v1/talent-search/", client, rng.choice(searches)),
            ),
            Endpoint("POST /api/v1/proposals/", proposal),
        ]
        for ep in endpoints:  # warm every worker (model load, connections) without timing
            run_load(port, ep, 3.0 if "talent" in ep.name else 1.0, args.concurrency)
        pairs_used = len(pairs) - sum(1 for _ in pair_iter)
        pair_iter = iter(pairs[pairs_used:])
        for ep in endpoints:
            r = run_load(port, ep, args.duration, args.concurrency)
            results[ep.name] = r
            m = r["ms"]
            print(
                f"{ep.name:34s} {r['rps']:8.1f} req/s  p50 {m['p50']:7.1f}  p95 {m['p95']:7.1f}  p99 {m['p99']:7.1f} ms"
                f"  n={r['requests']}  errors={r['errors']} {r['error_samples'] if r['errors'] else ''}"
            )
        web_rss = {pid: vm_hwm_mib(pid) for pid in tree_pids(web.pid)}
        worker_rss = {pid: vm_hwm_mib(pid) for pid in tree_pids(worker.pid)}
    finally:
        for p in (web, worker):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in (web, worker):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
    print(
        f"peak RSS (VmHWM) web: {', '.join(f'{v:.0f}' for v in web_rss.values())} MiB "
        f"(master + {args.workers} workers, total {sum(web_rss.values()):.0f}); worker: "
        f"{', '.join(f'{v:.0f}' for v in worker_rss.values())} MiB"
    )
    print(
        f"gunicorn {args.workers} workers x {args.threads} threads, {args.concurrency} client threads, "
        f"{args.duration:.0f}s per endpoint, {info['freelancers']:,} freelancers"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    with open(args.json, "w") as fh:
        json.dump(
            {"machine": info, "args": vars(args), "results": results, "web_rss_mib": web_rss,
             "worker_rss_mib": worker_rss}, fh, indent=1,
        )  # fmt: skip
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
