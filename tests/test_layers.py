"""The layering rule (pyproject.toml's [tool.importlinter] `layers` contract) where import-linter
cannot look: a model's foreign key and a migration's dependency name an app by its label, not by
an import. `make lint` runs import-linter itself; these make sure no new app escapes it."""

import tomllib
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.migrations.loader import MigrationLoader

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
