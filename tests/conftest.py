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
