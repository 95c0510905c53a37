from typing import Any

import factory
from django.utils.text import slugify

from accounts.models import Role, User
from incidents import services
from incidents.models import Incident, Service, Severity, Team


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.RESPONDER
    password = factory.django.Password("correct-horse-battery")


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.LazyAttribute(lambda t: slugify(t.name))


class ServiceFactory(factory.django.DjangoModelFactory[Service]):
    class Meta:
        model = Service
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"service-{n}")
    slug = factory.LazyAttribute(lambda s: slugify(s.name))
    team = factory.SubFactory(TeamFactory)


def severity(name: str = "SEV2") -> Severity:
    """The seeded severities (SEV1..SEV4) come from the data migration."""
    return Severity.objects.get(name=name)


def declare(actor: User | None = None, **kwargs: Any) -> Incident:
    """Declare an incident through the service, as every caller must."""
    kwargs.setdefault("title", "Checkout is failing")
    kwargs.setdefault("severity", severity(kwargs.pop("severity_name", "SEV2")))
    if actor is None:
        actor = UserFactory(username="declarer", role=Role.RESPONDER)
    return services.incident_declare(actor=actor, **kwargs)
