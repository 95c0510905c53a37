"""Fixtures for browser tests: Debian's Chromium driven by Playwright's sync API."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from accounts.models import Role, User
from tests.factories import UserFactory

# Playwright's sync API keeps an event loop in this thread; the live server's ORM calls are
# still plain synchronous code, so Django's async-safety guard is a false alarm here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"


@pytest.fixture
def browser() -> Iterator[Browser]:
    """A fresh Chromium per test.

    Per test, not per session: while Playwright runs, Django sees an event loop in this
    thread and keeps a second set of database connections. Stopping Playwright before the
    database teardown lets that teardown (flush, serialized rollback) use the usual ones.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Browser tests need Chromium at {CHROMIUM} (Debian package 'chromium').")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def rosa(transactional_db: None) -> User:
    """A responder to sign in as."""
    return UserFactory(
        username="rosa", first_name="Rosa", last_name="Responder", role=Role.RESPONDER
    )


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A page context in Paris time on a laptop-sized window."""
    context = browser.new_context(
        timezone_id="Europe/Paris", viewport={"width": 1280, "height": 900}
    )
    yield context
    context.close()
