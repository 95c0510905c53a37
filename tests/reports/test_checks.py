"""A typo in a report setting is refused at start (manage.py check), not found on the 1st."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks

from incidents.models import Severity
from reports.checks import check_mttr_target_severities, check_report_settings

# Severity names are read from the database (reports.W001).
pytestmark = pytest.mark.django_db


def test_the_default_settings_pass(settings):
    assert check_report_settings() == []


def test_an_anchor_that_is_not_one_is_an_error(settings):
    settings.REPORTS_MTTR_ANCHOR = "acknowledged"

    (error,) = check_report_settings()

    assert error.id == "reports.E001"
    assert "'acknowledged'" in error.msg


def test_an_organisation_zone_that_is_not_one_is_an_error(settings):
    settings.ORGANISATION_TIME_ZONE = "Europe/Pariss"

    (error,) = check_report_settings()

    assert error.id == "reports.E002"


@pytest.mark.parametrize(
    ("hours", "days", "said"),
    [
        ("9-18", [1, 2, 3, 4, 5], "REPORTS_WORKING_HOURS is '9-18'"),
        ("18:00-09:00", [1, 2, 3, 4, 5], "REPORTS_WORKING_HOURS is '18:00-09:00'"),
        ("09:00-18:00", [0, 1], "REPORTS_WORKING_DAYS is [0, 1]"),
    ],
)
def test_working_hours_or_days_that_are_none_are_an_error(settings, hours, days, said):
    settings.REPORTS_WORKING_HOURS = hours
    settings.REPORTS_WORKING_DAYS = days

    (error,) = check_report_settings()

    assert error.id == "reports.E003"
    assert error.is_serious()
    assert said in error.msg


def test_a_target_for_a_severity_that_does_not_exist_is_a_warning(settings):
    settings.REPORTS_MTTR_TARGETS = {"SEV1": 60, "SEV 2": 240, "P1": 30}

    warnings = check_mttr_target_severities(databases=["default"])

    assert [w.id for w in warnings] == ["reports.W001", "reports.W001"]
    assert not any(w.is_serious() for w in warnings)
    assert "'P1'" in warnings[0].msg
    assert "'SEV 2'" in warnings[1].msg


def test_a_severity_added_later_silences_its_warning(settings):
    settings.REPORTS_MTTR_TARGETS = {"P1": 30}
    Severity.objects.create(name="P1", rank=99, description="Page now", response_target="0:05")

    assert check_mttr_target_severities(databases=["default"]) == []


def test_a_plain_check_reads_no_database(settings):
    settings.REPORTS_MTTR_TARGETS = {"P1": 30}

    messages = run_checks()

    assert "reports.W001" not in {message.id for message in messages}
    assert "reports.W001" in {message.id for message in run_checks(databases=["default"])}


def test_the_check_runs_without_a_database():
    """manage.py check in a build, where no database answers: the severity names are not
    compared, and the check passes rather than crash."""
    environment = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tocsin_no_such_database",
        "REPORTS_MTTR_TARGETS": "SEV1=60,P1=30",
    }

    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "reports.W001" not in done.stdout + done.stderr
