"""Throttles keyed by user or by client IP, stored in the Redis cache.

The client IP never comes from ``X-Forwarded-For`` unless ``NUM_PROXIES`` (env ``NUM_PROXIES``)
says how many trusted proxies append to it; by default it is ``REMOTE_ADDR``, which a client
cannot forge, so nobody can dodge a limit by sending a made-up header.
"""

from django.conf import settings
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


def client_ip(request) -> str:
    remote_addr = request.META.get("REMOTE_ADDR", "") or "unknown"
    num_proxies = getattr(settings, "NUM_PROXIES", 0) or 0
    xff = request.META.get("HTTP_X_FORWARDED_FOR")
    if num_proxies <= 0 or not xff:
        return remote_addr
    hops = [h.strip() for h in xff.split(",") if h.strip()]
    if not hops:
        return remote_addr
    # Each trusted proxy appends the address it received from; the client is num_proxies from the end.
    return hops[-min(num_proxies, len(hops))]


class _RateThrottle(SimpleRateThrottle):
    def get_rate(self):
        # Read at request time (not import time) so settings overrides apply.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request) -> str:
        return client_ip(request)


class AnonThrottle(_RateThrottle):
    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UserThrottle(_RateThrottle):
    scope = "user"

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class _IpScopeThrottle(_RateThrottle):
    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class RegisterThrottle(_IpScopeThrottle):
    """Registration attempts per client IP."""

    scope = "register"


class TokenThrottle(_IpScopeThrottle):
    """Login (token obtain) attempts per client IP: slows password guessing."""

    scope = "token"


class PasswordChangeThrottle(_RateThrottle):
    scope = "password"

    def get_cache_key(self, request, view):
        ident = request.user.pk if request.user and request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class TalentSearchThrottle(_RateThrottle):
    """Synchronous talent searches per user: each one encodes text and ranks the whole directory,
    so a flood of them is bounded well below the general per-user rate."""

    scope = "talent_search"

    def get_cache_key(self, request, view):
        ident = request.user.pk if request.user and request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
