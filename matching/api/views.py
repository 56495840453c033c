"""Matching endpoints: a gig's matches (its client only), refresh, talent search, recommendations."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.rendering import fragments_response
from config.api.throttling import TalentSearchThrottle, UserThrottle
from marketplace.models import FreelancerProfile, Gig
from marketplace.selectors import client_member_ids, freelancer_profile_of
from marketplace.services import skill_match_many

from .. import selectors, services
from ..ranking import GigSpec, SkillNeedSpec, rank_freelancers, rank_gigs_for_freelancer
from .cache import rendered_run
from .serializers import (
    MatchResultSerializer,
    MatchRunSerializer,
    RankedFreelancerSerializer,
    RecommendedGigSerializer,
    TalentSearchInputSerializer,
)


class MatchPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class ClientGigMixin:
    """Scopes gigs to the requesting user's client organisation: any other gig is a 404."""

    def get_gig(self, request: Request, gig_id: int) -> Gig:
        return get_object_or_404(selectors.gigs_with_matches_visible_to(request.user), pk=gig_id)


class GigMatchesView(ClientGigMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Latest ranked matches of a gig, with explanations",
        responses=inline_serializer(
            "GigMatches",
            {
                "gig": serializers.IntegerField(),
                "pending": serializers.BooleanField(),
                "pending_run": MatchRunSerializer(allow_null=True),
                "run": MatchRunSerializer(allow_null=True),
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": MatchResultSerializer(many=True),
            },
        ),
    )
    def get(self, request: Request, gig_id: int) -> HttpResponse:
        runs = selectors.gig_runs_visible_to(request.user, gig_id)
        if runs is None:
            raise Http404
        run, waiting = runs.finished, runs.waiting
        # The finished run as rendered, usually from the cache; a stored run holds at most
        # MATCHING_RUN_SIZE results, so its pages are cut from the list.
        rendered = rendered_run(run) if run else None
        paginator = MatchPagination()
        page = paginator.paginate_queryset(rendered.results, request, view=self) if run else []
        return fragments_response(
            request,
            {
                "gig": runs.gig_id,
                "pending": waiting is not None,
                "pending_run": MatchRunSerializer(waiting).data if waiting else None,
                "run": rendered.run if run else None,
                "count": paginator.page.paginator.count if run else 0,
                "next": paginator.get_next_link() if run else None,
                "previous": paginator.get_previous_link() if run else None,
                "results": page,
            },
        )


class GigMatchesRefreshView(ClientGigMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Schedule a new match run for a gig", request=None, responses={202: MatchRunSerializer})
    def post(self, request: Request, gig_id: int) -> Response:
        gig = self.get_gig(request, gig_id)
        if gig.status == Gig.Status.CLOSED:
            return Response(
                {"detail": "This gig is closed; its matches are no longer refreshed.", "code": "gig_closed"},
                status=status.HTTP_409_CONFLICT,
            )
        run = services.match_run_schedule(gig=gig, trigger=f"refresh by user {request.user.id}")
        return Response(MatchRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class TalentSearchView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [UserThrottle, TalentSearchThrottle]

    @extend_schema(
        summary="Rank freelancers for an ad-hoc description (synchronous)",
        request=TalentSearchInputSerializer,
        responses=inline_serializer(
            "TalentSearchResult",
            {"strategy": serializers.CharField(), "results": RankedFreelancerSerializer(many=True)},
        ),
    )
    def post(self, request: Request) -> Response:
        user = request.user
        if getattr(user, "client_membership", None) is None and not user.is_moderator:
            raise PermissionDenied("Talent search is for client members.")
        data = TalentSearchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        # Read-only lookup: an ad-hoc search never adds skills to the taxonomy. A name the
        # taxonomy does not know gets a transient negative id: nobody claims it as such, but
        # claims close to it by name still earn related-skill credit.
        skills = skill_match_many([need["name"] for need in v["skills"]])
        needs = [
            SkillNeedSpec(
                skill_id=skill.id if skill else -(i + 1),
                name=skill.name if skill else need["name"],
                required=need["required"],
                min_level=need.get("min_level") or "",
            )
            for i, (need, skill) in enumerate(zip(v["skills"], skills, strict=True))
        ]
        membership = getattr(user, "client_membership", None)
        exclude = client_member_ids(membership.client_id) if membership else ()  # no need to read the client
        spec = GigSpec(
            title=v["title"],
            description=v["description"],
            needs=tuple(needs),
            budget_type=v.get("budget_type"),
            budget_min=float(v["budget_min"]) if v.get("budget_min") is not None else None,
            budget_max=float(v["budget_max"]) if v.get("budget_max") is not None else None,
            hours_per_week=v.get("hours_per_week"),
            timezone=v["timezone"],
            min_overlap_hours=v.get("min_overlap_hours"),
            languages=tuple(v["languages"]),
            exclude_user_ids=exclude,
        )
        ranked = rank_freelancers(spec, strategy=v["strategy"], limit=v["limit"])
        profiles = FreelancerProfile.objects.in_bulk([c.profile_id for c in ranked])
        results = [
            {
                "rank": c.rank,
                "score": c.score,
                "freelancer": profiles[c.profile_id],
                "components": c.components,
                "explanation": c.explanation,
            }
            for c in ranked
        ]
        return Response({"strategy": v["strategy"], "results": RankedFreelancerSerializer(results, many=True).data})


class RecommendedGigsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Published gigs ranked for the requesting freelancer",
        responses=inline_serializer(
            "RecommendedGigPage",
            {
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": RecommendedGigSerializer(many=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        profile = freelancer_profile_of(request.user)
        if profile is None:
            raise NotFound("You have no freelancer profile.")
        ranked = rank_gigs_for_freelancer(profile, limit=100)
        gigs = Gig.objects.in_bulk([r.gig_id for r in ranked])
        rows = [
            {
                "rank": r.rank,
                "score": r.score,
                "gig": gigs[r.gig_id],
                "components": r.components,
                "explanation": r.explanation,
            }
            for r in ranked
        ]
        paginator = MatchPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(RecommendedGigSerializer(page, many=True).data)
