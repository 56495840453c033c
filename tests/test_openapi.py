"""The OpenAPI schema generates without warnings, and real responses validate against it."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.conftest import client_for
from tests.marketplace.test_permission_matrix import World
from tests.schema_check import check_response as _check
from tests.schema_check import openapi  # noqa: F401  (fixture)


def test_schema_generates_and_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/v1/gigs/{id}/publish/" in text and "tokenAuth" in text


@pytest.mark.django_db
def test_responses_match_the_schema(openapi):  # noqa: F811
    world = World()
    ids = world.ids()
    freelancer, client, anon = world.api("freelancer"), client_for(world.client_user), APIClient()
    samples = [
        (anon, "GET", "/api/v1/skills/", None),
        (anon, "GET", f"/api/v1/skills/{ids['skill']}/", None),
        (anon, "GET", "/api/v1/freelancers/", None),
        (anon, "GET", f"/api/v1/freelancers/{ids['profile_f']}/", None),
        (anon, "GET", "/api/v1/gigs/", None),
        (anon, "GET", f"/api/v1/gigs/{ids['gig']}/", None),
        (anon, "GET", "/api/v1/reviews/", None),
        (anon, "GET", "/api/v1/me/", None),  # 401
        (anon, "GET", f"/api/v1/gigs/{ids['draft']}/", None),  # 404
        (anon, "POST", "/api/v1/auth/token/", {"email": ids["f_email"], "password": "correct-horse-battery-staple"}),
        (anon, "POST", "/api/v1/auth/register/", {"role": "freelancer", "email": "n@example.com", "password": "p" * 3}),
        (
            anon,
            "POST",
            "/api/v1/auth/register/",
            {"role": "client", "email": "c@example.com", "password": "a-long-unusual-pass-42", "client": {"name": "C"}},
        ),
        (freelancer, "GET", "/api/v1/me/", None),
        (freelancer, "GET", "/api/v1/freelancers/me/", None),
        (freelancer, "PATCH", "/api/v1/freelancers/me/", {"headline": "Updated", "skills": [{"name": "Python"}]}),
        (freelancer, "PATCH", "/api/v1/freelancers/me/", {"headline": "Stale", "version": 1}),  # 412
        (freelancer, "GET", "/api/v1/proposals/", None),
        (freelancer, "GET", "/api/v1/invitations/", None),
        (freelancer, "GET", "/api/v1/engagements/", None),
        (freelancer, "GET", "/api/v1/reports/", None),
        (freelancer, "POST", f"/api/v1/invitations/{ids['invitation']}/accept/", {"cover_letter": "Yes"}),
        (client, "GET", "/api/v1/clients/me/", None),
        (
            client,
            "POST",
            "/api/v1/gigs/",
            {
                "title": "T",
                "description": "D",
                "budget_type": "fixed",
                "budget_min": "1",
                "budget_max": "2",
                "skills": [{"name": "OCR"}],
            },
        ),
        (client, "POST", f"/api/v1/gigs/{ids['gig']}/publish/", None),  # 409
        (client, "POST", "/api/v1/gigs/", {"title": "x" * 300}),  # 400
        (client, "POST", f"/api/v1/proposals/{ids['proposal']}/hire/", None),
        (client, "POST", f"/api/v1/engagements/{ids['engagement']}/complete/", None),
        (client, "POST", "/api/v1/reviews/", {"engagement": ids["done"], "rating": 4}),
        (
            client,
            "POST",
            "/api/v1/reports/",
            {"target_type": "freelancer", "target_id": ids["profile_g"], "reason": "misleading"},
        ),
        (client, "POST", "/api/v1/auth/token/revoke/", None),
    ]
    statuses = set()
    for api, method, path, body in samples:
        response = getattr(api, method.lower())(path, body, format="json")
        assert response.status_code < 500
        statuses.add(response.status_code)
        _check(openapi, response, method, path)
    assert {200, 201, 202, 204, 400, 401, 404, 409, 412} <= statuses
