from django.contrib.auth.backends import ModelBackend


class ActiveUserBackend(ModelBackend):
    """Email/password login (and session lookup) refused to inactive and suspended users.

    ``user_can_authenticate`` is consulted both at login and by ``get_user`` on every session
    request, so suspending a user ends their admin and browsable-API sessions too.
    """

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not getattr(user, "is_suspended", False)
