"""Every route of the v1 API for six actors: who may do what, and that refusals change nothing.

Each case runs on a fresh marketplace. The actors that must be refused go first and the database is
compared before and after each refusal, then the actors that are allowed. A route added to the
API without a case here makes ``test_every_route_is_covered`` fail.
"""

import re
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from accounts.models import AuthToken, User
from marketplace import services
from marketplace.models import (
    Client,
    Engagement,
    FreelancerProfile,
    Gig,
    Invitation,
    Proposal,
    Report,
    Review,
    Skill,
)
from tests.conftest import client_for
from tests.factories import ClientFactory, FreelancerFactory, GigFactory, UserFactory
from tests.schema_check import (
    check_response,
    openapi,  # noqa: F401  (fixture)
)

ACTORS = ["anon", "other_freelancer", "other_client", "moderator", "client", "freelancer"]
PASSWORD = "correct-horse-battery-staple"


class World:
    """Client A (member `client`) and its gigs; client B (`other_client`); freelancers F and G."""

    def __init__(self):
        self.client_user = UserFactory(role=User.Role.CLIENT)
        self.client_a = ClientFactory(owner=self.client_user)
        self.other_client_user = UserFactory(role=User.Role.CLIENT)
        self.client_b = ClientFactory(owner=self.other_client_user)
        self.f = FreelancerFactory()
        self.g = FreelancerFactory()
        self.moderator_user = UserFactory(role=User.Role.MODERATOR, is_staff=True)
        self.skill = Skill.objects.get(name="Python")

        self.gig = GigFactory(client=self.client_a)  # published, F applied
        self.gig2 = GigFactory(client=self.client_a, title="Second gig")  # published, nobody applied
        self.gig3 = GigFactory(client=self.client_a, title="Third gig")  # published, F invited
        self.draft = GigFactory(client=self.client_a, status=Gig.Status.DRAFT, title="Secret draft")
        self.proposal = services.proposal_create(
            gig=self.gig, by=self.f.user, cover_letter="Hi", proposed_rate=Decimal("40")
        )
        self.invitation = services.invitation_create(gig=self.gig3, freelancer=self.f, by=self.client_user)
        # a second, hired proposal of F on gig2... via a separate gig to keep `proposal` pending
        gig4 = GigFactory(client=self.client_a, title="Hired gig")
        hired = services.proposal_create(gig=gig4, by=self.f.user, cover_letter="Hi", proposed_rate=Decimal("50"))
        self.engagement = services.proposal_hire(proposal=hired, by=self.client_user)  # active
        gig5 = GigFactory(client=self.client_a, title="Done gig")
        done = services.proposal_create(gig=gig5, by=self.f.user, cover_letter="Hi", proposed_rate=Decimal("60"))
        self.done = services.proposal_hire(proposal=done, by=self.client_user)
        services.engagement_complete(engagement=self.done, by=self.client_user)  # completed, not reviewed
        gig6 = GigFactory(client=self.client_a, title="Reviewed gig")
        reviewed = services.proposal_create(gig=gig6, by=self.f.user, cover_letter="Hi", proposed_rate=Decimal("60"))
        reviewed_eng = services.proposal_hire(proposal=reviewed, by=self.client_user)
        services.engagement_complete(engagement=reviewed_eng, by=self.f.user)
        self.review = services.review_create(engagement=reviewed_eng, by=self.client_user, rating=5, text="Great")
        self.report = services.report_create(reporter=self.f.user, target=self.gig, reason="spam")

    def ids(self) -> dict:
        return {
            "gig": self.gig.id,
            "gig2": self.gig2.id,
            "gig3": self.gig3.id,
            "draft": self.draft.id,
            "proposal": self.proposal.id,
            "invitation": self.invitation.id,
            "engagement": self.engagement.id,
            "done": self.done.id,
            "review": self.review.id,
            "report": self.report.id,
            "client_a": self.client_a.id,
            "profile_f": self.f.id,
            "profile_g": self.g.id,
            "skill": self.skill.id,
            "f_email": self.f.user.email,
        }

    def api(self, actor: str) -> APIClient:
        user = {
            "anon": None,
            "freelancer": self.f.user,
            "other_freelancer": self.g.user,
            "client": self.client_user,
            "other_client": self.other_client_user,
            "moderator": self.moderator_user,
        }[actor]
        return APIClient() if user is None else client_for(user)


def _all(status: int) -> dict:
    return dict.fromkeys(ACTORS, status)


def _authed(status: int, **overrides) -> dict:
    return {**_all(status), "anon": 401, **overrides}


PROFILE = {"display_name": "X", "headline": "Y", "hourly_rate": "10.00"}
GIG = {"title": "T", "description": "D", "budget_type": "fixed", "budget_min": "1", "budget_max": "2"}
NOBODY_ELSE = {"other_freelancer": 404, "other_client": 404, "moderator": 404}

