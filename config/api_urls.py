"""The v1 API: each app contributes its routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("", include("marketplace.api.urls")),
    path("", include("matching.api.urls")),
]
