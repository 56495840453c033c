"""Marketplace API views: parse input, call a selector or a service, render. Nothing else.

Every viewset scopes its queryset through ``ScopedQuerysetMixin`` (config.api.scoping) with a
selector; rules about who may do what live in marketplace.services.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from config.api.concurrency import etag_for, expected_version
from config.api.scoping import ScopedQuerysetMixin
from config.errors import NotAllowed
from marketplace import selectors, services
from marketplace.api import filters
from marketplace.api import serializers as s
from marketplace.models import Client, Engagement, FreelancerProfile, Gig, Invitation, Proposal, Report, Review, Skill
from marketplace.services import SkillClaim, SkillNeed

IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description='ETag of the version you edited, e.g. "3". A stale one is a 412.',
)


def _validated(serializer_class, request, *, partial: bool = False) -> dict:
    data = serializer_class(data=request.data, partial=partial)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


class MarketplaceViewSet(ScopedQuerysetMixin, viewsets.GenericViewSet):
    """Base: scoped queryset, output rendering; subclasses define ``visible_queryset``."""

    output_serializer = None
    # Only digits reach a detail route, so e.g. freelancers/me/... never hits {pk}.
    lookup_value_regex = r"[0-9]{1,18}"

    def get_serializer_class(self):
        return self.output_serializer

    def render(self, obj, *, status_code: int = status.HTTP_200_OK, serializer=None) -> Response:
        serializer = serializer or self.output_serializer
        return Response(serializer(obj, context=self.get_serializer_context()).data, status=status_code)

    def reload(self, obj):
        """Re-read through the scoped queryset, with its select/prefetch, after a write."""
        return self.get_queryset().get(pk=obj.pk)

    def find_visible(self, queryset, pk: int, field: str):
        # The object goes to a service, not to a serializer: its list prefetches are not needed.
        obj = queryset.prefetch_related(None).filter(pk=pk).first()
        if obj is None:
            raise ValidationError({field: ["Not found."]})
        return obj


# --------------------------------------------------------------------------- skills


class SkillViewSet(MarketplaceViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """The skill taxonomy. Public."""

    scoped_model = Skill
    output_serializer = s.SkillOutput
    filterset_class = filters.SkillFilter
    permission_classes = [AllowAny]

    def visible_queryset(self, user):
        return selectors.skills_visible()


# --------------------------------------------------------------------------- freelancers


class FreelancerViewSet(MarketplaceViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """The public freelancer directory: visible, approved profiles of active users."""

    scoped_model = FreelancerProfile
    output_serializer = s.FreelancerOutput
    filterset_class = filters.FreelancerFilter
    permission_classes = [AllowAny]

    def visible_queryset(self, user):
        return selectors.freelancers_public().order_by("-rating_avg", "id")


def _skill_claims(items) -> list[SkillClaim] | None:
    return None if items is None else [SkillClaim(**item) for item in items]


def _skill_needs(items) -> list[SkillNeed] | None:
    return None if items is None else [SkillNeed(**item) for item in items]


class FreelancerMeView(ScopedQuerysetMixin, GenericAPIView):
    """The signed-in freelancer's own profile: create, read, edit, hide (visibility=hidden)."""

    scoped_model = FreelancerProfile
    serializer_class = s.FreelancerOwnOutput
    permission_classes = [IsAuthenticated]
    pagination_class = None
    filter_backends: list = []

    def visible_queryset(self, user):
        return selectors.freelancer_own_profile(user)

    def _own(self, request) -> FreelancerProfile:
        profile = self.get_queryset().first()
        if profile is None:
            raise Http404
        return profile

    def _render(self, profile: FreelancerProfile, status_code: int = 200) -> Response:
        response = Response(s.FreelancerOwnOutput(profile).data, status=status_code)
        response["ETag"] = etag_for(profile.version)
        return response

    @extend_schema(responses=s.FreelancerOwnOutput, operation_id="freelancers_me_retrieve")
    def get(self, request):
        return self._render(self._own(request))

    @extend_schema(
        request=s.FreelancerProfileInput, responses={201: s.FreelancerOwnOutput}, operation_id="freelancers_me_create"
    )
    def post(self, request):
        data = _validated(s.FreelancerProfileInput, request)
        skills = _skill_claims(data.pop("skills", None)) or []
        profile = services.freelancer_profile_create(user=request.user, skills=skills, **data)
        return self._render(self._reload(request, profile), status.HTTP_201_CREATED)

    @extend_schema(
        request=s.FreelancerProfileUpdateInput,
        responses=s.FreelancerOwnOutput,
        parameters=[IF_MATCH],
        operation_id="freelancers_me_partial_update",
    )
    def patch(self, request):
        profile = self._own(request)
        data = _validated(s.FreelancerProfileUpdateInput, request, partial=True)
        version = expected_version(request, data.pop("version", None))
        skills = _skill_claims(data.pop("skills", None))
        profile = services.freelancer_profile_update(
            profile=profile, by=request.user, expected_version=version, skills=skills, **data
        )
        return self._render(self._reload(request, profile))

    def _reload(self, request, profile):
        return self.get_queryset().get(pk=profile.pk)


