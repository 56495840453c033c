"""Bad input is a 400 (or 413/415) with the shared error body naming each bad field; never a 500.

Every refused write also leaves the database as it was.
"""

import io
import json

import pytest
from django.test import RequestFactory, override_settings
from rest_framework.test import APIClient

from config.api.middleware import ApiRequestSizeLimitMiddleware
from marketplace.models import FreelancerProfile, Gig
from tests.conftest import client_for
from tests.factories import ClientFactory, FreelancerFactory, GigFactory, UserFactory

pytestmark = pytest.mark.django_db

GIG = {"title": "T", "description": "D", "budget_type": "fixed", "budget_min": "1", "budget_max": "2"}


@pytest.fixture
def member():
    user = UserFactory(role="client")
    ClientFactory(owner=user)
    return client_for(user)


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def test_malformed_json_is_a_400(member):
    response = member.generic("POST", "/api/v1/gigs/", '{"title": "x",', content_type="application/json")
    error = _error(response, 400)
    assert error["code"] == "malformed_body" and "body" in error["fields"]
    assert not Gig.objects.exists()


def test_json_that_is_not_an_object_is_a_400(member):
    error = _error(member.post("/api/v1/gigs/", [1, 2], format="json"), 400)
    assert "non_field_errors" in error["fields"]


def test_wrong_content_type_is_a_415(member):
    response = member.generic("POST", "/api/v1/gigs/", "title=x", content_type="application/x-www-form-urlencoded")
    assert _error(response, 415)["code"] == "unsupported_media_type"
    response = member.generic("POST", "/api/v1/gigs/", "<gig/>", content_type="application/xml")
    assert _error(response, 415)["code"] == "unsupported_media_type"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=256 * 1024)
def test_oversized_body_is_a_clean_413(member):
    body = json.dumps({**GIG, "description": "x" * (300 * 1024)})
    response = member.generic("POST", "/api/v1/gigs/", body, content_type="application/json")
    error = _error(response, 413)
    assert error["code"] == "request_too_large" and "262144" in error["message"]
    assert not Gig.objects.exists()
    # also before authentication: anonymous registration
    response = APIClient().generic("POST", "/api/v1/auth/register/", body, content_type="application/json")
    _error(response, 413)


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024, REFUSED_BODY_DRAIN_BYTES=64 * 1024)
@pytest.mark.parametrize(("size", "drained"), [(20 * 1024, True), (100 * 1024, False)])
def test_refused_body_is_read_up_to_the_drain_bound(size, drained):
    # Read, a refused body lets the client finish sending and read the 413 (gunicorn would otherwise
    # close on unread bytes and the client see a reset); past the bound it is refused unread.
    stream = io.BytesIO(b"x" * size)
    request = RequestFactory().generic("POST", "/api/v1/gigs/", b"", content_type="application/json")
    request.META.update({"wsgi.input": stream, "CONTENT_LENGTH": str(size)})
    passed_on = []
    response = ApiRequestSizeLimitMiddleware(passed_on.append)(request)
    assert response.status_code == 413 and not passed_on
    assert json.loads(response.content)["error"]["code"] == "request_too_large"
    assert stream.tell() == (size if drained else 0)


def test_each_bad_field_is_named(member):
    response = member.post(
        "/api/v1/gigs/",
        {
            "title": "t" * 201,  # overlong
            "description": ["not", "a", "string"],  # wrong type
            "budget_type": "per_banana",  # unknown enum value
            "budget_min": "lots",  # not a number
            "budget_max": "1" + "0" * 30,  # out of range for the column
            "hours_per_week": 81,
            "timezone": "Mars/Olympus_Mons",
            "languages": ["en"] * 21,  # huge list
            "skills": [{"name": "Python", "min_level": "godlike"}],
        },
        format="json",
    )
    error = _error(response, 400)
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {
        "title",
        "description",
        "budget_type",
        "budget_min",
        "budget_max",
        "hours_per_week",
        "timezone",
        "languages",
        "skills.0.min_level",
    }
    assert not Gig.objects.exists()


def test_huge_skill_list_is_refused(member):
    skills = [{"name": f"skill {i}"} for i in range(51)]
    error = _error(member.post("/api/v1/gigs/", {**GIG, "skills": skills}, format="json"), 400)
    assert "skills" in error["fields"]


def test_null_bytes_and_missing_fields(member):
    error = _error(member.post("/api/v1/gigs/", {"title": "a\x00b"}, format="json"), 400)
    assert {"title", "description", "budget_type", "budget_min", "budget_max"} <= set(error["fields"])


def test_budget_min_above_max_is_a_field_error(member):
    error = _error(member.post("/api/v1/gigs/", {**GIG, "budget_min": "5", "budget_max": "2"}, format="json"), 400)
    assert set(error["fields"]) == {"budget_min"}


