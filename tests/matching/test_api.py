import pytest
from rest_framework.test import APIClient

from accounts.models import User
from matching.models import MatchRun
from matching.selectors import match_entry_for
from matching.services import freelancer_embeddings_refresh, match_run_execute
from tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.model


@pytest.fixture
def setting(encoder, make_freelancer, make_gig):
    """A client's gig about image annotation and three freelancers, embedded."""
    client = ClientFactory()
    gig = make_gig(
        client=client,
        title="Polygon annotation of 5k crop photos in CVAT",
        description="Segment crops and weeds with polygons; write the labelling guidelines for the team.",
        skills=[("Image annotation", True, "advanced"), ("CVAT", True, ""), ("Annotation guidelines", False, "")],
        budget_min=15,
        budget_max=30,
    )
    annotators = [
        make_freelancer(
            headline="Annotation lead - CVAT polygons",
            skills=[("Image annotation", "expert"), ("CVAT", "expert"), ("Annotation guidelines", "advanced")],
            rate=25,
        ),
        make_freelancer(
            headline="Image annotator, bounding boxes and polygons",
            skills=[("Image annotation", "advanced"), ("CVAT", "intermediate")],
            rate=18,
        ),
        make_freelancer(headline="Bookkeeper for small businesses", skills=[("Bookkeeping", "expert")], rate=30),
    ]
    freelancer_embeddings_refresh(profile_ids=[p.id for p in annotators])
    owner = client.memberships.get(is_owner=True).user
    return {"gig": gig, "owner": owner, "freelancers": annotators}