# --------------------------------------------------------------------------- clients


class ClientViewSet(MarketplaceViewSet, mixins.RetrieveModelMixin):
    """A client organisation, visible to its members only (anyone else gets a 404)."""

    scoped_model = Client
    output_serializer = s.ClientOutput
    permission_classes = [IsAuthenticated]
    filter_backends: list = []

    def visible_queryset(self, user):
        return selectors.clients_visible_to(user)

    def get_serializer_context(self):
        membership = selectors.membership_of(self.request.user)
        return {**super().get_serializer_context(), "is_owner": bool(membership and membership.is_owner)}

    def _mine(self) -> Client:
        client = self.get_queryset().first()
        if client is None:
            raise Http404
        return client

    @extend_schema(request=s.ClientUpdateInput, responses=s.ClientOutput)
    def partial_update(self, request, pk=None):
        client = self.get_object()
        data = _validated(s.ClientUpdateInput, request, partial=True)
        return self.render(services.client_update(client=client, by=request.user, **data))

    @extend_schema(responses=s.ClientOutput, operation_id="clients_me_retrieve")
    @action(detail=False, methods=["get"], url_path="me")
    def me(self, request):
        return self.render(self._mine())

    @extend_schema(request=s.ClientUpdateInput, responses=s.ClientOutput, operation_id="clients_me_partial_update")
    @me.mapping.patch
    def me_update(self, request):
        data = _validated(s.ClientUpdateInput, request, partial=True)
        return self.render(services.client_update(client=self._mine(), by=request.user, **data))

    @extend_schema(request=None, responses=s.ClientOutput, operation_id="clients_me_invite_code_rotate")
    @action(detail=False, methods=["post"], url_path="me/invite-code")
    def rotate_invite_code(self, request):
        """Issue a new invite code for your client (owners only); the old one stops working."""
        return self.render(services.client_invite_code_rotate(client=self._mine(), by=request.user))


# --------------------------------------------------------------------------- gigs


