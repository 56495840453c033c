"""Resource consumption (OWASP API4) against the live server: every request shape that could make
the server do unbounded work is refused or capped, quickly and with the JSON error shape. The
in-process tests (tests/marketplace/test_api_validation.py, tests/test_throttling.py) cover each
limit in detail; these check that they hold through gunicorn and the real Redis-backed throttles."""

import http.client
import json
import time
import urllib.error
import urllib.request

import pytest

from tests.reliability import data
from tests.reliability.harness import Stack, report

pytestmark = [pytest.mark.slow]

TALENT_SEARCHES_PER_MIN = 5


@pytest.fixture(scope="module")
def hostile_stack():
    s = Stack()
    s.start_servers()
    s.start_web(workers=2, THROTTLE_TALENT_SEARCH=f"{TALENT_SEARCHES_PER_MIN}/min")
    yield s
    s.close()


@pytest.fixture(scope="module")
def people(hostile_stack):
    return data.people(hostile_stack, clients=1, freelancers=2, prefix="hostile")


def _raw(stack, method: str, path: str, body: bytes, token: str | None = None) -> tuple[int, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{stack.web_port}{path}", data=body, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def _declared_only(stack, path: str, length: int, token: str) -> tuple[int, str]:
    """Send the headers of a body of ``length`` bytes, none of the body, and read the answer."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.web_port, timeout=30)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(length))
        conn.putheader("Authorization", f"Token {token}")
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


def test_flood_of_talent_searches_is_throttled_per_user(hostile_stack, people):
    token = people["clients"][0]["token"]
    body = {"title": "Label shelf photos", "skills": [{"name": "Python"}]}
    statuses = []
    started = time.monotonic()
    for _ in range(TALENT_SEARCHES_PER_MIN + 5):
        status, payload, headers = hostile_stack.request(
            "POST", "/api/v1/talent-search/", body, token=token, timeout=60
        )
        statuses.append(status)
        if status == 429:
            assert payload["error"]["code"] == "throttled" and "Retry-After" in headers
    took = time.monotonic() - started
    assert statuses == [200] * TALENT_SEARCHES_PER_MIN + [429] * 5, statuses
    report(
        f"talent-search flood: {len(statuses)} requests -> {statuses.count(200)} ranked, "
        f"{statuses.count(429)} throttled, {took:.1f}s"
    )


def test_login_throttle_holds_when_forwarded_for_is_rotated(hostile_stack):
    statuses = []
    for i in range(25):
        status, _, _ = hostile_stack.request(
            "POST",
            "/api/v1/auth/token/",
            {"email": "nobody@example.com", "password": "guess-" + str(i)},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        )
        statuses.append(status)
    assert statuses[:20] == [400] * 20  # one message for unknown email and wrong password
    assert statuses[20:] == [429] * 5, statuses
    report(
        f"login flood with 25 rotated X-Forwarded-For: {statuses.count(400)} refused, {statuses.count(429)} throttled"
    )


def test_oversized_deep_and_long_inputs_are_bounded(hostile_stack, people):
    token = people["clients"][0]["token"]
    results = {}

    started = time.monotonic()
    status, body = _raw(
        hostile_stack, "POST", "/api/v1/gigs/", b'{"title": "' + b"x" * (2 * 1024 * 1024) + b'"}', token
    )
    results["2 MiB body"] = (status, time.monotonic() - started)
    assert status == 413 and json.loads(body)["error"]["code"] == "request_too_large"

    # Declared far over the drain bound and never sent: refused from the header, without waiting.
    started = time.monotonic()
    status, body = _declared_only(hostile_stack, "/api/v1/gigs/", 1024 * 1024 * 1024, token)
    results["1 GiB declared, not sent"] = (status, time.monotonic() - started)
    assert status == 413 and json.loads(body)["error"]["code"] == "request_too_large"

    deep = b"[" * 50_000 + b"]" * 50_000
    status, body = _raw(hostile_stack, "POST", "/api/v1/gigs/", deep, token)
    results["50k-deep JSON"] = (status, None)
    assert status == 400 and "error" in json.loads(body)

    wide = json.dumps({"title": "t", "skills": [{"name": f"s{i}"} for i in range(20_000)]}).encode()
    status, body = _raw(hostile_stack, "POST", "/api/v1/talent-search/", wide, token)
    results["20k-item skill list"] = (status, None)
    assert status in (400, 413), body

    status, body, _ = hostile_stack.request("GET", "/api/v1/gigs/?search=" + "annotation+" * 300, token=token)
    results["3,300-char search"] = (status, None)
    assert status == 400 and "search" in body["error"]["fields"]

    status, body, _ = hostile_stack.request("GET", "/api/v1/skills/?page_size=1000000")
    results["page_size=1000000"] = (status, len(body["results"]))
    assert status == 200 and len(body["results"]) <= 100

    status, body = _raw(hostile_stack, "GET", "/api/v1/gigs/?search=" + "a" * 20_000, b"" or None, token)
    results["20k-char URL"] = (status, None)
    assert status in (400, 414)  # gunicorn refuses request lines over 4094 bytes before Django sees them

    for what, (status, extra) in results.items():
        assert status < 500, (what, status)
    report(
        "hostile inputs: "
        + "; ".join(
            f"{k} -> {s}" + (f" ({x:.2f}s)" if isinstance(x, float) else "" if x is None else f" ({x} rows)")
            for k, (s, x) in results.items()
        )
    )