def _as(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_gig_matches_are_for_the_gigs_client_only(setting):
    gig = setting["gig"]
    url = f"/api/v1/gigs/{gig.id}/matches/"
    other_client_member = ClientFactory().memberships.get().user
    freelancer_user = setting["freelancers"][0].user

    assert APIClient().get(url).status_code in (401, 403)
    assert _as(other_client_member).get(url).status_code == 404
    assert _as(freelancer_user).get(url).status_code == 404
    assert _as(setting["owner"]).get("/api/v1/gigs/999999/matches/").status_code == 404


def test_gig_matches_say_pending_then_list_the_ranked_explained_run(setting):
    gig, owner = setting["gig"], setting["owner"]
    api = _as(owner)

    empty = api.get(f"/api/v1/gigs/{gig.id}/matches/").json()
    assert empty["run"] is None and empty["results"] == [] and empty["pending"] is False

    refresh = api.post(f"/api/v1/gigs/{gig.id}/matches/refresh")
    assert refresh.status_code == 202 and refresh.json()["status"] == "pending"
    # A second refresh while one waits joins it (debounce).
    assert api.post(f"/api/v1/gigs/{gig.id}/matches/refresh").json()["id"] == refresh.json()["id"]
    pending = api.get(f"/api/v1/gigs/{gig.id}/matches/").json()
    assert pending["pending"] is True and pending["pending_run"]["id"] == refresh.json()["id"]

    match_run_execute(run_id=refresh.json()["id"])
    body = api.get(f"/api/v1/gigs/{gig.id}/matches/?page_size=1").json()

    lead, _annotator, bookkeeper = setting["freelancers"]
    assert body["pending"] is False
    assert body["run"]["status"] == "done" and body["run"]["model_name"] == "all-MiniLM-L6-v2"
    assert body["count"] >= 2 and body["next"] is not None
    top = body["results"][0]
    assert top["rank"] == 1 and top["freelancer"]["id"] == lead.id
    assert {m["skill"] for m in top["explanation"]["required_skills_matched"]} == {"Image annotation", "CVAT"}
    assert "semantic" in top["components"] and "required_skills" in top["components"]
    page2 = api.get(body["next"]).json()
    assert page2["results"][0]["rank"] == 2

    entry = match_entry_for(gig=gig, freelancer=lead)
    assert entry is not None and entry.rank == 1 and entry.score == top["score"]
    bookkeeper_entry = match_entry_for(gig=gig, freelancer=bookkeeper)
    assert bookkeeper_entry is None or bookkeeper_entry.rank > 2


def test_refresh_is_refused_for_other_clients_and_closed_gigs(setting):
    gig = setting["gig"]
    assert _as(ClientFactory().memberships.get().user).post(f"/api/v1/gigs/{gig.id}/matches/refresh").status_code == 404
    gig.status = "closed"
    gig.save()
    response = _as(setting["owner"]).post(f"/api/v1/gigs/{gig.id}/matches/refresh")
    assert response.status_code == 409
    assert not MatchRun.objects.filter(gig=gig).exists()


def test_talent_search_ranks_synchronously_for_client_members(setting):
    api = _as(setting["owner"])
    response = api.post(
        "/api/v1/talent-search/",
        {
            "title": "Someone to draw outlines around plants in photos",
            "description": "We have farm photos and need the crops and weeds outlined for a model.",
            "skills": [{"name": "image annotation", "required": True, "min_level": "advanced"}],
            "budget_type": "hourly",
            "budget_max": 30,
            "languages": ["en"],
            "limit": 2,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert len(results) == 2
    assert results[0]["freelancer"]["id"] in {p.id for p in setting["freelancers"][:2]}
    assert setting["freelancers"][2].id not in {r["freelancer"]["id"] for r in results}
    assert results[0]["explanation"]["required_skills_matched"][0]["skill"] == "Image annotation"


def test_talent_search_never_lists_the_searching_clients_own_members(setting):
    lead = setting["freelancers"][0]  # the best annotator joins the client's team
    setting["gig"].client.memberships.create(user=lead.user)
    body = {"title": "Polygon annotation in CVAT", "skills": [{"name": "Image annotation"}], "languages": ["en"]}

    mine = _as(setting["owner"]).post("/api/v1/talent-search/", body, format="json")
    theirs = _as(ClientFactory().memberships.get().user).post("/api/v1/talent-search/", body, format="json")

    assert mine.status_code == theirs.status_code == 200
    assert lead.id not in {r["freelancer"]["id"] for r in mine.json()["results"]}
    assert lead.id in {r["freelancer"]["id"] for r in theirs.json()["results"]}  # another client finds them


def test_talent_search_rejects_bad_input_and_non_clients(setting):
    api = _as(setting["owner"])
    too_many = {"title": "x", "limit": 500}
    assert api.post("/api/v1/talent-search/", too_many, format="json").status_code == 400
    assert api.post("/api/v1/talent-search/", {"description": "no title"}, format="json").status_code == 400
    bad_tz = {"title": "x", "timezone": "Mars/Olympus"}
    # The API's one error shape (config/api/errors.py) names bad fields under error.fields.
    assert "timezone" in api.post("/api/v1/talent-search/", bad_tz, format="json").json()["error"]["fields"]
    huge = {"title": "x", "skills": [{"name": f"s{i}"} for i in range(21)]}
    assert api.post("/api/v1/talent-search/", huge, format="json").status_code == 400
    freelancer_user = setting["freelancers"][0].user
    assert _as(freelancer_user).post("/api/v1/talent-search/", {"title": "x"}, format="json").status_code == 403


def test_recommended_gigs_for_the_requesting_freelancer(setting, make_gig):
    from matching.services import gig_embeddings_refresh

    unrelated = make_gig(
        title="Monthly bookkeeping in Xero",
        description="Reconcile two bank accounts monthly.",
        skills=[("Bookkeeping", True, "")],
        budget_max=60,
    )
    gig_embeddings_refresh(gig_ids=[setting["gig"].id, unrelated.id])
    lead, _annotator, bookkeeper = setting["freelancers"]

    body = _as(lead.user).get("/api/v1/freelancers/me/recommended-gigs/").json()
    assert body["results"][0]["gig"]["id"] == setting["gig"].id
    assert body["results"][0]["explanation"]["required_skills_missing"] == []
    body = _as(bookkeeper.user).get("/api/v1/freelancers/me/recommended-gigs/").json()
    assert body["results"][0]["gig"]["id"] == unrelated.id

    client_user = UserFactory(role=User.Role.CLIENT)
    assert _as(client_user).get("/api/v1/freelancers/me/recommended-gigs/").status_code == 404
    assert APIClient().get("/api/v1/freelancers/me/recommended-gigs/").status_code in (401, 403)


def test_recommended_gigs_cost_the_same_queries_for_two_gigs_or_eight(setting, make_gig):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from matching.services import gig_embeddings_refresh

    def more_gigs(n):
        gigs = [
            make_gig(
                title=f"Bounding boxes for dataset {i}",
                description="Draw boxes around vehicles; follow the labelling guidelines.",
                skills=[("Image annotation", True, ""), ("CVAT", False, "")],
                budget_max=30,
            )
            for i in range(n)
        ]
        gig_embeddings_refresh(gig_ids=[g.id for g in gigs] + [setting["gig"].id])

    lead = setting["freelancers"][0]
    url = "/api/v1/freelancers/me/recommended-gigs/"
    more_gigs(1)
    _as(lead.user).get(url)  # warms the per-process caches (corpus statistics, skill vectors)
    with CaptureQueriesContext(connection) as two:
        first = _as(lead.user).get(url).json()
    more_gigs(6)
    _as(lead.user).get(url)
    with CaptureQueriesContext(connection) as eight:
        second = _as(lead.user).get(url).json()

    assert (first["count"], second["count"]) == (2, 8)
    assert len(eight) == len(two)


def test_invitation_from_a_match_records_the_rank_and_score_the_engine_showed(setting, make_freelancer):
    gig, owner = setting["gig"], setting["owner"]
    gig.status = "published"
    gig.save()
    lead = setting["freelancers"][0]
    api = _as(owner)
    run_id = api.post(f"/api/v1/gigs/{gig.id}/matches/refresh").json()["id"]
    match_run_execute(run_id=run_id)
    shown = {r["freelancer"]["id"]: r for r in api.get(f"/api/v1/gigs/{gig.id}/matches/").json()["results"]}

    # A client cannot claim a rank or score of its own: those fields are not accepted.
    forged = {"gig": gig.id, "freelancer": lead.id, "match_rank": 1, "match_score": 99.0}
    response = api.post("/api/v1/invitations/", forged, format="json")
    assert response.status_code == 400
    assert {"match_rank", "match_score"} <= set(response.json()["error"]["fields"])

    response = api.post(
        "/api/v1/invitations/", {"gig": gig.id, "freelancer": lead.id, "match_run": run_id}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["match_rank"] == shown[lead.id]["rank"] == 1
    assert response.json()["match_score"] == shown[lead.id]["score"]

    # Someone who joined after the run is invited without a rank.
    newcomer = make_freelancer(headline="Annotator who joined today", skills=[("CVAT", "advanced")], rate=20)
    assert newcomer.id not in shown
    payload = {"gig": gig.id, "freelancer": newcomer.id, "match_run": run_id}
    response = api.post("/api/v1/invitations/", payload, format="json")
    assert response.status_code == 201 and response.json()["match_rank"] is None
