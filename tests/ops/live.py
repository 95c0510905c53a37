"""Talking to a live server (tests.harness.Gunicorn) in the fault and metrics tests: as a
signed-in person, and timing the answer."""

import time
from collections.abc import Callable

import requests
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client


def signed_in(user: AbstractBaseUser) -> requests.Session:
    """A browser session for `user` on a live server: the session row is committed here."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    return session


def timed(call: Callable[[], requests.Response]) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started
