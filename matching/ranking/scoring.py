"""Scoring: the component scores of a candidate for a gig, their blend, and the explanation.

Every component is in [0, 1]; ``blend`` is a weighted sum (weights in ``WEIGHTS``). Components
that the gig does not constrain (no required skills, fixed budget, no hours, no timezone) are
neutral (1.0) rather than missing, so candidates stay comparable within a gig.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marketplace.models import skill_level_rank

from .spec import GigSpec, SkillNeedSpec

WEIGHTS = {
    "semantic": 0.25,
    "lexical": 0.25,
    "required_skills": 0.25,
    "nice_to_have": 0.10,
    "focus": 0.10,
    "rate_fit": 0.06,
    "availability": 0.05,
    "timezone": 0.08,
    "reputation": 0.04,
}
_WEIGHT_TOTAL = sum(WEIGHTS.values())
# The same weights as names: ``score_candidate`` runs for every candidate of every ranking.
_W_SEMANTIC, _W_LEXICAL = WEIGHTS["semantic"], WEIGHTS["lexical"]
_W_REQUIRED, _W_NICE, _W_FOCUS = WEIGHTS["required_skills"], WEIGHTS["nice_to_have"], WEIGHTS["focus"]
_W_RATE, _W_AVAILABILITY, _W_TIMEZONE = WEIGHTS["rate_fit"], WEIGHTS["availability"], WEIGHTS["timezone"]
_W_REPUTATION = WEIGHTS["reputation"]
# Reputation prior: a newcomer counts as PRIOR_REVIEWS reviews of the marketplace's mean rating.
DEFAULT_PRIOR_RATING = 4.5
PRIOR_REVIEWS = 5
# A claimed skill that is not the needed one but close to it by name earns partial credit:
# nothing below RELATED_FLOOR cosine, RELATED_MAX at RELATED_FULL and above.
RELATED_FLOOR = 0.4
RELATED_FULL = 0.8
RELATED_MAX = 0.6
WORKDAY = (9, 17)  # local working hours used for timezone overlap


@dataclass(slots=True, frozen=True)  # shared: facts.py builds each once per process
class ClaimFacts:
    skill_id: int
    name: str
    level: str
    years: int | None
    rank: int = field(init=False, compare=False)  # the level's rank (skill_level_rank), for scoring

    def __post_init__(self) -> None:
        object.__setattr__(self, "rank", skill_level_rank(self.level))


@dataclass(slots=True)
class CandidateFacts:
    """What the ranking knows about one freelancer."""

    profile_id: int
    hourly_rate: float
    available_hours_per_week: int
    timezone: str
    languages: list[str]
    rating_avg: float | None
    rating_count: int
    completed_jobs: int
    claims: dict[int, ClaimFacts] = field(default_factory=dict)
    # For each needed skill id not claimed as such: the closest claimed skill id and its name cosine.
    related: dict[int, tuple[int, float]] = field(default_factory=dict)
    # Share of the claimed skills that are needed or close to a need (keyword stuffing dilutes it).
    focus: float = 1.0
    semantic: float = 0.0  # blended cosine similarity, [-1, 1]
    lexical: float = 0.0  # BM25, unnormalised
    own: float = 0.0  # own_score, once the ranking has computed it


def skill_level_fit(claimed: str, needed: str) -> float:
    """1.0 when the claim meets the minimum level, less for each level short of it."""
    if not needed:
        return 1.0
    return _level_fit(skill_level_rank(claimed), skill_level_rank(needed))


def _level_fit(claimed_rank: int, needed_rank: int) -> float:
    """``skill_level_fit`` by the levels' ranks (a needed rank of 0 asks no level)."""
    gap = needed_rank - claimed_rank
    return 1.0 if gap <= 0 else max(0.2, 1.0 - 0.35 * gap)


