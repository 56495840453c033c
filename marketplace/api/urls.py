"""Marketplace routes. ``freelancers/me/`` is an explicit path, and detail routes only match
digits, so ``freelancers/me/recommended-gigs/`` (added by the matching engine) is never swallowed."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from marketplace.api import views

router = SimpleRouter()
router.register("skills", views.SkillViewSet, basename="skill")
router.register("freelancers", views.FreelancerViewSet, basename="freelancer")
router.register("clients", views.ClientViewSet, basename="client")
router.register("gigs", views.GigViewSet, basename="gig")
router.register("proposals", views.ProposalViewSet, basename="proposal")
router.register("invitations", views.InvitationViewSet, basename="invitation")
router.register("engagements", views.EngagementViewSet, basename="engagement")
router.register("reviews", views.ReviewViewSet, basename="review")
router.register("reports", views.ReportViewSet, basename="report")

urlpatterns = [
    path("freelancers/me/", views.FreelancerMeView.as_view(), name="freelancer-me"),
    *router.urls,
]
