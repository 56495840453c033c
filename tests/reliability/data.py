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
