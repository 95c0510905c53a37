"""A typo in a report setting is refused at start (manage.py check), not found on the 1st."""

from reports.checks import check_report_settings


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
