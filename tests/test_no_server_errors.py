"""Garbage in any field of any write endpoint is answered with a 4xx, never a 500.

The test client re-raises server exceptions, so a 500 fails the test with its traceback.
"""

import json

import pytest
from django.conf import settings
from django.test import override_settings

from tests.marketplace.test_permission_matrix import CASES, World, _fill

GARBAGE = [
    None,
    True,
    10**30,
    -1,
    1.5e308,
    "",
    "\x00",
    "x" * 20000,
    [],
    [None] * 60,
    {},
    {"a": {"b": []}},
    "🙂" * 300,
    "\ud800",
    ["\udfff"],
    {"\ud800": "x"},
]

FULL_GIG = {
    "title": "T",
    "description": "D",
    "budget_type": "fixed",
    "budget_min": "1",
    "budget_max": "2",
    "currency": "EUR",
    "hours_per_week": 10,
    "duration_weeks": 4,
    "timezone": "Europe/Paris",
    "min_overlap_hours": 2,
    "languages": ["en"],
    "skills": [{"name": "OCR", "required": True, "min_level": "expert"}],
    "version": 1,
}
FULL_PROFILE = {
    "display_name": "X",
    "headline": "Y",
    "bio": "Z",
    "hourly_rate": "10.00",
    "currency": "EUR",
    "available_hours_per_week": 10,
    "timezone": "Europe/Paris",
    "languages": ["fr"],
    "visibility": "public",
    "skills": [{"name": "OCR", "level": "expert", "years": 3}],
    "version": 1,
}
WRITES = [c for c in CASES if c[0] in ("POST", "PATCH") and isinstance(c[3], dict) and c[3]] + [
    ("POST", "gigs/", "gigs/", {k: v for k, v in FULL_GIG.items() if k != "version"}, {"client": 201}),
    ("PATCH", "gigs/{pk}/", "gigs/{draft}/", FULL_GIG, {"client": 200}),
    ("PATCH", "freelancers/me/", "freelancers/me/", FULL_PROFILE, {"freelancer": 200}),
]


def _send(api, method: str, path: str, payload):
    # json.dumps escapes lone surrogates (\ud800) as the JSON a hostile client would send
    return api.generic(method, path, json.dumps(payload), content_type="application/json")


NO_THROTTLES = override_settings(
    REST_FRAMEWORK={
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000/min"),
    }
)


@pytest.mark.django_db
@NO_THROTTLES
def test_garbage_fields_never_cause_a_server_error():
    world = World()
    seen = set()
    ids = world.ids()
    for method, _route, url, body, expected in WRITES:
        actor = next((a for a, status in expected.items() if 200 <= status < 300), "client")
        api = world.api(actor)
        path = "/api/v1/" + url.format(**ids)
        for field in body:
            for value in GARBAGE:
                payload = {**_fill(body, ids), field: value}
                response = _send(api, method, path, payload)
                assert response.status_code < 500, (method, path, field, value)
                seen.add(response.status_code)
        for extra in ({"skills": [{"name": v} for v in GARBAGE[4:8]]}, {"languages": GARBAGE}, {"\ud800": 1}):
            response = _send(api, method, path, {**_fill(body, ids), **extra})
            assert response.status_code < 500, (method, path, extra)
    assert len(WRITES) >= 18 and 429 not in seen and 400 in seen


@pytest.mark.django_db
@NO_THROTTLES
def test_garbage_query_parameters_never_cause_a_server_error():
    from rest_framework.test import APIClient

    api = APIClient()
    for path in ("/api/v1/freelancers/", "/api/v1/gigs/", "/api/v1/skills/", "/api/v1/reviews/"):
        for param in (
            "skill",
            "category",
            "max_rate",
            "min_hours",
            "language",
            "timezone",
            "ordering",
            "search",
            "min_budget",
            "max_budget",
            "status",
            "mine",
            "page",
            "page_size",
            "freelancer",
            "engagement",
        ):
            for value in ("\x00", "9" * 40, "-1", "1e999", "NaN", "x" * 5000, "'; DROP TABLE x; --"):
                response = api.get(path, {param: value})
                assert response.status_code < 500, (path, param, value)
