"""Django code run inside a scenario's stack (``stack.query``) to create and inspect data."""

FREELANCERS = """
from accounts.models import User
from marketplace import services as market
from matching.signals import enqueue_suppression
result = []
with enqueue_suppression():  # the scenario decides when and how the work is queued
    for i in range({count}):
        user = User.objects.create_user(email=f"{prefix}{{i}}@example.com", password="x", role="freelancer",
                                        full_name=f"Freelancer {{i}}")
        profile = market.freelancer_profile_create(
            user=user, display_name=f"Freelancer {{i}}", headline=f"Computer vision annotator number {{i}}",
            bio="Bounding boxes, polygons and keypoints for retail and robotics datasets.", hourly_rate=40,
            available_hours_per_week=30, skills=[market.SkillClaim(name="Python", level="expert")])
        result.append(profile.id)
"""

VECTOR_COUNTS = """
from django.db.models import Count
from matching.models import FreelancerEmbedding
result = {{str(r["profile_id"]): r["n"] for r in FreelancerEmbedding.objects.filter(profile_id__in={ids})
          .values("profile_id").annotate(n=Count("id"))}}
"""


def freelancers(stack, count: int, prefix: str) -> list[int]:
    return stack.query(FREELANCERS.format(count=count, prefix=prefix))


def vector_counts(stack, ids: list[int]) -> dict[int, int]:
    return {int(k): v for k, v in stack.query(VECTOR_COUNTS.format(ids=list(ids))).items()}


PEOPLE = """
from accounts.models import User
from accounts.services import token_create
from marketplace import services as market
from matching.signals import enqueue_suppression
result = {{"freelancers": [], "clients": []}}
with enqueue_suppression():
    for i in range({clients}):
        owner = User.objects.create_user(email=f"{prefix}-client{{i}}@example.com", password="x", role="client",
                                         full_name=f"Client {{i}}")
        client = market.client_create(name=f"{prefix} client {{i}}", owner=owner, country="GB")
        gig = market.gig_create(client=client, created_by=owner, title=f"Annotate shelf photos {{i}}",
                                description="Bounding boxes around products in shelf photos.", budget_type="hourly",
                                budget_min=20, budget_max=60, hours_per_week=20,
                                skills=[market.SkillNeed(name="Python", min_level="intermediate")])
        market.gig_publish(gig=gig, by=owner)
        result["clients"].append({{"user": owner.id, "token": token_create(user=owner).key, "client": client.id,
                                  "gig": gig.id}})
    for i in range({freelancers}):
        user = User.objects.create_user(email=f"{prefix}-free{{i}}@example.com", password="x", role="freelancer",
                                        full_name=f"Freelancer {{i}}")
        profile = market.freelancer_profile_create(
            user=user, display_name=f"Freelancer {{i}}", headline="Python data annotator", hourly_rate=40,
            available_hours_per_week=30, skills=[market.SkillClaim(name="Python", level="expert")])
        result["freelancers"].append({{"user": user.id, "token": token_create(user=user).key, "profile": profile.id}})
"""


def people(stack, *, clients: int = 1, freelancers: int = 2, prefix: str = "p") -> dict:
    """Clients (each with one published gig) and freelancers (each with a profile), with API tokens."""
    return stack.query(PEOPLE.format(clients=clients, freelancers=freelancers, prefix=prefix))
