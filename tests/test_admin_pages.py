"""Every admin changelist, add page and change page loads for a staff user on the real database."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import FreelancerFactory, GigFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, moderator):
    client.force_login(moderator)
    return client


def test_every_registered_model_admin_loads(staff_client):
    FreelancerFactory()
    GigFactory()
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        response = staff_client.get(url)
        assert response.status_code == 200, url
        if model_admin.has_add_permission(response.wsgi_request):
            add = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
            assert staff_client.get(add).status_code == 200, add
        obj = model_admin.get_queryset(response.wsgi_request).first()
        if obj is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            assert staff_client.get(change).status_code == 200, change


def test_search_and_filters_work(staff_client):
    FreelancerFactory(display_name="Zelda Searchable")
    url = reverse("admin:marketplace_freelancerprofile_changelist")
    response = staff_client.get(url, {"q": "Zelda", "visibility__exact": "public"})
    assert response.status_code == 200
    assert b"Zelda Searchable" in response.content


def test_admin_requires_staff(client, freelancer):
    client.force_login(freelancer.user)
    response = client.get(reverse("admin:marketplace_gig_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
