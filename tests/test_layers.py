"""The layering rule (pyproject.toml's [tool.importlinter] `layers` contract) where import-linter
cannot look: a model's foreign key and a migration's dependency name an app by its label, a
template's `{% url %}` names it by its URL namespace, and a reverse accessor (`policy.integrations`)
reaches a higher app's rows through a lower app's model. `make lint` runs import-linter itself;
these make sure no new app escapes it."""

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models
from django.db.migrations.loader import MigrationLoader
from django.db.models.fields.related import RelatedField
from django.urls import URLResolver, get_resolver

CONTRACTS = tomllib.loads((settings.BASE_DIR / "pyproject.toml").read_text())["tool"][
    "importlinter"
]


@dataclass(frozen=True)
class Layer:
    rank: int  # 0 is the top
    independent: bool  # siblings split by "|" may not import each other; by ":" they may


def layers() -> dict[str, Layer]:
    contract = next(c for c in CONTRACTS["contracts"] if c["id"] == "layers")
    found = {}
    for rank, line in enumerate(contract["layers"]):
        independent = "|" in line
        for name in line.replace(":", "|").split("|"):
            found[name.strip().strip("()")] = Layer(rank, independent)
    return found


LAYERS = layers()


def package(app_label: str) -> str | None:
    """The first-party package an app label belongs to; None for Django's and libraries'."""
    name = apps.get_app_config(app_label).name.split(".")[0]
    return name if (settings.BASE_DIR / name / "__init__.py").exists() else None


FIRST_PARTY = sorted(
    {name for app in apps.get_app_configs() if (name := package(app.label)) is not None}
)


def may_depend(importer: str, imported: str) -> bool:
    if importer == imported:
        return True
    high, low = LAYERS[importer], LAYERS[imported]
    return low.rank > high.rank or (low.rank == high.rank and not high.independent)


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_every_first_party_app_is_a_root_package_and_a_layer(name):
    assert name in CONTRACTS["root_packages"], f"add {name} to root_packages"
    assert name in LAYERS, f"give {name} a layer in the layers contract"


def test_the_settings_package_is_checked_too():
    assert "config" in CONTRACTS["root_packages"]
    assert LAYERS["config"].rank == 0


def relations() -> list[tuple[str, str, str]]:
    """(importer, imported, what) for each relation a first-party model declares."""
    found = []
    for model in apps.get_models():
        source = package(model._meta.app_label)
        if source is None:
            continue
        for field in model._meta.get_fields():
            if not field.is_relation or field.auto_created or field.related_model is None:
                continue
            target = field.related_model
            assert isinstance(target, type) and issubclass(target, models.Model)
            imported = package(target._meta.app_label)
            if imported is not None:
                found.append((source, imported, f"{model.__name__}.{field.name}"))
    return found


def test_model_relations_point_down_the_layers():
    wrong = [what for importer, imported, what in relations() if not may_depend(importer, imported)]

    assert wrong == []


def test_migrations_depend_only_on_lower_apps():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    wrong = []
    for (label, name), migration in loader.disk_migrations.items():
        # run_before makes the other app's migration depend on this one.
        edges = [(label, other) for other, _ in migration.dependencies]
        edges += [(other, label) for other, _ in migration.run_before]
        for importer, imported in edges:
            high, low = package(importer), package(imported)
            if high is not None and low is not None and not may_depend(high, low):
                wrong.append(f"{label}.{name}: {importer} -> {imported}")

    assert wrong == []


def test_the_checks_above_catch_a_relation_that_points_up():
    assert may_depend("alerts", "oncall")
    assert not may_depend("oncall", "alerts")
    assert not may_depend("incidents", "alerts")
    assert not may_depend("chatops", "statuspage")  # independent siblings


TEMPLATES = settings.BASE_DIR / "templates"
# Template folders not named after an app, by the app whose views render them. The templates
# beside base.html and those in partials/ belong to the site (config) and may link anywhere.
TEMPLATE_FOLDERS = {"registration": "accounts", "api": "ops", "partials": "config"}


