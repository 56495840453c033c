"""Scenarios: concurrent edits with the same version, and retried/duplicated POSTs, fired at the
same moment from threads against gunicorn (several worker processes) and the real PostgreSQL."""

import threading
from collections import Counter

import pytest

from tests.reliability import data
from tests.reliability.harness import report

pytestmark = [pytest.mark.slow]

ROUNDS = 8
DUPLICATES = 6


def _at_once(calls):
    """Run the calls in threads released together by a barrier; return their (status, body) in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait(timeout=30)
        status, body, _ = call()
        results[i] = (status, body)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.fixture(scope="module")
def people(web_stack):
    return data.people(web_stack, clients=2, freelancers=3, prefix="conc")


def test_concurrent_profile_edits_with_same_version_one_wins_other_412(web_stack, people):
    token, profile_id = people["freelancers"][0]["token"], people["freelancers"][0]["profile"]
    tally = Counter()
    for r in range(ROUNDS):
        _, before, headers = web_stack.request("GET", "/api/v1/freelancers/me/", token=token)
        etag = headers["ETag"]
        edits = [f"Round {r} headline from tab A", f"Round {r} headline from tab B"]
        results = _at_once(
            [
                lambda h=h: web_stack.request(
                    "PATCH", "/api/v1/freelancers/me/", {"headline": h}, token=token, headers={"If-Match": etag}
                )
                for h in edits
            ]
        )
        statuses = sorted(s for s, _ in results)
        tally.update(statuses)
        assert statuses == [200, 412], results
        winner = next(edits[i] for i, (s, _) in enumerate(results) if s == 200)
        loser = next(body for s, body in results if s == 412)
        assert loser["error"]["code"] == "precondition_failed"
        stored = web_stack.query(
            f"from marketplace.models import FreelancerProfile\n"
            f"p = FreelancerProfile.objects.get(id={profile_id}); result = [p.version, p.headline]"
        )
        assert stored == [before["version"] + 1, winner]  # the loser's edit was not applied on top
    report(f"concurrent profile edits: {ROUNDS} rounds of 2 simultaneous PATCHes with the same If-Match: {dict(tally)}")


def test_concurrent_gig_edits_with_same_version_one_wins_other_412(web_stack, people):
    client = people["clients"][0]
    tally = Counter()
    for r in range(ROUNDS):
        _, before, headers = web_stack.request("GET", f"/api/v1/gigs/{client['gig']}/", token=client["token"])
        edits = [f"Round {r}: boxes only", f"Round {r}: polygons only"]
        results = _at_once(
            [
                lambda d=d, etag=headers["ETag"]: web_stack.request(
                    "PATCH",
                    f"/api/v1/gigs/{client['gig']}/",
                    {"description": d},
                    token=client["token"],
                    headers={"If-Match": etag},
                )
                for d in edits
            ]
        )
        statuses = sorted(s for s, _ in results)
        tally.update(statuses)
        assert statuses == [200, 412], results
        winner = next(edits[i] for i, (s, _) in enumerate(results) if s == 200)
        stored = web_stack.query(
            f"from marketplace.models import Gig\ng = Gig.objects.get(id={client['gig']}); "
            "result = [g.version, g.description]"
        )
        assert stored == [before["version"] + 1, winner]
    report(f"concurrent gig edits: {ROUNDS} rounds of 2 simultaneous PATCHes: {dict(tally)}")


def _count(stack, model: str, **filters) -> int:
    args = ", ".join(f"{k}={v!r}" for k, v in filters.items())
    return stack.query(f"from marketplace.models import {model}\nresult = {model}.objects.filter({args}).count()")


def test_duplicated_posts_create_one_proposal_invitation_and_review(web_stack, people):
    owner = people["clients"][0]
    f1, f2 = people["freelancers"][1], people["freelancers"][2]

    # a freelancer's proposal, sent 6 times at once (a client retrying after a timeout)
    proposal_body = {"gig": owner["gig"], "cover_letter": "I can start Monday.", "proposed_rate": "40.00"}
    results = _at_once(
        [lambda: web_stack.request("POST", "/api/v1/proposals/", proposal_body, token=f1["token"])] * DUPLICATES
    )
    proposals = Counter(s for s, _ in results)
    proposal_id = next(body["id"] for s, body in results if s == 201)
    assert proposals == {201: 1, 409: DUPLICATES - 1}, results
    assert _count(web_stack, "Proposal", gig_id=owner["gig"], freelancer_id=f1["profile"]) == 1

    # a client's invitation, sent 6 times at once
    invitation_body = {"gig": owner["gig"], "freelancer": f2["profile"], "message": "Keen?"}
    results = _at_once(
        [lambda: web_stack.request("POST", "/api/v1/invitations/", invitation_body, token=owner["token"])] * DUPLICATES
    )
    invitations = Counter(s for s, _ in results)
    assert invitations == {201: 1, 409: DUPLICATES - 1}, results
    assert _count(web_stack, "Invitation", gig_id=owner["gig"], freelancer_id=f2["profile"]) == 1

    # hire and complete, then the review is sent 6 times at once by each side
    status, engagement, _ = web_stack.request("POST", f"/api/v1/proposals/{proposal_id}/hire/", token=owner["token"])
    assert status == 201, engagement
    status, body, _ = web_stack.request("POST", f"/api/v1/engagements/{engagement['id']}/complete/", token=f1["token"])
    assert status == 200, body
    review_body = {"engagement": engagement["id"], "rating": 5, "text": "Great work."}
    results = _at_once(
        [lambda: web_stack.request("POST", "/api/v1/reviews/", review_body, token=owner["token"])] * DUPLICATES
        + [lambda: web_stack.request("POST", "/api/v1/reviews/", review_body, token=f1["token"])] * DUPLICATES
    )
    reviews = Counter(s for s, _ in results)
    assert reviews == {201: 2, 409: 2 * DUPLICATES - 2}, results
    assert _count(web_stack, "Review", engagement_id=engagement["id"]) == 2
    # the rating counted once
    rating = web_stack.query(
        f"from marketplace.models import FreelancerProfile\np = FreelancerProfile.objects.get(id={f1['profile']})\n"
        "result = [str(p.rating_avg), p.rating_count]"
    )
    assert rating == ["5.00", 1]
    report(
        f"duplicated POSTs ({DUPLICATES} at once): proposals {dict(proposals)}, "
        f"invitations {dict(invitations)}, reviews (both sides) {dict(reviews)}; rows: 1, 1, 2"
    )
