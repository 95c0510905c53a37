"""LOG_FORMAT=json: one JSON object per line, for log shippers."""

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ops.logging import JsonFormatter

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tocsin.test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield stream
    logger.removeHandler(handler)
    logger.propagate = True


@pytest.fixture
def log() -> logging.Logger:
    return logging.getLogger("tocsin.test.json")


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_record_becomes_one_json_object_with_time_level_logger_and_message(stream, log):
    log.warning("paged %s people", 3)

    [entry] = lines(stream)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "tocsin.test.json"
    assert entry["message"] == "paged 3 people"
    assert datetime.fromisoformat(str(entry["time"])).utcoffset() == timedelta(0)


def test_each_record_is_one_line_even_with_newlines_in_the_message(stream, log):
    log.info("first line\nsecond line")
    log.info("another")

    assert len(stream.getvalue().splitlines()) == 2
    assert lines(stream)[0]["message"] == "first line\nsecond line"


def test_extra_fields_become_fields(stream, log):
    log.info("escalated", extra={"incident": "INC-7", "level_no": 2, "late": 0.5, "acked": False})

    [entry] = lines(stream)
    assert entry["incident"] == "INC-7"
    assert entry["level_no"] == 2
    assert entry["late"] == 0.5
    assert entry["acked"] is False


def test_an_extra_that_is_not_a_plain_value_is_logged_as_its_repr(stream, log):
    log.info("tick", extra={"due": ("step", 2)})

    assert lines(stream)[0]["due"] == "('step', 2)"


def test_an_extra_of_none_is_logged_as_null(stream, log):
    log.info("paged", extra={"provider_id": None})

    assert lines(stream)[0]["provider_id"] is None


def test_an_exception_is_logged_with_its_traceback_on_the_same_line(stream, log):
    try:
        raise ValueError("bad payload")
    except ValueError:
        log.exception("ingestion failed")

    [entry] = lines(stream)
    assert entry["message"] == "ingestion failed"
    assert entry["level"] == "ERROR"
    assert "Traceback" in str(entry["exception"])
    assert "ValueError: bad payload" in str(entry["exception"])


def test_a_record_without_an_exception_has_no_exception_field(stream, log):
    log.info("fine")

    assert "exception" not in lines(stream)[0]


def test_standard_record_attributes_are_not_repeated_as_fields(stream, log):
    log.info("fine")

    assert set(lines(stream)[0]) == {"time", "level", "logger", "message"}


@pytest.mark.parametrize(("log_format", "json_expected"), [("json", True), ("text", False)])
def test_log_format_setting_chooses_the_console_format(log_format, json_expected):
    script = (
        "import logging, django; django.setup(); "
        "logging.getLogger('tocsin.probe').warning('hello', extra={'incident': 'INC-1'})"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "LOG_FORMAT": log_format,
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    [line] = [line for line in result.stderr.splitlines() if "hello" in line]
    if json_expected:
        assert json.loads(line)["incident"] == "INC-1"
    else:
        assert line.endswith("WARNING tocsin.probe hello")


def test_celery_leaves_the_root_logger_to_our_logging_settings():
    # Otherwise the worker replaces the root handlers and LOG_FORMAT=json stops applying there.
    from config.celery import app

    assert app.conf.worker_hijack_root_logger is False
