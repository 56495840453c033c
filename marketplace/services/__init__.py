"""Writes of the marketplace. The API, the admin, Celery tasks and commands all call these.

Split by subject; everything public is re-exported here, so callers write
``from marketplace import services; services.gig_publish(gig=gig, by=user)``.
"""

from marketplace.services.clients import (
    client_create,
    client_invite_code_rotate,
    client_member_register,
    client_update,
)
from marketplace.services.gigs import gig_close, gig_create, gig_publish, gig_update
from marketplace.services.hiring import (
    engagement_complete,
    freelancer_aggregates_refresh,
    invitation_accept,
    invitation_create,
    invitation_decline,
    proposal_create,
    proposal_decline,
    proposal_hire,
    proposal_shortlist,
    proposal_withdraw,
    review_create,
)
from marketplace.services.profiles import freelancer_profile_create, freelancer_profile_update
from marketplace.services.reports import report_create
from marketplace.services.skills import (
    SKILL_FUZZY_THRESHOLD,
    SkillClaim,
    SkillNeed,
    gig_skills_replace,
    normalise_skill_text,
    profile_skills_replace,
    skill_match,
    skill_match_many,
    skill_resolve,
)

__all__ = [
    "SKILL_FUZZY_THRESHOLD",
    "SkillClaim",
    "SkillNeed",
    "client_create",
    "client_invite_code_rotate",
    "client_member_register",
    "client_update",
    "engagement_complete",
    "freelancer_aggregates_refresh",
    "freelancer_profile_create",
    "freelancer_profile_update",
    "gig_close",
    "gig_create",
    "gig_publish",
    "gig_skills_replace",
    "gig_update",
    "invitation_accept",
    "invitation_create",
    "invitation_decline",
    "normalise_skill_text",
    "profile_skills_replace",
    "proposal_create",
    "proposal_decline",
    "proposal_hire",
    "proposal_shortlist",
    "proposal_withdraw",
    "report_create",
    "review_create",
    "skill_match",
    "skill_match_many",
    "skill_resolve",
]
