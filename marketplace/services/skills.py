"""The skill taxonomy: normalising free-text skill names, and replacing a profile's or gig's skills."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.postgres.search import TrigramSimilarity
from django.db import transaction
from django.utils.text import slugify

from marketplace.models import FreelancerProfile, FreelancerSkill, Gig, GigSkill, Skill, skill_level_rank

log = logging.getLogger("matchwork.marketplace")

# A free-text name closer than this (pg_trgm similarity) to a canonical name or alias is taken as it.
SKILL_FUZZY_THRESHOLD = 0.55
_SPACES = re.compile(r"\s+")


def normalise_skill_text(name: str) -> str:
    return _SPACES.sub(" ", name.strip()).lower()


def skill_match(name: str) -> Skill | None:
    """Find the canonical skill for a free-text name: exact name or alias, then a close match."""
    return skill_match_many([name])[0]


def skill_match_many(names: list[str]) -> list[Skill | None]:
    """``skill_match`` of each name, in order: the exact matches of all of them in one query (a
    talent search names up to 20 skills), then a close match for each name left."""
    texts = [normalise_skill_text(name) for name in names]
    wanted = sorted({t for t in texts if t})
    exact: dict[str, Skill] = {}
    if wanted:
        # Canonical name, slug, or any alias compared case-insensitively (curated aliases may keep
        # their capitals; the seed stores them lower-case); per text the first by review state, id.
        rows = Skill.objects.raw(
            "SELECT DISTINCT ON (q.text) q.text AS matched_text, s.* "
            "FROM unnest(%s::text[], %s::text[]) AS q(text, slug) JOIN marketplace_skill s "
            "ON s.review_state <> 'merged' AND (lower(s.name) = q.text OR s.slug = q.slug "
            "OR EXISTS (SELECT 1 FROM unnest(s.aliases) a WHERE lower(a) = q.text)) "
            "ORDER BY q.text, s.review_state, s.id",
            [wanted, [slugify(t) for t in wanted]],
        )
        exact = {row.matched_text: row.merged_into if row.merged_into_id else row for row in rows}
    close: dict[str, Skill | None] = {t: _close_match(t) for t in wanted if t not in exact}
    return [exact.get(t) or close.get(t) if t else None for t in texts]


def _close_match(text: str) -> Skill | None:
    """The approved skill whose name, else one of whose aliases, is closest to the text (pg_trgm),
    if close enough."""
    close = (
        Skill.objects.filter(review_state=Skill.ReviewState.APPROVED)
        .annotate(sim=TrigramSimilarity("name", text))
        .filter(sim__gte=SKILL_FUZZY_THRESHOLD)
        .order_by("-sim", "id")
        .first()
    )
    if close is not None:
        return close
    # Close to an alias: pg_trgm over the unnested alias list.
    rows = Skill.objects.raw(
        "SELECT s.*, max(similarity(a, %s)) AS sim FROM marketplace_skill s, unnest(s.aliases) a "
        "WHERE s.review_state = 'approved' GROUP BY s.id HAVING max(similarity(a, %s)) >= %s "
        "ORDER BY sim DESC, s.id LIMIT 1",
        [text, text, SKILL_FUZZY_THRESHOLD],
    )
    return next(iter(rows), None)


@transaction.atomic
def skill_resolve(*, name: str) -> Skill:
    """Map a free-text skill name onto the taxonomy; an unknown name becomes an unreviewed skill.

    Nothing a user types is dropped: moderators later merge unreviewed skills into canonical ones.
    """
    clean = _SPACES.sub(" ", name.strip())[:100]
    if not clean:
        raise ValueError("A skill name cannot be empty")
    found = skill_match(clean)
    if found is not None:
        return found
    base_slug = slugify(clean)[:100] or "skill"
    slug, n = base_slug, 1
    while Skill.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base_slug}-{n}"
    skill, created = Skill.objects.get_or_create(
        name=clean,
        defaults={"slug": slug, "category": Skill.Category.OTHER, "review_state": Skill.ReviewState.UNREVIEWED},
    )
    if created:
        log.info("unreviewed skill created from free text", extra={"skill_id": skill.id, "skill_name": clean})
    return skill


@dataclass(frozen=True)
class SkillClaim:
    name: str
    level: str = "intermediate"
    years: int | None = None


@dataclass(frozen=True)
class SkillNeed:
    name: str
    required: bool = True
    min_level: str = ""


def profile_skills_replace(profile: FreelancerProfile, claims: Iterable[SkillClaim]) -> None:
    rows: dict[int, FreelancerSkill] = {}
    for claim in claims:
        skill = skill_resolve(name=claim.name)
        current = rows.get(skill.id)
        # Two free-text names that resolve to one skill: keep the stronger claim.
        if current is None or skill_level_rank(claim.level) > skill_level_rank(current.level):
            rows[skill.id] = FreelancerSkill(profile=profile, skill=skill, level=claim.level, years=claim.years)
    FreelancerSkill.objects.filter(profile=profile).delete()
    FreelancerSkill.objects.bulk_create(rows.values())


def gig_skills_replace(gig: Gig, needs: Iterable[SkillNeed]) -> None:
    rows: dict[int, GigSkill] = {}
    for need in needs:
        skill = skill_resolve(name=need.name)
        current = rows.get(skill.id)
        if current is None or (need.required and not current.required):
            rows[skill.id] = GigSkill(gig=gig, skill=skill, required=need.required, min_level=need.min_level or "")
    GigSkill.objects.filter(gig=gig).delete()
    GigSkill.objects.bulk_create(rows.values())
