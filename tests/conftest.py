import pytest
from rest_framework.test import APIClient

from tests.factories import ClientFactory, FreelancerFactory, GigFactory, UserFactory


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def moderator(db):
    return UserFactory(role="moderator", is_staff=True, is_superuser=True)


@pytest.fixture
def client_org(db):
    return ClientFactory()


@pytest.fixture
def freelancer(db):
    return FreelancerFactory()


@pytest.fixture
def gig(db, client_org):
    return GigFactory(client=client_org)


@pytest.fixture(autouse=True)
def _reset_throttles():
    """Throttle counters live in Redis and outlive a test; start every test from zero."""
    from django.core.cache import cache

    cache.delete_pattern("throttle_*")
    yield


@pytest.fixture(autouse=True)
def _reset_ranking_caches():
    """Ranking keeps corpus statistics and the mean rating per process for a minute; every test
    starts from its own data."""
    from matching.ranking import reset_caches

    reset_caches()
    yield


def client_for(user) -> APIClient:
    """An API client authenticated the way real clients are: with a token from the service."""
    from accounts.services import token_create

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_create(user=user).key}")
    return api


@pytest.fixture
def as_user():
    return client_for


@pytest.fixture(scope="session", autouse=True)
def _close_ranking_pool(django_db_setup):
    """Transactional tests that rank outside a transaction open the ranking pool's connections
    (matching/ranking/parallel.py); they must be closed before the test database is dropped, so
    this tears down before ``django_db_setup``."""
    yield
    from matching.ranking import parallel

    parallel.shutdown()
