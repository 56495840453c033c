"""Deterministic text documents of profiles and gigs, and their content hashes.

The same profile or gig always gives the same text (skills sorted, whitespace normalised), so the
hash over document + model decides whether a vector is still current.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from marketplace.models import FreelancerProfile, FreelancerSkill

from .models import EmbeddingView

_SPACES = re.compile(r"\s+")


def _clean(text: str) -> str:
    return _SPACES.sub(" ", (text or "").strip())


@dataclass(frozen=True)
class ClaimText:
    name: str
    level: str


@dataclass(frozen=True)
class NeedText:
    name: str
    required: bool
    min_level: str


@dataclass(frozen=True)
class Document:
    """The views of one profile or gig that are embedded, and the text that is searched."""

    views: dict[str, str]
    # Weighted parts for the full-text vector: A = headline/title, B = skills, C = free text.
    headline: str
    skills: str
    body: str

    @property
    def content_hash(self) -> str:
        canonical = "\n".join(f"{k}={v}" for k, v in sorted(self.views.items()))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def hash_for(self, view: str, model_key: str) -> str:
        return hashlib.sha256(f"{model_key}\n{self.views[view]}".encode()).hexdigest()


def freelancer_document_from_parts(*, headline: str, bio: str, claims: list[ClaimText]) -> Document:
    claims = sorted(claims, key=lambda c: c.name.lower())
    skills = ", ".join(f"{c.name} ({c.level})" for c in claims)
    headline, bio = _clean(headline), _clean(bio)
    full = f"{headline}. {bio} Skills: {skills}." if skills else f"{headline}. {bio}"
    skills_view = f"{headline}. Skills: {', '.join(c.name for c in claims)}."
    return Document(
        views={EmbeddingView.FULL: _clean(full), EmbeddingView.SKILLS: _clean(skills_view)},
        headline=headline,
        skills=", ".join(c.name for c in claims),
        body=bio,
    )


def freelancer_document(profile: FreelancerProfile) -> Document:
    """The document of a profile. Prefetch ``skill_claims__skill`` when building many."""
    claims = [ClaimText(name=c.skill.name, level=c.level) for c in profile.skill_claims.all()]
    return freelancer_document_from_parts(headline=profile.headline, bio=profile.bio, claims=claims)


def freelancer_documents(profiles: list[FreelancerProfile]) -> dict[int, Document]:
    """The documents of many profiles, their skill claims read in one query.

    The same documents as ``freelancer_document`` with ``skill_claims__skill`` prefetched (same
    claim order), without the prefetch's cloned queryset and model instances per profile.
    """
    claims: dict[int, list[ClaimText]] = {p.id: [] for p in profiles}
    rows = FreelancerSkill.objects.filter(profile_id__in=list(claims)).order_by("profile_id", "skill__name")
    for profile_id, name, level in rows.values_list("profile_id", "skill__name", "level"):
        claims[profile_id].append(ClaimText(name=name, level=level))
    return {p.id: freelancer_document_from_parts(headline=p.headline, bio=p.bio, claims=claims[p.id]) for p in profiles}


def gig_document_from_parts(*, title: str, description: str, needs: list[NeedText]) -> Document:
    needs = sorted(needs, key=lambda n: (not n.required, n.name.lower()))
    required = ", ".join(n.name + (f" ({n.min_level})" if n.min_level else "") for n in needs if n.required)
    nice = ", ".join(n.name for n in needs if not n.required)
    title, description = _clean(title), _clean(description)
    full = f"{title}. {description}"
    if required:
        full += f" Required skills: {required}."
    if nice:
        full += f" Nice to have: {nice}."
    skills_view = f"{title}. Skills: {', '.join(n.name for n in needs)}."
    return Document(
        views={EmbeddingView.FULL: _clean(full), EmbeddingView.SKILLS: _clean(skills_view)},
        headline=title,
        skills=", ".join(n.name for n in needs),
        body=description,
    )
