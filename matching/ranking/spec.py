"""What is being matched: a gig, or an ad-hoc description with the same fields (talent search)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from marketplace.models import Gig, skill_level_rank

from ..documents import Document, NeedText, gig_document_from_parts


@dataclass(frozen=True)
class SkillNeedSpec:
    skill_id: int | None
    name: str
    required: bool = True
    min_level: str = ""

    @cached_property
    def level_rank(self) -> int:
        """The rank of ``min_level``; 0 when no level is asked."""
        return skill_level_rank(self.min_level)


@dataclass(frozen=True)
class GigSpec:
    """Everything the ranking service needs to know about the work to be done."""

    title: str
    description: str
    needs: tuple[SkillNeedSpec, ...] = ()
    budget_type: str | None = None  # "hourly" | "fixed" | None (no budget filter)
    budget_min: float | None = None
    budget_max: float | None = None
    hours_per_week: int | None = None
    timezone: str = ""
    min_overlap_hours: int | None = None
    languages: tuple[str, ...] = ()
    gig_id: int | None = None
    # Members of the posting client never appear as candidates for their own gig.
    exclude_user_ids: tuple[int, ...] = field(default=())

    def document(self) -> Document:
        return self._document

    @cached_property
    def _document(self) -> Document:
        # Built once per spec: ranking reads it for the query vectors and for the BM25 text.
        return gig_document_from_parts(
            title=self.title,
            description=self.description,
            needs=[NeedText(name=n.name, required=n.required, min_level=n.min_level) for n in self.needs],
        )

    @cached_property
    def required_needs(self) -> tuple[SkillNeedSpec, ...]:
        """The required needs that name a taxonomy skill (the ones scoring can check)."""
        return tuple(n for n in self.needs if n.required and n.skill_id is not None)

    @cached_property
    def nice_needs(self) -> tuple[SkillNeedSpec, ...]:
        """The nice-to-have needs that name a taxonomy skill."""
        return tuple(n for n in self.needs if not n.required and n.skill_id is not None)

    @property
    def query_text(self) -> str:
        doc = self.document()
        return f"{doc.headline} {doc.skills} {doc.body}"


def gigs_for_specs(gig_ids):
    """Gigs with what ``spec_from_gig`` reads prefetched: a fixed number of queries for any number."""
    from django.db.models import Prefetch

    from marketplace.models import GigSkill

    return (
        Gig.objects.filter(id__in=list(gig_ids))
        .select_related("client")
        .prefetch_related(
            Prefetch("skill_needs", queryset=GigSkill.objects.select_related("skill").order_by(*NEED_ORDER)),
            "client__memberships",
        )
    )


NEED_ORDER = ("-required", "skill__name")


def spec_from_gig(gig: Gig) -> GigSpec:
    if "skill_needs" in getattr(gig, "_prefetched_objects_cache", {}):
        rows = gig.skill_needs.all()  # gigs_for_specs: already in NEED_ORDER
    else:
        rows = gig.skill_needs.select_related("skill").order_by(*NEED_ORDER)
    needs = tuple(
        SkillNeedSpec(skill_id=n.skill_id, name=n.skill.name, required=n.required, min_level=n.min_level or "")
        for n in rows
    )
    if "memberships" in getattr(gig.client, "_prefetched_objects_cache", {}):
        members = tuple(m.user_id for m in gig.client.memberships.all())
    else:
        members = tuple(gig.client.memberships.values_list("user_id", flat=True))
    return GigSpec(
        title=gig.title,
        description=gig.description,
        needs=needs,
        budget_type=gig.budget_type,
        budget_min=float(gig.budget_min) if gig.budget_min is not None else None,
        budget_max=float(gig.budget_max) if gig.budget_max is not None else None,
        hours_per_week=gig.hours_per_week,
        timezone=gig.timezone or "",
        min_overlap_hours=gig.min_overlap_hours,
        languages=tuple(gig.languages or ()),
        gig_id=gig.id,
        exclude_user_ids=members,
    )
