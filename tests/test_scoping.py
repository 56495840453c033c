"""Every marketplace view gets its queryset from the one scoping mixin, and cannot bypass it."""

import pytest
from rest_framework import viewsets

from config.api.scoping import ScopedQuerysetMixin
from marketplace.api import urls


def test_every_marketplace_view_is_scoped():
    views = [viewset for _prefix, viewset, _basename in urls.router.registry]
    views += [p.callback.view_class for p in urls.urlpatterns if hasattr(p.callback, "view_class")]
    assert len(views) >= 10
    for view in views:
        assert issubclass(view, ScopedQuerysetMixin), view


def test_a_view_cannot_override_the_scoped_queryset():
    with pytest.raises(TypeError, match="visible_queryset"):

        class Leaky(ScopedQuerysetMixin, viewsets.GenericViewSet):
            def get_queryset(self):
                return []

    with pytest.raises(TypeError):

        class AlsoLeaky(ScopedQuerysetMixin, viewsets.GenericViewSet):
            queryset = []