# (method, route, url, body, expected status per actor)
CASES = [
    # accounts
    (
        "POST",
        "auth/register/",
        "auth/register/",
        {"role": "freelancer", "email": "new@example.com", "password": "a-long-unusual-pass-42"},
        _all(202),
    ),
    ("POST", "auth/token/", "auth/token/", {"email": "{f_email}", "password": PASSWORD}, _all(201)),
    ("POST", "auth/token/revoke/", "auth/token/revoke/", {}, _authed(204)),
    ("GET", "me/", "me/", None, _authed(200)),
    ("PATCH", "me/", "me/", {"full_name": "Renamed"}, _authed(200)),
    ("POST", "me/password/", "me/password/", {"current_password": "wrong", "new_password": "x" * 20}, _authed(400)),
    # skills
    ("GET", "skills/", "skills/", None, _all(200)),
    ("GET", "skills/{pk}/", "skills/{skill}/", None, _all(200)),
    # freelancers
    ("GET", "freelancers/", "freelancers/", None, _all(200)),
    ("GET", "freelancers/{pk}/", "freelancers/{profile_f}/", None, _all(200)),
    ("GET", "freelancers/me/", "freelancers/me/", None, _authed(404, freelancer=200, other_freelancer=200)),
    ("POST", "freelancers/me/", "freelancers/me/", PROFILE, _authed(403, freelancer=409, other_freelancer=409)),
    (
        "PATCH",
        "freelancers/me/",
        "freelancers/me/",
        {"headline": "New"},
        _authed(404, freelancer=200, other_freelancer=200),
    ),
    # clients
    ("GET", "clients/{pk}/", "clients/{client_a}/", None, _authed(404, client=200)),
    ("PATCH", "clients/{pk}/", "clients/{client_a}/", {"name": "Renamed"}, _authed(404, client=200)),
    ("GET", "clients/me/", "clients/me/", None, _authed(404, client=200, other_client=200)),
    ("PATCH", "clients/me/", "clients/me/", {"name": "Renamed"}, _authed(404, client=200, other_client=200)),
    ("POST", "clients/me/invite-code/", "clients/me/invite-code/", None, _authed(404, client=200, other_client=200)),
    # gigs
    ("GET", "gigs/", "gigs/", None, _all(200)),
    ("GET", "gigs/{pk}/", "gigs/{gig}/", None, _all(200)),
    ("GET", "gigs/{pk}/", "gigs/{draft}/", None, {**_all(404), "client": 200}),
    ("POST", "gigs/", "gigs/", GIG, _authed(403, client=201, other_client=201)),
    ("PATCH", "gigs/{pk}/", "gigs/{gig}/", {"title": "Mine now"}, _authed(403, client=200)),
    ("PATCH", "gigs/{pk}/", "gigs/{draft}/", {"title": "Mine now"}, _authed(404, client=200)),
    ("POST", "gigs/{pk}/publish/", "gigs/{draft}/publish/", None, _authed(404, client=200)),
    ("POST", "gigs/{pk}/close/", "gigs/{gig}/close/", None, _authed(403, client=200)),
    # proposals
    ("GET", "proposals/", "proposals/", None, _authed(200)),
    ("GET", "proposals/{pk}/", "proposals/{proposal}/", None, _authed(404, client=200, freelancer=200)),
    (
        "POST",
        "proposals/",
        "proposals/",
        {"gig": "{gig2}", "cover_letter": "Hello", "proposed_rate": "30"},
        _authed(403, freelancer=201, other_freelancer=201),
    ),
    (
        "POST",
        "proposals/{pk}/shortlist/",
        "proposals/{proposal}/shortlist/",
        None,
        _authed(403, **NOBODY_ELSE, client=200),
    ),
    ("POST", "proposals/{pk}/decline/", "proposals/{proposal}/decline/", None, _authed(403, **NOBODY_ELSE, client=200)),
    (
        "POST",
        "proposals/{pk}/withdraw/",
        "proposals/{proposal}/withdraw/",
        None,
        _authed(403, **NOBODY_ELSE, freelancer=200),
    ),
    ("POST", "proposals/{pk}/hire/", "proposals/{proposal}/hire/", None, _authed(403, **NOBODY_ELSE, client=201)),
    # invitations
    ("GET", "invitations/", "invitations/", None, _authed(200)),
    ("GET", "invitations/{pk}/", "invitations/{invitation}/", None, _authed(404, client=200, freelancer=200)),
    ("POST", "invitations/", "invitations/", {"gig": "{gig2}", "freelancer": "{profile_g}"}, _authed(403, client=201)),
    (
        "POST",
        "invitations/{pk}/accept/",
        "invitations/{invitation}/accept/",
        {},
        _authed(403, **NOBODY_ELSE, freelancer=201),
    ),
    (
        "POST",
        "invitations/{pk}/decline/",
        "invitations/{invitation}/decline/",
        None,
        _authed(403, **NOBODY_ELSE, freelancer=200),
    ),
    # engagements
    ("GET", "engagements/", "engagements/", None, _authed(200)),
    ("GET", "engagements/{pk}/", "engagements/{engagement}/", None, _authed(404, client=200, freelancer=200)),
    # both sides may complete: the client goes first, so the freelancer then finds it completed (409)
    (
        "POST",
        "engagements/{pk}/complete/",
        "engagements/{engagement}/complete/",
        None,
        _authed(404, client=200, freelancer=409),
    ),
    # reviews
    ("GET", "reviews/", "reviews/", None, _all(200)),
    ("GET", "reviews/{pk}/", "reviews/{review}/", None, _all(200)),
    ("POST", "reviews/", "reviews/", {"engagement": "{done}", "rating": 4}, _authed(400, client=201, freelancer=201)),
    # reports
    ("GET", "reports/", "reports/", None, _authed(200)),
    ("GET", "reports/{pk}/", "reports/{report}/", None, _authed(404, freelancer=200)),
    ("POST", "reports/", "reports/", {"target_type": "gig", "target_id": "{gig2}", "reason": "spam"}, _authed(201)),
    # matching (added when merging the matching branch: its routes must be covered here too)
    ("GET", "gigs/<int:gig_id>/matches/", "gigs/{gig}/matches/", None, _authed(404, client=200)),
    ("POST", "gigs/<int:gig_id>/matches/refresh", "gigs/{gig}/matches/refresh", None, _authed(404, client=202)),
    (
        "POST",
        "talent-search/",
        "talent-search/",
        {"title": "Label product photos"},
        _authed(403, client=200, other_client=200, moderator=200),
    ),
    (
        "GET",
        "freelancers/me/recommended-gigs/",
        "freelancers/me/recommended-gigs/",
        None,
        _authed(404, freelancer=200, other_freelancer=200),
    ),
]

