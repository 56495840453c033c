"""Throttles are counted in Redis per user and per client IP; X-Forwarded-For is not trusted by default."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _rates(**rates):
    return override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
        }
    )


def _login(ip="10.0.0.1", xff=None):
    headers = {"REMOTE_ADDR": ip}
    if xff:
        headers["HTTP_X_FORWARDED_FOR"] = xff
    return APIClient().post("/api/v1/auth/token/", {"email": "a@b.c", "password": "x"}, format="json", **headers)


def test_token_endpoint_is_throttled_per_ip_and_forged_forwarded_for_does_not_help():
    with _rates(token="3/min"):
        assert [_login(xff=f"1.2.3.{i}").status_code for i in range(3)] == [400, 400, 400]
        blocked = _login(xff="9.9.9.9")
        assert blocked.status_code == 429
        assert blocked.json()["error"]["code"] == "throttled" and int(blocked["Retry-After"]) > 0
        assert _login(ip="10.0.0.2").status_code == 400  # another client is unaffected


def test_forwarded_for_is_used_behind_a_configured_proxy():
    with _rates(token="1/min"), override_settings(NUM_PROXIES=1):
        assert _login(ip="10.0.0.9", xff="5.5.5.5").status_code == 400
        assert _login(ip="10.0.0.9", xff="5.5.5.5").status_code == 429
        assert _login(ip="10.0.0.9", xff="6.6.6.6").status_code == 400


def test_registration_is_throttled_more_strictly_than_reads():
    body = {"role": "freelancer", "email": "x@example.com", "password": "a-long-unusual-pass-42"}
    with _rates(register="2/hour"):
        codes = [APIClient().post("/api/v1/auth/register/", body, format="json").status_code for _ in range(3)]
        assert codes == [202, 202, 429]
        assert APIClient().get("/api/v1/skills/").status_code == 200


def test_authenticated_users_are_throttled_per_user():
    alice, bob = client_for(UserFactory()), client_for(UserFactory())
    with _rates(user="2/min"):
        assert [alice.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 429]
        assert bob.get("/api/v1/me/").status_code == 200


def test_anonymous_reads_are_throttled_per_ip():
    with _rates(anon="2/min"):
        codes = [APIClient().get("/api/v1/gigs/", REMOTE_ADDR="10.1.1.1").status_code for _ in range(3)]
        assert codes == [200, 200, 429]


def test_a_burst_of_parallel_requests_gets_exactly_the_limit_through():
    # DRF's own throttle reads a key's history and writes it back: parallel requests that read the
    # same history all passed. The window is checked and updated in one step on the Redis server.
    from types import SimpleNamespace

    from config.api.throttling import TalentSearchThrottle

    request = SimpleNamespace(user=SimpleNamespace(is_authenticated=True, pk=987654), META={"REMOTE_ADDR": "10.9.9.9"})
    start = threading.Barrier(20)

    def attempt(_: int) -> tuple[bool, float | None]:
        throttle = TalentSearchThrottle()  # one per request, as DRF makes them
        start.wait()
        allowed = throttle.allow_request(request, None)
        return allowed, throttle.wait()

    with _rates(talent_search="5/min"), ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(20)))

    assert sum(allowed for allowed, _ in outcomes) == 5
    waits = [wait for allowed, wait in outcomes if not allowed]
    assert len(waits) == 15 and all(0 < w <= 60 for w in waits)  # Retry-After: until the oldest leaves the window


def test_the_window_slides():
    from types import SimpleNamespace

    from config.api.throttling import UserThrottle

    request = SimpleNamespace(user=SimpleNamespace(is_authenticated=True, pk=424242), META={})
    base = 1_000_000.0

    def at(t: float) -> bool:
        throttle = UserThrottle()
        throttle.timer = lambda: t
        return throttle.allow_request(request, None)

    with _rates(user="2/min"):
        assert [at(base), at(base + 30.0), at(base + 59.0)] == [True, True, False]
        assert at(base + 60.5) is True  # the first left the window
        assert at(base + 61.0) is False  # the second (at 30 s) has not


def test_a_cache_that_is_not_redis_still_throttles():
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    alice = client_for(UserFactory())
    with _rates(user="2/min"), override_settings(CACHES=caches):
        assert [alice.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 429]
