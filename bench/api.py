"""API under load: gunicorn with production settings on 127.0.0.1 and a bounded load generator.

    python -m bench.api [--duration 20] [--concurrency 8] [--workers 2] [--threads 4] [--client wrk]

Prepares the bench database (freelancers from the ranking bench if present, else 10k seeded;
bench gigs with a stored match run; a client with 64 members and freelancers, with API tokens),
starts

- gunicorn ``config.wsgi`` on 127.0.0.1 (DJANGO_DEBUG=0, DJANGO_SECRET_KEY from the environment,
  DJANGO_SECURE_SSL_REDIRECT=0 because nothing terminates TLS in front of it here, THROTTLE_USER,
  THROTTLE_ANON and THROTTLE_TALENT_SEARCH raised so the throttles do not answer 429 to the load
  generator);
- a Celery worker on the bench queue (proposals enqueue nothing heavy; it is here for its memory);

then for each endpoint runs ``--concurrency`` keep-alive connections for ``--duration`` seconds
(bounded in time and count, loopback only): GET gig list, GET a gig's matches (stored run), POST
talent search (400 different searches written from the taxonomy, cycled), POST proposal (each a
new freelancer/gig pair). The client members' tokens take turns, so each user's throttle history
stays the size a real user's has. The load comes from stdlib client
threads in this process (``--client python``) or from ``wrk`` (``--client wrk``, one event-loop
thread in C, driven by a generated Lua script), which costs the shared cores far less. Prints
req/s, p50/p95/p99, errors (any non-2xx), the load average, the CPU time per request of each
process group (web, Celery worker, PostgreSQL and Redis when they are the embedded ones, client)
and the peak RSS (VmHWM) of the web and worker processes. On a shared machine the CPU per request
is the steadier figure: req/s depends on what else runs on the cores.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import OUT, ROOT, percentiles, start_bench, start_celery_worker, write_json

MAX_REQUESTS_PER_ENDPOINT = 100_000
# Client members whose tokens take turns: each user's throttle history (DRF's sliding-window log,
# read and written on every request) stays the size a real user's has. With one token at the
# bench's raised limit it grows to tens of thousands of entries and costs ~1.5 ms per request.
CLIENT_MEMBERS = 64
TALENT_SEARCHES = 400  # distinct bodies, cycled: no query text repeats within a run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(n_freelancers: int, n_proposers: int) -> dict:
    """Users, tokens, gigs and a stored match run; returns what the load generator needs."""
    from accounts.models import User
    from accounts.services import token_create
    from bench.synthetic import freelancer_count, seed_freelancers, seed_gigs
    from marketplace.models import ClientMembership, FreelancerProfile, Gig
    from matching.models import MatchRun
    from matching.services import match_run_execute
    from matching.signals import enqueue_suppression

    if freelancer_count() < n_freelancers:
        seed_freelancers(n_freelancers)
    gig_ids = seed_gigs(200)
    owner = User.objects.get(email="bench-client@bench.invalid")
    approve_bench_gigs(gig_ids)
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
    members = [owner]
    for i in range(1, CLIENT_MEMBERS):
        member, created = User.objects.get_or_create(
            email=f"bench-client-{i}@bench.invalid", defaults={"role": User.Role.CLIENT}
        )
        if created:
            ClientMembership.objects.create(client=owner.client_membership.client, user=member)
        members.append(member)
    return {
        "client_tokens": [token_create(user=m).key for m in members],
        "gig_ids": gig_ids,
        "match_gig": gig.id,
        "proposers": [(token_create(user=p.user).key, float(p.hourly_rate)) for p in proposers],
    }


def approve_bench_gigs(gig_ids: list[int]) -> None:
    """A new client's gigs wait for a moderator (marketplace.moderation.policy, ``new_client``), and
    freelancers cannot see, let alone apply to, a gig under review: approve them as a moderator would."""
    from accounts.models import User
    from marketplace.models import Gig, ModerationStatus
    from marketplace.moderation.decisions import content_approve
    from matching.signals import enqueue_suppression

    pending = Gig.objects.filter(id__in=gig_ids).exclude(moderation_status=ModerationStatus.APPROVED)
    if not pending.exists():
        return
    moderator = User.objects.filter(email="bench-moderator@bench.invalid").first()
    if moderator is None:
        moderator = User.objects.create_user(email="bench-moderator@bench.invalid", role=User.Role.MODERATOR)
    with enqueue_suppression():
        for gig in pending:
            content_approve(target=gig, by=moderator, reason="bench gig")


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


WRK_SCRIPT = r"""
local requests = {%(requests)s}
local pick = "%(pick)s"
i = 0  -- globals, so that done() can read them with thread:get()
errors, samples = 0, {}
request = function()
  i = i + 1
  if i > #requests then
    if pick == "once" then wrk.thread:stop() end
    i = 1
  end
  local k = i
  if pick == "random" then k = math.random(#requests) end
  local r = requests[k]
  return wrk.format(r[1], r[2], r[3], r[4])
end
response = function(status, headers, body)
  if status >= 300 then
    errors = errors + 1
    if #samples < 3 then samples[#samples + 1] = status .. " " .. string.sub(body or "", 1, 200) end
  end
end
local threads = {}
setup = function(thread) threads[#threads + 1] = thread end
done = function(summary, latency, _)
  local errs, used = 0, 0
  local s = {}
  for _, t in ipairs(threads) do
    errs = errs + t:get("errors")
    used = used + t:get("i")
    for _, x in ipairs(t:get("samples")) do s[#s + 1] = x end
  end
  local e = summary.errors
  io.write(string.format("BENCH %%d %%d %%d %%.3f %%.3f %%.3f %%.3f\n", summary.requests,
    errs + e.connect + e.read + e.write + e.timeout, used, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.mean / 1000))
  for _, x in ipairs(s) do io.write("SAMPLE " .. (string.gsub(x, "\n", " ")) .. "\n") end
end
"""


def _lua(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for this ASCII


def run_wrk(port: int, requests: list[tuple], pick: str, duration: float, concurrency: int) -> dict:
    """Drive the requests with wrk (one thread, ``concurrency`` keep-alive connections)."""
    rows = []
    for method, path, token, body in requests:
        headers = {"Authorization": f"Token {token}"}  # wrk sends Host: 127.0.0.1:<port>
        payload = "nil"
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = _lua(json.dumps(body))
        lua_headers = "{" + ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in headers.items()) + "}"
        rows.append(f"{{{_lua(method)}, {_lua(path)}, {lua_headers}, {payload}}}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_SCRIPT % {"requests": ",\n".join(rows), "pick": pick})
        script = fh.name
    try:
        started = time.monotonic()
        out = subprocess.run(
            ["wrk", "-t1", f"-c{concurrency}", f"-d{duration:.0f}s", "--timeout", "30s", "-s", script,
             f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, timeout=duration + 60,
        )  # fmt: skip
        wall = time.monotonic() - started
    finally:
        os.unlink(script)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout[-500:]} {out.stderr[-500:]}")
    n, errors, used, p50, p95, p99, mean = line.split()[1:]
    samples = [x[7:] for x in out.stdout.splitlines() if x.startswith("SAMPLE ")]
    return {
        "requests": int(n),
        "errors": int(errors),
        "error_samples": samples[:3],
        "rps": int(n) / wall,
        "ms": {"p50": float(p50), "p95": float(p95), "p99": float(p99), "mean": float(mean)},
        "used": int(used),
    }


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """utime + stime of each process (all its threads) from /proc/<pid>/stat."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def embedded_pids(children: dict[int, list[int]] | None = None) -> dict[str, list[int]]:
    """The embedded PostgreSQL (postmaster and its backends) and Redis, when the bench uses them."""
    from config import embedded

    groups: dict[str, list[int]] = {}
    pg_pidfile = embedded.DATA_DIR / "postgres" / "postmaster.pid"
    if not os.environ.get("DATABASE_URL") and pg_pidfile.exists():
        groups["postgres"] = tree_pids(int(pg_pidfile.read_text().split()[0]), children)
    redis_pidfile = embedded.DATA_DIR / "redis" / "redis.pid"
    if not os.environ.get("REDIS_URL") and redis_pidfile.exists():
        groups["redis"] = [int(redis_pidfile.read_text().strip())]
    return groups


class CpuMeter:
    """CPU seconds used by each process group between ``start()`` and ``stop()``.

    The groups are re-listed and read every ``interval`` seconds while the load runs: PostgreSQL
    forks a backend per new connection, and a connection older than CONN_MAX_AGE ends with its
    request, so backends come and go; one that exits counts with its last reading (at most
    ``interval`` of its CPU is missed)."""

    def __init__(self, groups, interval: float = 1.0) -> None:
        self.groups = groups  # () -> {name: [pids]}
        self.interval = interval

    def _read(self) -> None:
        for name, pids in self.groups().items():
            self.last.setdefault(name, {}).update(cpu_seconds(pids))

    def _poll(self) -> None:
        while not self.stopping.wait(self.interval):
            self._read()

    def start(self) -> None:
        self.before = {name: cpu_seconds(pids) for name, pids in self.groups().items()}
        self.last: dict[str, dict[int, float]] = {}
        self.self_before = time.process_time()
        self.children_before = os.times().children_user + os.times().children_system
        self.stopping = threading.Event()
        self.poller = threading.Thread(target=self._poll, daemon=True)
        self.poller.start()

    def stop(self, requests: int, client: str) -> dict[str, float]:
        self.stopping.set()
        self.poller.join()
        self._read()
        used = {
            name: sum(t - self.before.get(name, {}).get(pid, 0.0) for pid, t in times.items())
            for name, times in self.last.items()
        }
        if client == "wrk":
            used["client"] = os.times().children_user + os.times().children_system - self.children_before
        else:  # this process: the client threads (and the poller, a fraction of a millisecond per second)
            used["client"] = time.process_time() - self.self_before
        return {name: 1000 * seconds / max(requests, 1) for name, seconds in used.items()}


def children_map() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc (no subprocess: this runs while the load is measured)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return children


def tree_pids(root: int, children: dict[int, list[int]] | None = None) -> list[int]:
    """``root`` and its descendants."""
    children = children_map() if children is None else children
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
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


def wait_idle(pids, busy_share: float = 0.1, timeout: float = 120) -> float:
    """Wait until these processes (a callable giving their pids) use less than ``busy_share`` of
    one core over a second; returns the seconds waited."""
    start = time.monotonic()
    before = cpu_seconds(pids())
    while time.monotonic() - start < timeout:
        time.sleep(1.0)
        after = cpu_seconds(pids())
        used = sum(after.values()) - sum(before.get(pid, 0.0) for pid in after)
        if used < busy_share:
            break
        before = after
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--freelancers", type=int, default=10_000, help="seed at least this many")
    parser.add_argument(
        "--client",
        choices=["python", "wrk"],
        default="python",
        help="load generator: stdlib threads in this process, or wrk (apt-get install wrk)",
    )
    parser.add_argument(
        "--endpoints", default="", help="comma-separated words; run only the endpoints whose name contains one"
    )
    parser.add_argument("--json", default=str(OUT / "api.json"))
    args = parser.parse_args()
    if args.client == "wrk" and shutil.which("wrk") is None:
        parser.error("--client wrk needs wrk on the PATH (Debian: apt-get install wrk)")
    info = start_bench()
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
            "THROTTLE_TALENT_SEARCH": "10000000/min",
            "LOG_LEVEL": "WARNING",
        }
    )
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--threads", str(args.threads), "--timeout", "60",
         "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    worker = start_celery_worker(1, loglevel="WARNING", env=env, stdout=subprocess.DEVNULL)
    results = {}
    try:
        wait_http(port)
        rng = random.Random(7)
        members = data["client_tokens"]
        from bench.synthetic import talent_searches

        searches = talent_searches(TALENT_SEARCHES)
        pairs = [(tok, rate, gid) for gid in data["gig_ids"] for tok, rate in data["proposers"]]
        rng.shuffle(pairs)
        pair_iter = iter(pairs)

        def proposal():
            tok, rate, gid = next(pair_iter)
            return proposal_request(tok, rate, gid)

        def proposal_request(tok, rate, gid):
            body = {"gig": gid, "cover_letter": "I have done this before.", "proposed_rate": f"{rate:.2f}"}
            return ("POST", "/api/v1/proposals/", tok, body)

        # Each endpoint's requests, cycled: the client members take turns; talent searches are
        # all different (TALENT_SEARCHES bodies, then again from the first).
        gig_list = [("GET", "/api/v1/gigs/", tok, None) for tok in members]
        matches = [("GET", f"/api/v1/gigs/{data['match_gig']}/matches/", tok, None) for tok in members]
        talent = [
            ("POST", "/api/v1/talent-search/", members[i % len(members)], body) for i, body in enumerate(searches)
        ]

        served = {}  # requests taken from each list so far

        def cycle(requests):
            turn = itertools.cycle(requests)

            def take():
                served[id(requests)] = served.get(id(requests), 0) + 1
                return next(turn)

            return take

        def after_warmup(requests):  # wrk starts where the warm-up stopped, so no search text repeats
            k = served.get(id(requests), 0) % len(requests)
            return requests[k:] + requests[:k]

        endpoints = [
            Endpoint("GET /api/v1/gigs/", cycle(gig_list)),
            Endpoint("GET /api/v1/gigs/{id}/matches/", cycle(matches)),
            Endpoint("POST /api/v1/talent-search/", cycle(talent)),
            Endpoint("POST /api/v1/proposals/", proposal),
        ]
        if args.endpoints:
            words = [w.strip() for w in args.endpoints.split(",") if w.strip()]
            endpoints = [ep for ep in endpoints if any(w in ep.name for w in words)]
        # Each web worker loads the model when it starts, in the background (MATCHING_LOAD_MODEL_AT_START):
        # a few seconds of CPU per worker that would otherwise fall into the first measured window.
        started = wait_idle(lambda: tree_pids(web.pid))
        print(f"web workers idle {started:.1f}s after answering (model loads at start)")
        for ep in endpoints:  # warm every worker (connections, caches) without timing
            run_load(port, ep, 3.0 if "talent" in ep.name else 1.0, args.concurrency)
        pairs_used = len(pairs) - sum(1 for _ in pair_iter)
        pair_iter = iter(pairs[pairs_used:])
        wrk_requests = {  # (requests, how wrk picks them)
            "GET /api/v1/gigs/": (gig_list, "cycle"),
            "GET /api/v1/gigs/{id}/matches/": (matches, "cycle"),
            "POST /api/v1/talent-search/": (after_warmup(talent), "cycle"),
        }

        def process_groups() -> dict[str, list[int]]:
            kids = children_map()
            return {"web": tree_pids(web.pid, kids), "worker": tree_pids(worker.pid, kids), **embedded_pids(kids)}

        meter = CpuMeter(process_groups)
        for ep in endpoints:
            load = os.getloadavg()[0]
            meter.start()
            if args.client == "wrk":
                if ep.name.startswith("POST /api/v1/proposals/"):
                    todo = [proposal_request(*pair) for pair in pairs[pairs_used : pairs_used + 20_000]]
                    r = run_wrk(port, todo, "once", args.duration, args.concurrency)
                    pairs_used += r["used"]
                else:
                    r = run_wrk(port, *wrk_requests[ep.name], args.duration, args.concurrency)
            else:
                r = run_load(port, ep, args.duration, args.concurrency)
            r["cpu_ms_per_request"] = meter.stop(r["requests"], args.client)
            r["loadavg_1m_before"] = load
            results[ep.name] = r
            m = r["ms"]
            print(
                f"{ep.name:34s} {r['rps']:8.1f} req/s  p50 {m['p50']:7.1f}  p95 {m['p95']:7.1f}  p99 {m['p99']:7.1f} ms"
                f"  n={r['requests']}  errors={r['errors']} {r['error_samples'] if r['errors'] else ''}"
            )
            cpu = r["cpu_ms_per_request"]
            print(
                f"{'':34s} load {load:.2f}; CPU ms/request: "
                + ", ".join(f"{name} {ms:.2f}" for name, ms in cpu.items())
                + f" (total {sum(cpu.values()):.2f})"
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
        f"gunicorn {args.workers} workers x {args.threads} threads, client {args.client} with {args.concurrency} "
        f"connections, {args.duration:.0f}s per endpoint, {info['freelancers']:,} freelancers, "
        f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    write_json(
        args.json,
        {"machine": info, "args": vars(args), "results": results, "web_rss_mib": web_rss, "worker_rss_mib": worker_rss},
    )


if __name__ == "__main__":
    main()