def test_read_only_fields_are_rejected_and_never_applied(member):
    gig = member.post("/api/v1/gigs/", GIG, format="json").json()
    response = member.patch(
        f"/api/v1/gigs/{gig['id']}/",
        {
            "title": "New",
            "status": "published",
            "moderation_status": "approved",
            "client": 999,
            "version": 1,
            "created_by": 1,
        },
        format="json",
    )
    error = _error(response, 400)
    assert set(error["fields"]) == {"status", "moderation_status", "client", "created_by"}
    stored = Gig.objects.get(pk=gig["id"])
    assert (stored.title, stored.status, stored.version) == ("T", "draft", 1)


def test_profile_rating_and_counters_cannot_be_set():
    profile = FreelancerFactory()
    api = client_for(profile.user)
    response = api.patch(
        "/api/v1/freelancers/me/",
        {
            "headline": "Hacked",
            "rating_avg": "5.00",
            "rating_count": 99,
            "completed_jobs": 99,
            "moderation_status": "approved",
            "user": 1,
        },
        format="json",
    )
    error = _error(response, 400)
    assert set(error["fields"]) == {"rating_avg", "rating_count", "completed_jobs", "moderation_status", "user"}
    profile.refresh_from_db()
    assert (profile.headline, profile.rating_avg, profile.rating_count, profile.completed_jobs) == (
        "Data annotation specialist",
        None,
        0,
        0,
    )


def test_page_size_is_capped(member):
    client = ClientFactory()
    GigFactory.create_batch(105, client=client)
    body = APIClient().get("/api/v1/gigs/", {"page_size": 1000}).json()
    assert body["count"] == 105 and len(body["results"]) == 100
    _error(APIClient().get("/api/v1/gigs/", {"page": 99}), 404)
    _error(APIClient().get("/api/v1/gigs/", {"page": "abc"}), 404)


def test_bad_query_parameters_are_a_400():
    error = _error(APIClient().get("/api/v1/freelancers/", {"max_rate": "cheap", "category": "nope"}), 400)
    assert set(error["fields"]) == {"max_rate", "category"}
    error = _error(APIClient().get("/api/v1/gigs/", {"ordering": "password"}), 400)
    assert "ordering" in error["fields"]


def test_unknown_routes_and_methods_use_the_error_shape(member):
    assert _error(member.delete("/api/v1/gigs/"), 405)["code"] == "method_not_allowed"
    assert _error(APIClient().get("/api/v1/gigs/999999/"), 404)["code"] == "not_found"


def test_unauthenticated_write_is_a_401_with_a_challenge():
    response = APIClient().post("/api/v1/gigs/", GIG, format="json")
    assert _error(response, 401)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_profile_validation_limits():
    user = UserFactory(role="freelancer")
    api = client_for(user)
    response = api.post(
        "/api/v1/freelancers/me/",
        {
            "display_name": "x" * 151,
            "headline": "ok",
            "hourly_rate": "-1",
            "available_hours_per_week": 100,
            "languages": ["english"],
            "currency": "dollars",
            "visibility": "secret",
            "skills": [{"name": "Python", "years": 99, "level": "guru"}],
        },
        format="json",
    )
    error = _error(response, 400)
    assert set(error["fields"]) == {
        "display_name",
        "hourly_rate",
        "available_hours_per_week",
        "languages.0",
        "currency",
        "visibility",
        "skills.0.years",
        "skills.0.level",
    }
    assert not FreelancerProfile.objects.filter(user=user).exists()


def test_unknown_endpoint_is_a_json_404():
    response = APIClient().get("/api/v1/no-such-thing/")
    assert _error(response, 404)["code"] == "not_found"


def test_deeply_nested_json_is_a_400_not_a_500():
    body = "[" * 100_000 + "]" * 100_000  # 200 KB: under the size limit, over the parser's recursion limit
    response = APIClient().generic("POST", "/api/v1/auth/token/", body, content_type="application/json")
    assert _error(response, 400)["code"] == "malformed_body"


def test_non_standard_json_constants_are_refused():
    response = APIClient().generic(
        "POST", "/api/v1/auth/token/", '{"email": NaN, "password": Infinity}', content_type="application/json"
    )
    assert _error(response, 400)["code"] == "malformed_body"


def test_lone_surrogates_in_keys_and_values_are_a_400():
    account = '"email": "s@example.com", "password": "a-long-unusual-pass-42"'
    for body in (
        '{"role": "freelancer", ' + account + ', "\\ud800": 1}',
        '{"role": "\\ud800", ' + account + "}",
        '{"role": "freelancer", ' + account + ', "full_name": "\\ud800"}',
    ):
        response = APIClient().generic("POST", "/api/v1/auth/register/", body, content_type="application/json")
        _error(response, 400)


def test_numbers_and_booleans_are_not_accepted_as_text(member):
    response = member.post(
        "/api/v1/gigs/", {**GIG, "title": 123, "description": True, "skills": [{"name": 7}]}, format="json"
    )
    error = _error(response, 400)
    assert error["fields"] == {
        "title": ["Not a valid string."],
        "description": ["Not a valid string."],
        "skills.0.name": ["Not a valid string."],
    }
    assert not Gig.objects.exists()
