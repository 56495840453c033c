import pytest
from django.core.management import call_command

from marketplace.models import Client, FreelancerProfile, Gig

pytestmark = pytest.mark.django_db


def test_seed_demo_goes_through_the_services_and_runs_twice():
    call_command("seed_demo", freelancers=3)
    counts = (Client.objects.count(), FreelancerProfile.objects.count(), Gig.objects.filter(status="published").count())
    assert counts == (4, 3, 10)
    assert all(Client.objects.values_list("invite_code", flat=True))
    call_command("seed_demo", freelancers=3)
    assert (Client.objects.count(), FreelancerProfile.objects.count(), Gig.objects.count()) == (4, 3, 10)
