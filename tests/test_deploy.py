"""The production shape: settings pass `check --deploy`, docker-compose.yml and the Dockerfile
describe the services Tocsin needs, constraints.txt pins what they install, and settings that
depend on the machine (the data directory, the address) work wherever they point. Docker cannot
run here, so its files are read, not run; tests/test_production_install.py runs the processes."""

import os
import re
import secrets
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "web", "worker", "pager", "beat")


def production_env(**overrides: str) -> dict[str, str]:
    # A clean environment, as a container gets: nothing of the test run's settings leaks in.
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.update(
        TOCSIN_PRODUCTION="1",
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL="postgres://tocsin@db.example.com:5432/tocsin",
        REDIS_URL="redis://redis.example.com:6379/0",
        ALLOWED_HOSTS="tocsin.example.com",
        BASE_URL="https://tocsin.example.com",
        EMAIL_URL="smtp://mailer:secret@smtp.example.com:587?tls=1",
    )
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return python("manage.py", *args, env=env)


def python(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_under_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("base_url", [None, "http://tocsin.example.com", "https://localhost:8000"])
def test_check_deploy_warns_when_links_would_point_nowhere(base_url):
    env = production_env(**({"BASE_URL": base_url} if base_url else {}))
    if base_url is None:
        del env["BASE_URL"]

    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode != 0
    assert "tocsin.W001" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def command(service: dict[str, Any]) -> str:
    value = service["command"]
    return value if isinstance(value, str) else " ".join(value)


def test_compose_runs_postgres_redis_migrate_web_worker_and_beat(compose):
    assert set(compose["services"]) == {"postgres", "redis", "proxy", *APP_SERVICES}
    assert compose["services"]["postgres"]["image"].startswith("postgres:")
    assert compose["services"]["redis"]["image"].startswith("redis:")


def test_every_tocsin_service_is_built_from_the_one_dockerfile(compose):
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["build"] == ".", name
        assert service["image"] == "tocsin:latest", name


def test_each_service_runs_its_process(compose):
    services = compose["services"]
    assert command(services["migrate"]) == "python manage.py migrate --noinput"
    assert command(services["web"]).startswith(
        "gunicorn config.wsgi --config=python:config.gunicorn --bind=0.0.0.0:8000"
    )
    assert command(services["worker"]).startswith("celery -A config worker --queues=celery ")
    # Pages on their own worker: a backlog of alerts never holds up a tick or a delivery.
    assert command(services["pager"]).startswith("celery -A config worker --queues=paging ")
    assert command(services["beat"]).startswith("celery -A config beat")
    assert services["migrate"]["restart"] == "no", "migrate runs once"


def test_services_are_configured_for_production_from_the_environment(compose):
    for name in APP_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["TOCSIN_PRODUCTION"] == "1"
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:6379/")
        # Secrets come from the operator's environment, never from this file.
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
        assert "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"]
        for variable in ("ALLOWED_HOSTS", "BASE_URL", "CSRF_TRUSTED_ORIGINS", "EMAIL_URL"):
            assert f"${{{variable}" in env[variable], variable
        assert "DEBUG" not in env


