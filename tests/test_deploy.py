"""The production shape: settings pass `check --deploy`, docker-compose.yml and the Dockerfile
describe the services Tocsin needs. Docker cannot run here, so the files are read, not run."""

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

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
    return subprocess.run(
        [sys.executable, "manage.py", *args],
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
    assert set(compose["services"]) == {"postgres", "redis", *APP_SERVICES}
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
    assert command(services["web"]).startswith("gunicorn config.wsgi --bind=0.0.0.0:8000")
    assert command(services["worker"]).startswith("celery -A config worker --queues=celery")
    # Pages on their own worker: a backlog of alerts never holds up a tick or a delivery.
    assert command(services["pager"]).startswith("celery -A config worker --queues=paging")
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
        assert "inspect ping --destination celery@" in " ".join(
            services[name]["healthcheck"]["test"]
        )
    assert "--enable-remote-control" in command(services["beat"])
    assert "--destination celerybeat@" in " ".join(services["beat"]["healthcheck"]["test"])
    # The web's health check talks to it as 127.0.0.1, which must be an allowed host.
    assert "127.0.0.1" in services["web"]["environment"]["ALLOWED_HOSTS"]


def test_web_is_published_on_loopback_only_for_the_tls_proxy_in_front(compose):
    # Web trusts X-Forwarded-Proto from anyone who reaches it, so only the proxy may.
    assert compose["services"]["web"]["ports"] == ["127.0.0.1:${PORT:-8000}:8000"]
    for name in ("postgres", "redis", "migrate", "worker", "pager", "beat"):
        assert "ports" not in compose["services"][name], name


def test_dockerfile_installs_the_project_on_python_slim_and_runs_unprivileged():
    lines = [
        line.strip()
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "FROM python:3.13-slim"
    assert "RUN pip install ." in lines
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    check = lines.index(next(line for line in lines if line.startswith("HEALTHCHECK")))
    assert "/healthz" in lines[check + 1], "the image's own check is liveness"


def test_docker_build_context_leaves_out_local_state():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for path in (".git", ".venv", ".run", ".env"):
        assert path in ignored