@extend_schema_view(
    list=extend_schema(description="Published, approved gigs; members also see their own client's drafts."),
)
class GigViewSet(MarketplaceViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    scoped_model = Gig
    output_serializer = s.GigOutput
    filterset_class = filters.GigFilter
    permission_classes = [IsAuthenticatedOrReadOnly]

    def visible_queryset(self, user):
        return selectors.gigs_visible_to(user)

    def retrieve(self, request, *args, **kwargs):
        gig = self.get_object()
        response = self.render(gig)
        response["ETag"] = etag_for(gig.version)
        return response

    def _render_gig(self, gig: Gig, status_code: int = 200) -> Response:
        gig = self.reload(gig)
        response = self.render(gig, status_code=status_code)
        response["ETag"] = etag_for(gig.version)
        return response

    @extend_schema(request=s.GigInput, responses={201: s.GigOutput})
    def create(self, request):
        data = _validated(s.GigInput, request)
        client = selectors.client_of(request.user)
        if client is None:
            raise NotAllowed("Only client members can post gigs.")
        skills = _skill_needs(data.pop("skills", None)) or []
        gig = services.gig_create(client=client, created_by=request.user, skills=skills, **data)
        return self._render_gig(gig, status.HTTP_201_CREATED)

    @extend_schema(request=s.GigUpdateInput, responses=s.GigOutput, parameters=[IF_MATCH])
    def partial_update(self, request, pk=None):
        gig = self.get_object()
        data = _validated(s.GigUpdateInput, request, partial=True)
        version = expected_version(request, data.pop("version", None))
        skills = _skill_needs(data.pop("skills", None))
        gig = services.gig_update(gig=gig, by=request.user, expected_version=version, skills=skills, **data)
        return self._render_gig(gig)

    @extend_schema(request=None, responses=s.GigOutput)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        return self._render_gig(services.gig_publish(gig=self.get_object(), by=request.user))

    @extend_schema(request=None, responses=s.GigOutput)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._render_gig(services.gig_close(gig=self.get_object(), by=request.user))


# --------------------------------------------------------------------------- proposals


class ProposalViewSet(MarketplaceViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """A freelancer's own proposals, and the proposals to your client's gigs."""

    scoped_model = Proposal
    output_serializer = s.ProposalOutput
    filterset_class = filters.ProposalFilter
    permission_classes = [IsAuthenticated]

    def visible_queryset(self, user):
        return selectors.proposals_visible_to(user)

    @extend_schema(request=s.ProposalInput, responses={201: s.ProposalOutput})
    def create(self, request):
        data = _validated(s.ProposalInput, request)
        gig = self.find_visible(selectors.gigs_visible_to(request.user), data.pop("gig"), "gig")
        proposal = services.proposal_create(gig=gig, by=request.user, **data)
        return self.render(self.reload(proposal), status_code=status.HTTP_201_CREATED)

    def _transition(self, service) -> Response:
        return self.render(self.reload(service(proposal=self.get_object(), by=self.request.user)))

    @extend_schema(request=None, responses=s.ProposalOutput)
    @action(detail=True, methods=["post"])
    def shortlist(self, request, pk=None):
        return self._transition(services.proposal_shortlist)

    @extend_schema(request=None, responses=s.ProposalOutput)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        return self._transition(services.proposal_decline)

    @extend_schema(request=None, responses=s.ProposalOutput)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return self._transition(services.proposal_withdraw)

    @extend_schema(request=None, responses={201: s.EngagementOutput})
    @action(detail=True, methods=["post"])
    def hire(self, request, pk=None):
        """Hire the freelancer: the proposal becomes hired and an engagement starts."""
        engagement = services.proposal_hire(proposal=self.get_object(), by=request.user)
        engagement = selectors.engagements_visible_to(request.user).get(pk=engagement.pk)
        return self.render(engagement, status_code=status.HTTP_201_CREATED, serializer=s.EngagementOutput)


# --------------------------------------------------------------------------- invitations


class InvitationViewSet(MarketplaceViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Invitations you sent (client members) or received (freelancers)."""

    scoped_model = Invitation
    output_serializer = s.InvitationOutput
    filterset_class = filters.InvitationFilter
    permission_classes = [IsAuthenticated]

    def visible_queryset(self, user):
        return selectors.invitations_visible_to(user)

    @extend_schema(request=s.InvitationInput, responses={201: s.InvitationOutput})
    def create(self, request):
        data = _validated(s.InvitationInput, request)
        gig = self.find_visible(selectors.gigs_visible_to(request.user), data.pop("gig"), "gig")
        freelancer = self.find_visible(selectors.freelancers_public(), data.pop("freelancer"), "freelancer")
        invitation = services.invitation_create(
            gig=gig, freelancer=freelancer, by=request.user, message=data["message"], match_run_id=data["match_run"]
        )
        return self.render(self.reload(invitation), status_code=status.HTTP_201_CREATED)

    @extend_schema(request=s.InvitationAcceptInput, responses={201: s.ProposalOutput})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Accept: this applies to the gig (a pending proposal is created and returned)."""
        invitation = self.get_object()
        data = _validated(s.InvitationAcceptInput, request)
        proposal = services.invitation_accept(invitation=invitation, by=request.user, **data)
        proposal = selectors.proposals_visible_to(request.user).get(pk=proposal.pk)
        return self.render(proposal, status_code=status.HTTP_201_CREATED, serializer=s.ProposalOutput)

    @extend_schema(request=None, responses=s.InvitationOutput)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        invitation = services.invitation_decline(invitation=self.get_object(), by=request.user)
        return self.render(self.reload(invitation))


# --------------------------------------------------------------------------- engagements, reviews, reports


class EngagementViewSet(MarketplaceViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Your engagements, as the freelancer or as the client."""

    scoped_model = Engagement
    output_serializer = s.EngagementOutput
    permission_classes = [IsAuthenticated]
    filter_backends: list = []

    def visible_queryset(self, user):
        return selectors.engagements_visible_to(user)

    @extend_schema(request=None, responses=s.EngagementOutput)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        engagement = services.engagement_complete(engagement=self.get_object(), by=request.user)
        return self.render(self.reload(engagement))


class ReviewViewSet(MarketplaceViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Reviews after completed engagements. Approved reviews are public."""

    scoped_model = Review
    output_serializer = s.ReviewOutput
    filterset_class = filters.ReviewFilter
    permission_classes = [IsAuthenticatedOrReadOnly]

    def visible_queryset(self, user):
        return selectors.reviews_visible_to(user)

    @extend_schema(request=s.ReviewInput, responses={201: s.ReviewOutput})
    def create(self, request):
        data = _validated(s.ReviewInput, request)
        engagement = self.find_visible(
            selectors.engagements_visible_to(request.user), data.pop("engagement"), "engagement"
        )
        review = services.review_create(engagement=engagement, by=request.user, **data)
        return self.render(self.reload(review), status_code=status.HTTP_201_CREATED)


class ReportViewSet(MarketplaceViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Report a gig, a freelancer profile or a review to the moderators. You see your own reports."""

    scoped_model = Report
    output_serializer = s.ReportOutput
    permission_classes = [IsAuthenticated]
    filter_backends: list = []

    def visible_queryset(self, user):
        return selectors.reports_visible_to(user)

    @extend_schema(request=s.ReportInput, responses={201: s.ReportOutput})
    def create(self, request):
        data = _validated(s.ReportInput, request)
        target = selectors.report_target_find(
            user=request.user, target_type=data["target_type"], target_id=data["target_id"]
        )
        if target is None:
            raise ValidationError({"target_id": ["Not found."]})
        report = services.report_create(
            reporter=request.user, target=target, reason=data["reason"], details=data["details"]
        )
        return self.render(self.reload(report), status_code=status.HTTP_201_CREATED)
