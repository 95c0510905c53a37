"""A real gunicorn, as production starts it: its access log hides the tokens of secret-bearing
paths, and a chunked body is answered 411 instead of being read as empty."""

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-T0ken_value"
# The flag production needs (Procfile, Dockerfile, docker-compose.yml).
LOGGER_CLASS = "config.gunicorn_logging.RedactingLogger"

pytestmark = pytest.mark.slow


class Gunicorn:
    def __init__(self, log: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.log = log
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "LOG_FORMAT": "text",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                f"--bind=127.0.0.1:{self.port}",
                "--workers=1",
                "--threads=2",
                "--access-logfile=-",
                "--no-control-socket",
                f"--logger-class={LOGGER_CLASS}",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while not self.answers():
            assert self.process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)

    def answers(self) -> bool:
        try:
            return self.request("GET", "/healthz")[0] == 200
        except OSError:
            return False

    def request(
        self, method: str, path: str, body: bytes | None = None, **headers: str
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def chunked_post(self, path: str, chunks: list[bytes]) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            # http.client sends an iterable body chunked when no length is given.
            connection.request(
                "POST",
                path,
                body=iter(chunks),
                headers={"Content-Type": "application/json"},
                encode_chunked=True,
            )
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def output(self) -> str:
        # The access line is written after the answer: give it a moment.
        time.sleep(0.3)
        return self.log.read_text()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    server = Gunicorn(tmp_path_factory.mktemp("gunicorn") / "output.log")
    yield server
    server.stop()


def test_the_access_log_hides_the_token_in_the_path_and_the_referer(gunicorn):
    # GET is refused (405) before any token is looked up: no database needed.
    status, _, _ = gunicorn.request(
        "GET", f"/hooks/generic/{SECRET}", Referer=f"http://tocsin.example/ack/{SECRET}"
    )

    assert status == 405
    output = gunicorn.output()
    [access] = [line for line in output.splitlines() if '"GET /hooks/generic/' in line]
    assert '"GET /hooks/generic/*** HTTP/1.1" 405' in access
    assert '"http://tocsin.example/ack/***"' in access
    assert SECRET not in output


def test_djangos_own_warning_in_the_same_process_hides_it_too(gunicorn):
    gunicorn.request("GET", f"/oncall/users/{SECRET}x.ics/extra")
    gunicorn.request("GET", f"/hooks/alertmanager/{SECRET}y")

    output = gunicorn.output()
    assert "Method Not Allowed (GET): /hooks/alertmanager/***" in output
    assert f"{SECRET}y" not in output
    assert f"{SECRET}x" not in output


def test_a_chunked_webhook_body_is_answered_411_problem_details(gunicorn):
    status, headers, body = gunicorn.chunked_post("/hooks/generic/", [b'{"title":', b' "x"}'])

    assert status == 411, body
    assert headers["Content-Type"] == "application/problem+json"
    assert b"Content-Length" in body


def test_a_chunked_api_body_is_answered_411_problem_details(gunicorn):
    status, headers, _ = gunicorn.chunked_post("/api/v1/incidents/", [b"{}"])

    assert status == 411
    assert headers["Content-Type"] == "application/problem+json"


def test_the_same_body_with_a_length_gets_past_the_check(gunicorn):
    status, _, _ = gunicorn.request(
        "POST", "/api/v1/incidents/", b"{}", **{"Content-Type": "application/json"}
    )

    assert status in {401, 403}  # to authentication, which needs no database for no token
