from django.urls import path

from .views import GigMatchesRefreshView, GigMatchesView, RecommendedGigsView, TalentSearchView

urlpatterns = [
    path("gigs/<int:gig_id>/matches/", GigMatchesView.as_view(), name="gig-matches"),
    path("gigs/<int:gig_id>/matches/refresh", GigMatchesRefreshView.as_view(), name="gig-matches-refresh"),
    path("talent-search/", TalentSearchView.as_view(), name="talent-search"),
    path("freelancers/me/recommended-gigs/", RecommendedGigsView.as_view(), name="recommended-gigs"),
]
