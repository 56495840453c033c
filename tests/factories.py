"""factory_boy factories. They write through the ORM for speed of set-up; behaviour under test
goes through services and the API."""

from decimal import Decimal

import factory

from accounts.models import User
from marketplace import models


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    role = User.Role.FREELANCER
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery-staple")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Client
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Acme {n} Ltd")
    country = "GB"

    @factory.post_generation
    def owner(obj, create, extracted, **kwargs):
        if create:
            user = extracted or UserFactory(role=User.Role.CLIENT)
            models.ClientMembership.objects.create(client=obj, user=user, is_owner=True)


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Skill
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Test skill {n}")
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-"))
    category = models.Skill.Category.AI_LIFECYCLE


class FreelancerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.FreelancerProfile

    user = factory.SubFactory(UserFactory, role=User.Role.FREELANCER)
    display_name = factory.Faker("name")
    headline = "Data annotation specialist"
    bio = "I label images and text carefully."
    hourly_rate = Decimal("40.00")
    available_hours_per_week = 30
    timezone = "Europe/Berlin"
    languages = factory.LazyFunction(lambda: ["en"])


class GigFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Gig

    client = factory.SubFactory(ClientFactory)
    created_by = factory.LazyAttribute(lambda o: o.client.memberships.first().user)
    title = "Label 10k product images"
    description = "Bounding boxes around products in shelf photos."
    budget_type = models.Gig.BudgetType.HOURLY
    budget_min = Decimal("20")
    budget_max = Decimal("40")
    hours_per_week = 20
    languages = factory.LazyFunction(lambda: ["en"])
    status = models.Gig.Status.PUBLISHED
