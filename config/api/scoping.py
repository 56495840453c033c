"""The one place where a viewset's queryset is scoped to the requesting user.

Every marketplace viewset inherits ``ScopedQuerysetMixin`` and implements ``visible_queryset(user)``
by calling a selector. ``get_queryset`` is final: list, retrieve, update and every custom action go
through it, so an object the user may not see is a 404 whatever the route, never a 403 that would
confirm it exists. What a user may *do* to a visible object is decided by the services (403/409).
"""

from django.db.models import QuerySet


class ScopedQuerysetMixin:
    #: the model, used for the empty queryset during schema generation
    scoped_model = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__ or "queryset" in cls.__dict__:
            raise TypeError(f"{cls.__name__}: scope the queryset in visible_queryset(user), not get_queryset/queryset")

    def visible_queryset(self, user) -> QuerySet:  # pragma: no cover - interface
        raise NotImplementedError(f"{type(self).__name__} must scope its queryset")

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return self.scoped_model.objects.none()
        return self.visible_queryset(self.request.user)