def _offset_hours(tz_name: str, when: datetime) -> float | None:
    try:
        offset = when.astimezone(ZoneInfo(tz_name)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return offset.total_seconds() / 3600 if offset is not None else None


def timezone_overlap_hours(tz_a: str, tz_b: str, when: datetime | None = None) -> float | None:
    """Hours per day that two local 9:00-17:00 working days overlap (None if a zone is unknown)."""
    if when is None:
        # Offsets change only at DST transitions: one computation per pair and hour is enough
        # (every candidate of every ranking asks this), keyed by the hour since the epoch.
        return _overlap_this_hour(tz_a, tz_b, int(time.time() // 3600))
    return _overlap(tz_a, tz_b, when)


@lru_cache(maxsize=4096)
def _overlap_this_hour(tz_a: str, tz_b: str, hour: int) -> float | None:
    return _overlap(tz_a, tz_b, datetime.fromtimestamp(hour * 3600, UTC))


def _overlap(tz_a: str, tz_b: str, when: datetime) -> float | None:
    a, b = _offset_hours(tz_a, when), _offset_hours(tz_b, when)
    if a is None or b is None:
        return None
    start_a, end_a = WORKDAY[0] - a, WORKDAY[1] - a
    best = 0.0
    for shift in (-24, 0, 24):
        start_b, end_b = WORKDAY[0] - b + shift, WORKDAY[1] - b + shift
        best = max(best, min(end_a, end_b) - max(start_a, start_b))
    return round(best, 1)


def related_credit(similarity: float) -> float:
    span = (similarity - RELATED_FLOOR) / (RELATED_FULL - RELATED_FLOOR)
    return RELATED_MAX * min(1.0, max(0.0, span))


def bayesian_rating(rating: float | None, count: int, prior: float = DEFAULT_PRIOR_RATING) -> float:
    total = prior * PRIOR_REVIEWS + (rating or 0.0) * count
    return total / (PRIOR_REVIEWS + count)


@dataclass(slots=True)
class Scored:
    score: float
    components: dict[str, float]
    explanation: dict


def _need_fit(c: CandidateFacts, need: SkillNeedSpec) -> tuple[float, ClaimFacts | None, ClaimFacts | None]:
    """How far a candidate meets one required need, and the claim that earns it: the need's own
    claim (level fit), else the closest related claim (related credit times its level fit)."""
    claim = c.claims.get(need.skill_id)
    if claim is not None:
        return _level_fit(claim.rank, need.level_rank), claim, None
    near = c.related.get(need.skill_id)
    if near is None:
        return 0.0, None, None
    near_claim = c.claims[near[0]]
    return related_credit(near[1]) * _level_fit(near_claim.rank, need.level_rank), None, near_claim


def _own_components(spec: GigSpec, c: CandidateFacts, prior_rating: float) -> tuple[float, ...]:
    """The components of a candidate that depend on the gig and the candidate alone (every one
    but the semantic and lexical ones, which are normalised over all the ranking's candidates),
    with the timezone overlap and the rating with its prior that the explanation shows:
    ``(required, nice, rate_fit, availability, timezone, reputation, overlap, bayes)``."""
    claims, near_claims = c.claims, c.related
    required = spec.required_needs
    required_cov = sum(_need_fit(c, need)[0] for need in required) / len(required) if required else 1.0
    nice = spec.nice_needs
    nice_credit = 0.0
    for n in nice:
        if n.skill_id in claims:
            nice_credit += 1.0
        elif n.skill_id in near_claims:
            nice_credit += related_credit(near_claims[n.skill_id][1])
    nice_cov = nice_credit / len(nice) if nice else 1.0

    # Rate: inside the budget is a full fit; above it decays to 0 at the tolerance (which the
    # hard filter enforces); fixed-price gigs do not constrain the hourly rate.
    rate_fit = 1.0
    if spec.budget_type == "hourly" and spec.budget_max:
        over = c.hourly_rate / spec.budget_max - 1.0
        rate_fit = 1.0 if over <= 0 else max(0.0, 1.0 - over / 0.25)

    if spec.hours_per_week:
        availability = min(1.0, c.available_hours_per_week / spec.hours_per_week)
    else:
        availability = 1.0 if c.available_hours_per_week > 0 else 0.0

    overlap = timezone_overlap_hours(spec.timezone, c.timezone) if spec.timezone and c.timezone else None
    if spec.min_overlap_hours and overlap is not None:
        tz_fit = min(1.0, overlap / spec.min_overlap_hours)
    else:
        tz_fit = 1.0

    bayes = bayesian_rating(c.rating_avg, c.rating_count, prior_rating)
    reputation = min(1.0, max(0.0, (bayes - 1.0) / 4.0)) * 0.8 + 0.2 * min(1.0, math.log1p(c.completed_jobs) / 4)
    return required_cov, nice_cov, rate_fit, availability, tz_fit, reputation, overlap, bayes


def own_score(spec: GigSpec, c: CandidateFacts, prior_rating: float = DEFAULT_PRIOR_RATING) -> float:
    """The weighted sum of the components that do not depend on the other candidates (``blend``
    adds the semantic and lexical ones). A ranking computes it for each retriever's candidates as
    soon as that retriever's rows arrive, while the other statement still runs (service.py)."""
    required_cov, nice_cov, rate_fit, availability, tz_fit, reputation, _, _ = _own_components(spec, c, prior_rating)
    return _own_sum(required_cov, nice_cov, c.focus, rate_fit, availability, tz_fit, reputation)


def _own_sum(required_cov, nice_cov, focus, rate_fit, availability, tz_fit, reputation) -> float:
    return (
        _W_REQUIRED * required_cov
        + _W_NICE * nice_cov
        + _W_FOCUS * focus
        + _W_RATE * rate_fit
        + _W_AVAILABILITY * availability
        + _W_TIMEZONE * tz_fit
        + _W_REPUTATION * reputation
    )


def blend(semantic_norm: float, lexical_norm: float, own: float) -> float:
    """A candidate's score: its normalised semantic and lexical components and its ``own_score``,
    weighted (``WEIGHTS``), rounded to 6 decimals."""
    return round((_W_SEMANTIC * semantic_norm + _W_LEXICAL * lexical_norm + own) / _WEIGHT_TOTAL, 6)


def score_candidate(
    spec: GigSpec,
    c: CandidateFacts,
    *,
    lexical_norm: float,
    semantic_norm: float,
    prior_rating: float = DEFAULT_PRIOR_RATING,
) -> Scored:
    """The components, the blended score and a readable explanation of one candidate.

    A ranking scores all its candidates by ``own_score`` and ``blend`` (the same arithmetic) and
    explains only the ones it returns, here.
    """
    required_cov, nice_cov, rate_fit, availability, tz_fit, reputation, overlap, bayes = _own_components(
        spec, c, prior_rating
    )
    # The blend reads the components as computed; the explanation shows them rounded.
    own = _own_sum(required_cov, nice_cov, c.focus, rate_fit, availability, tz_fit, reputation)
    score = blend(semantic_norm, lexical_norm, own)
    components = {
        "semantic": round(semantic_norm, 4),
        "semantic_cosine": round(c.semantic, 4),
        "lexical": round(lexical_norm, 4),
        "required_skills": round(required_cov, 4),
        "nice_to_have": round(nice_cov, 4),
        "focus": round(c.focus, 4),
        "rate_fit": round(rate_fit, 4),
        "availability": round(availability, 4),
        "timezone": round(tz_fit, 4),
        "reputation": round(reputation, 4),
    }
    return Scored(
        score=score,
        components=components,
        explanation=_explanation(spec, c, rate_fit=rate_fit, overlap=overlap, bayes=bayes),
    )


def _explanation(spec: GigSpec, c: CandidateFacts, *, rate_fit: float, overlap: float | None, bayes: float) -> dict:
    """What ``score_candidate`` found, in words and lists, for a candidate that is returned."""
    matched, missing, related = [], [], []
    for need in spec.required_needs:
        fit, claim, near_claim = _need_fit(c, need)
        if claim is not None:
            matched.append(
                {
                    "skill": need.name,
                    "claimed_level": claim.level,
                    "years": claim.years,
                    "min_level": need.min_level or None,
                    "meets_level": fit >= 1.0,
                }
            )
            continue
        missing.append(need.name)
        if fit > 0:
            related.append(
                {
                    "skill": need.name,
                    "related_claim": near_claim.name,
                    "claimed_level": near_claim.level,
                    "similarity": round(c.related[need.skill_id][1], 3),
                }
            )
    nice_matched = [n.name for n in spec.nice_needs if n.skill_id in c.claims]
    return {
        "required_skills_matched": matched,
        "required_skills_missing": missing,
        "required_skills_related": related,
        "nice_to_have_matched": nice_matched,
        "rate": {
            "hourly_rate": c.hourly_rate,
            "budget_type": spec.budget_type,
            "budget_min": spec.budget_min,
            "budget_max": spec.budget_max,
            "within_budget": rate_fit >= 1.0,
        },
        "hours": {"available_per_week": c.available_hours_per_week, "needed_per_week": spec.hours_per_week},
        "timezone": {
            "freelancer": c.timezone,
            "gig": spec.timezone or None,
            "overlap_hours": overlap,
            "needed_overlap_hours": spec.min_overlap_hours,
        },
        "reputation": {
            "rating": c.rating_avg,
            "reviews": c.rating_count,
            "completed_jobs": c.completed_jobs,
            "rating_with_prior": round(bayes, 2),
        },
        "summary": _summary(spec, c, matched, missing, nice_matched, overlap),
    }


def _summary(spec: GigSpec, c: CandidateFacts, matched, missing, nice_matched, overlap) -> list[str]:
    lines = []
    required_total = len(matched) + len(missing)
    if required_total:
        names = ", ".join(f"{m['skill']} ({m['claimed_level']})" for m in matched) or "none"
        lines.append(f"Has {len(matched)} of {required_total} required skills: {names}.")
        if missing:
            lines.append(f"Missing: {', '.join(missing)}.")
        short = [m["skill"] for m in matched if not m["meets_level"]]
        if short:
            lines.append(f"Below the asked level in: {', '.join(short)}.")
    if nice_matched:
        lines.append(f"Nice-to-haves: {', '.join(nice_matched)}.")
    if spec.budget_type == "hourly" and spec.budget_max:
        relation = "within" if c.hourly_rate <= spec.budget_max else "above"
        lines.append(
            f"Rate ${c.hourly_rate:g}/h is {relation} the budget of ${spec.budget_min or 0:g}-{spec.budget_max:g}/h."
        )
    if spec.hours_per_week:
        lines.append(f"Available {c.available_hours_per_week} h/week; the gig needs {spec.hours_per_week}.")
    if overlap is not None:
        lines.append(f"{overlap:g} h/day of working-hours overlap with {spec.timezone}.")
    return lines