def test_tocsin_waits_for_its_database_broker_and_migrations(compose):
    services = compose["services"]
    for name in ("web", "worker", "pager", "beat"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_health_checks_use_the_ops_endpoints_and_celery_ping(compose):
    services = compose["services"]
    web_check = " ".join(services["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/readyz" in web_check
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "ping" in services["redis"]["healthcheck"]["test"]
    for name in ("worker", "pager"):
        assert f"inspect ping --destination {name}@$$HOSTNAME" in " ".join(
            services[name]["healthcheck"]["test"]
        )
    assert "--enable-remote-control" in command(services["beat"])
    assert "--destination celerybeat@" in " ".join(services["beat"]["healthcheck"]["test"])


def test_worker_and_pager_have_node_names_of_their_own(compose):
    # Celery's default node name is celery@<host>: two workers on one host would share it, and
    # `inspect ping --destination` could not tell which one answered.
    services = compose["services"]
    assert "--hostname=worker@%h" in command(services["worker"]).split()
    assert "--hostname=pager@%h" in command(services["pager"]).split()
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert "--hostname worker@%h" in procfile["worker"]


def test_only_the_tls_proxy_publishes_ports_so_web_scales_behind_it(compose):
    services = compose["services"]
    # Web trusts X-Forwarded-Proto from anyone who reaches it, so only the proxy may; and a
    # fixed published port would stop a second replica from starting.
    for name in ("postgres", "redis", *APP_SERVICES):
        assert "ports" not in services[name], name
    assert {port.split(":")[0] for port in services["proxy"]["ports"]} == {"80", "443"}
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in services["proxy"]["volumes"]
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    # Every replica, as compose's DNS lists them, not the one address a name resolves to first.
    assert re.search(r"^\s*dynamic a web 8000\b", caddyfile, re.MULTILINE)
    assert services["web"]["environment"]["TRUSTED_PROXY_HOPS"] == "${TRUSTED_PROXY_HOPS:-1}"


def test_dockerfile_installs_the_project_on_python_slim_and_runs_unprivileged():
    lines = [
        line.strip()
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "FROM python:3.13-slim"
    assert "COPY pyproject.toml README.md constraints.txt ./" in lines
    assert "RUN pip install -c constraints.txt ." in lines
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    check = lines.index(next(line for line in lines if line.startswith("HEALTHCHECK")))
    assert "/healthz" in lines[check + 1], "the image's own check is liveness"


def test_docker_build_context_leaves_out_local_state():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for path in (".git", ".venv", ".run", ".env"):
        assert path in ignored


def test_docker_build_context_carries_the_constraints():
    assert "constraints.txt" not in (ROOT / ".dockerignore").read_text().splitlines()


def constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_constraints_pin_every_package_to_one_exact_version():
    lines = [
        line
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines
    for line in lines:
        assert re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", line), line


def test_constraints_agree_with_every_dependency_in_pyproject():
    # A dependency bumped in pyproject.toml without `make lock` would make the production
    # install fail to resolve.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = constraints()
    for requirement in map(Requirement, project["dependencies"]):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is missing from constraints.txt: run make lock"
        assert requirement.specifier.contains(pins[name]), (name, pins[name])


def test_constraints_hold_what_kombus_redis_transport_imports():
    # `packaging` comes only with the redis extra; without it every Celery process dies at start.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras: dict[str, set[str]] = {
        canonicalize_name(r.name): r.extras for r in map(Requirement, project["dependencies"])
    }
    assert "redis" in extras["celery"]
    assert "packaging" in constraints()
    assert not {"pytest", "mypy", "ruff", "playwright"} & set(constraints()), "no dev extras"


def test_beat_starts_when_the_data_directory_does_not_exist(tmp_path):
    # A production install uses PostgreSQL and Redis, so nothing creates TOCSIN_DATA_DIR; beat
    # built its scheduler there and died at start.
    data_dir = tmp_path / "not-created"
    result = python(
        "-c",
        # What `celery -A config beat` builds before it starts its loop.
        "from celery.apps.beat import Beat; from config.celery import app; beat = Beat(app=app); "
        "beat.init_loader(); service = beat.Service(app=app, max_interval=beat.max_interval, "
        "scheduler_cls=beat.scheduler_cls, schedule_filename=beat.schedule); "
        "print(sorted(service.scheduler.schedule))",
        env=production_env(TOCSIN_DATA_DIR=str(data_dir)),
    )

    assert result.returncode == 0, result.stderr
    assert "oncall-tick" in result.stdout
    assert not data_dir.exists(), "beat keeps nothing on disk"


def settings_base_url(tmp_path: Path, **env: str) -> str:
    """BASE_URL as `make run`'s processes see it: a user's shell, no test settings."""
    shell = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    result = python(
        "-c",
        "import django; django.setup(); from django.conf import settings; print(settings.BASE_URL)",
        env={
            **shell,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "TOCSIN_DATA_DIR": str(tmp_path),
            **env,
        },
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "http://localhost:8000"),
        ({"PORT": "8123"}, "http://localhost:8123"),
        ({"HOST": "0.0.0.0", "PORT": "9000"}, "http://localhost:9000"),  # noqa: S104
        ({"HOST": "192.0.2.7", "PORT": "8123"}, "http://192.0.2.7:8123"),
        ({"HOST": "2001:db8::7", "PORT": "8123"}, "http://[2001:db8::7]:8123"),
    ],
)
def test_links_follow_the_address_make_run_serves_when_base_url_is_unset(tmp_path, env, expected):
    # Alertmanager URLs, snippets, calendar feeds and ack links are built from BASE_URL.
    assert settings_base_url(tmp_path, **env) == expected


def test_base_url_when_set_wins_over_the_address(tmp_path):
    url = settings_base_url(tmp_path, PORT="8123", BASE_URL="https://tocsin.example.com/")

    assert url == "https://tocsin.example.com"