_MODELS = [User, AuthToken, Client, FreelancerProfile, Gig, Proposal, Invitation, Engagement, Review, Report]


def _fingerprint() -> dict:
    return {m.__name__: sorted((o.pk, repr(model_to_dict(o))) for o in m.objects.all()) for m in _MODELS}


def _fill(value, ids: dict):
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _success(status: int) -> bool:
    return 200 <= status < 300


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "route", "url", "body", "expected"), CASES, ids=[f"{c[0]} {c[2]}" for c in CASES])
def test_route_for_each_actor(method, route, url, body, expected, openapi, settings):  # noqa: F811
    # Every actor reports the same gig here; the moderation policy would hold it after a few reports.
    settings.MODERATION_REPORT_THRESHOLD = 100
    world = World()
    ids = world.ids()
    path = "/api/v1/" + url.format(**ids)
    # refusals first, then the allowed actors, then conflicts that follow from an allowed change
    refused_first = sorted(ACTORS, key=lambda a: 2 if expected[a] == 409 else int(_success(expected[a])))
    for actor in refused_first:
        api = world.api(actor)
        before = _fingerprint() if not _success(expected[actor]) and method != "GET" else None
        response = getattr(api, method.lower())(path, _fill(body, ids), format="json")
        assert response.status_code == expected[actor], (actor, response.status_code, response.content[:300])
        if response.status_code >= 400:
            assert set(response.json()) == {"error"}, response.json()
        check_response(openapi, response, method, path)  # documented status, body matches the schema
        if before is not None:
            after = _fingerprint()
            # refused: nothing changed (the only write allowed is a token's last_used_at)
            for name in before:
                if name != "AuthToken":
                    assert after[name] == before[name], (actor, name)


def _api_routes():
    """(method, route) for every endpoint under /api/v1/ that the URLconf serves."""
    resolver = get_resolver()
    found = set()

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                route = re.sub(r"\(\?P<\w+>[^)]*\)", "{pk}", prefix + str(p.pattern)).replace("^", "").replace("$", "")
                if not route.startswith("api/v1/"):
                    continue
                callback = p.callback
                actions = getattr(callback, "actions", None)
                if actions:
                    methods = {m.upper() for m in actions}
                else:
                    cls = callback.view_class
                    methods = {m.upper() for m in cls.http_method_names if hasattr(cls, m) and m != "options"}
                for method in methods - {"HEAD"}:  # HEAD mirrors GET
                    found.add((method, route[len("api/v1/") :]))

    walk(resolver.url_patterns, "")
    return found


def test_every_route_is_covered():
    covered = {(c[0], c[1]) for c in CASES}
    routes = _api_routes()
    assert routes, "no API routes found"
    missing = sorted(routes - covered)
    assert not missing, f"routes without a permission case: {missing}"
