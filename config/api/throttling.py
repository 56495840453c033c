"""Throttles keyed by user or by client IP, stored in the Redis cache.

The client IP never comes from ``X-Forwarded-For`` unless ``NUM_PROXIES`` (env ``NUM_PROXIES``)
says how many trusted proxies append to it; by default it is ``REMOTE_ADDR``, which a client
cannot forge, so nobody can dodge a limit by sending a made-up header.
"""

import logging
import os

from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection
from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

log = logging.getLogger("matchwork.throttling")

# A sliding window of request times per key, as a sorted set, checked and updated in one atomic
# step on the Redis server. DRF's own throttle reads the key's history, then writes it back: two
# round trips, and concurrent requests that read the same history all pass (a burst of N parallel
# talent searches got through a limit of 5). Returns nil when the request is allowed, else the
# time of the oldest request in the window (the caller's Retry-After).
_SLIDING_WINDOW = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return oldest[2] or ARGV[1]
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, math.ceil(window * 1000))
return false
"""


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
    cache_format = "throttle_w_%(scope)s_%(ident)s"  # a sorted set: not DRF's pickled list
    _oldest: float | None = None

    def get_rate(self):
        # Read at request time (not import time) so settings overrides apply.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        member = f"{self.now!r}-{os.urandom(6).hex()}"  # two requests in the same instant count twice
        try:
            redis = get_redis_connection("default")
        except NotImplementedError:  # a cache that is not Redis (CACHES overridden): DRF's way
            return super().allow_request(request, view)
        try:
            oldest = redis.eval(
                _SLIDING_WINDOW, 1, cache.make_key(self.key), self.now, self.duration, self.num_requests, member
            )
        except RedisError:
            # As the cache's other reads (IGNORE_EXCEPTIONS): a throttle never takes the API down.
            log.warning("throttle store unreachable: request allowed", extra={"scope": self.scope})
            return True
        if oldest is None:
            return True
        self._oldest = float(oldest)
        return False

    def wait(self) -> float | None:
        if self._oldest is None:
            return super().wait() if hasattr(self, "history") else None  # DRF's way: a cache that is not Redis
        # The oldest request can be stamped after this one's ``now`` (another worker's clock, or a
        # request that computed its time later but reached Redis first): never past the window.
        return min(float(self.duration), max(0.0, self._oldest + self.duration - self.now))

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