def namespaces() -> dict[str, str]:
    """Each URL namespace of ours -> the package whose urlconf declares it (app_name)."""
    found = {}

    def walk(resolver: URLResolver) -> None:
        for pattern in resolver.url_patterns:
            if not isinstance(pattern, URLResolver):
                continue
            if pattern.namespace:
                # An included list (admin.site.urls) has no module: not ours.
                module = getattr(pattern.urlconf_module, "__name__", "")
                name = module.split(".")[0]
                if name in LAYERS:
                    found[pattern.namespace] = name
            walk(pattern)

    walk(get_resolver())
    return found


NAMESPACES = namespaces()
# `{% url 'oncall:schedule-list' %}` or `{% url "oncall:team-oncall" team.slug %}`.
URL_TAG = re.compile(r"""{%\s*url\s+(["'])([\w-]+):""")
# A URL name in Python (reverse, redirect, LOGIN_URL, url_name=): a string "namespace:name".
URL_NAME = re.compile(r"""["']([\w-]+):[\w-]+["']""")


def template_owner(path: Path) -> str:
    folder = path.relative_to(TEMPLATES).parts
    if len(folder) == 1:
        return "config"
    return TEMPLATE_FOLDERS.get(folder[0], folder[0])


def app_files(name: str, suffix: str) -> Iterator[Path]:
    """The app's own modules (not its migrations) and its templates, as far as `suffix` picks."""
    if suffix == ".py":
        for path in sorted((settings.BASE_DIR / name).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path
    else:
        for path in sorted(TEMPLATES.rglob(f"*{suffix}")):
            if template_owner(path) == name:
                yield path


def test_every_template_folder_belongs_to_an_app():
    folders = {p.name for p in TEMPLATES.iterdir() if p.is_dir()}

    assert sorted(folders - set(LAYERS) - set(TEMPLATE_FOLDERS)) == []


def test_the_namespaces_are_known():
    assert NAMESPACES["oncall"] == "oncall"
    assert NAMESPACES["incidents-api"] == "incidents"
    assert "admin" not in NAMESPACES


def test_pages_link_only_to_their_own_app_and_lower_ones():
    """A `{% url %}` to a higher app's page is a dependency on it, as an import would be: let
    the higher app add its link or box through a registry of the lower one (incidents/boxes.py)."""
    wrong = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        owner = template_owner(path)
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for match in URL_TAG.finditer(line):
                target = NAMESPACES.get(match.group(2))
                if target is not None and not may_depend(owner, target):
                    where = path.relative_to(settings.BASE_DIR)
                    wrong.append(f"{where}:{number} {match.group(2)}: ({owner} -> {target})")
    for name in FIRST_PARTY:
        for path in app_files(name, ".py"):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                for match in URL_NAME.finditer(line):
                    target = NAMESPACES.get(match.group(1))
                    if target is not None and not may_depend(name, target):
                        where = path.relative_to(settings.BASE_DIR)
                        wrong.append(f"{where}:{number} {match.group(1)}: ({name} -> {target})")

    assert wrong == [], "\n".join(wrong)


@dataclass(frozen=True)
class Reverse:
    """A name by which a model reaches the rows of a higher app's model that points at it."""

    name: str  # the accessor or the query name
    model: str  # the model it hangs on, lowercased ("incident"), as a variable holding one is
    relation: str  # the field that makes it: "Integration.escalation_policy"
    source: str  # the package of that field's model: "alerts"


def reverse_relations() -> list[Reverse]:
    """The accessor and the query name of every relation from a first-party app's model to a
    lower app's model."""
    found: list[Reverse] = []
    for model in apps.get_models():
        source = package(model._meta.app_label)
        if source is None:
            continue
        for field in model._meta.get_fields():
            if not field.is_relation or field.auto_created or field.related_model is None:
                continue
            target = field.related_model
            assert isinstance(target, type) and issubclass(target, models.Model)
            lower = package(target._meta.app_label)
            if lower is None or lower == source or not may_depend(source, lower):
                continue
            assert isinstance(field, RelatedField) and field.remote_field is not None
            if field.remote_field.hidden:  # related_name="+": nothing to follow
                continue
            names = {field.remote_field.get_accessor_name(), field.related_query_name()}
            found.extend(
                Reverse(
                    name, target._meta.model_name or "", f"{model.__name__}.{field.name}", source
                )
                for name in sorted(n for n in names if n)
            )
    return found


def known_names(name: str) -> set[str]:
    """The field and relation names the package may follow: those of its models and of the
    apps below, reverse relations from the apps above left out. A forbidden accessor that
    shares one (Incident.escalation from oncall; Severity.escalation, a field) cannot be told
    from it by the text alone."""
    found = set()
    for model in apps.get_models():
        owner = package(model._meta.app_label)
        if owner is None or not may_depend(name, owner):
            continue
        for field in model._meta.get_fields():
            other = field.related_model if field.auto_created else None
            if isinstance(other, type):
                source = package(other._meta.app_label)
                if source is not None and not may_depend(name, source):
                    continue  # a reverse relation from above: one of those we look for
            found.add(field.name)
    return found


def follows(relation: Reverse, *, ambiguous: bool) -> re.Pattern[str]:
    """Where code follows the relation: `obj.name` (in Python or a template), a lookup string
    ("name", "team__name__kind"), or a lookup keyword (filter(name=…), team__name__in=…). A
    local variable, a context key or a word in prose that shares the name does not match. A name
    the app may follow elsewhere only matches on a variable named after the model
    (`incident.escalation`)."""
    name = relation.name
    if ambiguous:
        return re.compile(rf"""\b{relation.model}\.{name}\b""")
    return re.compile(
        rf"""\.{name}\b"""
        rf"""|["'](\w+__)?{name}(__\w+)?["'](?!\s*:)"""
        rf"""|[(,]\s*(\w+__)?{name}(__\w+)?=(?!=)"""
        rf"""|(\b|__){name}__\w+\s*="""
    )


def test_lower_apps_do_not_follow_relations_from_higher_apps():
    """`policy.integrations.all()` in oncall reads alerts' rows as surely as an import of
    alerts.models would; import-linter cannot see it, so look for the accessor and query names
    that the apps above give any model in each app's modules and templates. A GenericForeignKey
    could point at any app's rows, a higher one's too: none of ours has one, and a new one has
    to say why here."""
    relations = reverse_relations()
    wrong = []
    for name in FIRST_PARTY:
        known = known_names(name)
        patterns = [
            (r, follows(r, ambiguous=r.name in known))
            for r in relations
            if not may_depend(name, r.source)
        ]
        for path in [*app_files(name, ".py"), *app_files(name, ".html")]:
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                # Team.integrations and EscalationPolicy.integrations share a name: one line each.
                hits = sorted({r.relation for r, pattern in patterns if pattern.search(line)})
                if hits:
                    where = path.relative_to(settings.BASE_DIR)
                    wrong.append(f"{where}:{number} follows {' or '.join(hits)}: {line.strip()}")
    for model in apps.get_models():
        if package(model._meta.app_label) is None:
            continue
        for field in model._meta.private_fields:
            if isinstance(field, GenericForeignKey):
                wrong.append(f"{model.__name__}.{field.name} is a GenericForeignKey")

    assert wrong == [], "\n".join(wrong)


def test_follows_tells_a_relation_from_its_namesakes():
    integrations = Reverse(
        "integrations", "escalationpolicy", "Integration.escalation_policy", "alerts"
    )
    escalation = Reverse("escalation", "incident", "Escalation.incident", "oncall")
    followed = [
        "policy.integrations.all()",
        '.prefetch_related("integrations__team")',
        "Prefetch('integrations', queryset=rows)",
        ".filter(integrations__isnull=True)",
        ".filter(escalation_policies__integrations__kind=kind)",
        'Count("team__integrations")',
        ".exclude(team=team, integrations=None)",
        "{% for integration in policy.integrations.all %}",
    ]
    not_followed = [
        "integrations = list(rows)",
        '{"integrations": rows}',
        "No integrations route to this policy.",
        "if integrations == []:",
    ]

    assert all(follows(integrations, ambiguous=False).search(line) for line in followed)
    assert not any(follows(integrations, ambiguous=False).search(line) for line in not_followed)
    # Severity has a field `escalation` of its own: only incident.escalation is Escalation's.
    assert follows(escalation, ambiguous=True).search("incident.escalation.state")
    assert not follows(escalation, ambiguous=True).search("{{ sev.escalation }}")
    assert "escalation" in known_names("incidents")
    assert "integrations" not in known_names("oncall")
    assert "integrations" in known_names("alerts")
