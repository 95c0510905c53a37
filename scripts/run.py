"""`make run`: Tocsin on the embedded default, in one command.

Migrates the database (SQLite in TOCSIN_DATA_DIR unless DATABASE_URL is set), loads the demo
data once, then runs the Procfile's web, worker and beat under honcho, prints the URL and the
demo logins as soon as the web answers /readyz, and stops everything on Ctrl-C or SIGTERM.
"""

import multiprocessing
import os
import secrets
import sys
import threading
import time
import urllib.request
from pathlib import Path

import django
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connections
from honcho.environ import parse_procfile
from honcho.manager import Manager

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 120.0


def prepare() -> None:
    call_command("migrate", interactive=False, verbosity=1)
    call_command("seed_demo")
    call_command("seed_demo_alerts")
    call_command("seed_demo_oncall")
    if settings.CELERY_BROKER_URL == "filesystem://":
        # kombu's filesystem transport neither creates its folders nor waits for them.
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key]).mkdir(parents=True, exist_ok=True)
    # WhiteNoise warns at every start when STATIC_ROOT is missing, even though it serves
    # straight from the app folders here (WHITENOISE_USE_FINDERS).
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    # The processes below open their own connections; nothing of ours may leak into them.
    connections.close_all()


def banner(url: str) -> str:
    from accounts.models import Role
    from demo.catalog import DEMO_ALERTMANAGER_TOKEN, DEMO_PASSWORD, DEMO_USERS, TEAMS

    rows = [
        f"Tocsin is running at {url}",
        "",
        f"Demo logins, password {DEMO_PASSWORD}:",
    ]
    for user in DEMO_USERS:
        team = f", {TEAMS[user.team][0]}" if user.team else ""
        rows.append(f"  {user.username:<10} {Role(user.role).label}{team}")
    rows += [
        "",
        f"Django admin  {url}admin/",
        f"API docs      {url}api/docs/",
        f"Alertmanager  {url}hooks/alertmanager/  (Bearer {DEMO_ALERTMANAGER_TOKEN})",
    ]
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        rows.append(f"Data          {settings.DATA_DIR}")
    rows += ["", "Ctrl-C stops web, worker and beat."]
    width = max(len(row) for row in rows)
    lines = [
        "┌" + "─" * (width + 2) + "┐",
        *(f"│ {row:<{width}} │" for row in rows),
        "└" + "─" * (width + 2) + "┘",
    ]
    return "\n" + "\n".join(lines) + "\n\n"


def web_ready(probe: str) -> bool:
    try:
        # The URL is ours: http on the address we just bound.
        with urllib.request.urlopen(probe, timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def announce_when_ready(url: str) -> None:
    """Print the banner once the web answers /readyz and a worker has run a ping task."""
    from ops.tasks import PING_KEY, ping

    deadline = time.monotonic() + READY_TIMEOUT
    while not web_ready(f"{url}readyz"):
        if time.monotonic() > deadline:
            say(f"The web did not answer {url}readyz in {READY_TIMEOUT:.0f} s; see above.")
            return
        time.sleep(0.5)
    token = secrets.token_hex(8)
    ping.delay(token)
    while cache.get(PING_KEY.format(token=token)) is None:
        if time.monotonic() > deadline:
            say(f"No worker ran a task in {READY_TIMEOUT:.0f} s; see above.")
            return
        time.sleep(0.5)
    say(banner(url))


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main() -> int:
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Log lines reach honcho as they are written, not when a pipe buffer fills.
    os.environ["PYTHONUNBUFFERED"] = "1"
    # The Procfile's commands (gunicorn, celery) are the virtualenv's.
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    host = os.environ.setdefault("HOST", "127.0.0.1")
    port = os.environ.setdefault("PORT", "8000")

    django.setup()
    prepare()

    shown_host = "127.0.0.1" if host in {"0.0.0.0", ""} else host  # noqa: S104
    url = f"http://{shown_host}:{port}/"
    # honcho starts a reader process per command; a fresh interpreter (not a fork of this one,
    # whose announcer thread may hold a lock at that moment) cannot inherit a held lock.
    multiprocessing.set_start_method("forkserver")
    manager = Manager()
    procfile = parse_procfile((ROOT / "Procfile").read_text())
    for name, command in procfile.processes.items():
        manager.add_process(name, command, env=dict(os.environ))
    threading.Thread(target=announce_when_ready, args=(url,), daemon=True).start()
    # Runs until Ctrl-C or SIGTERM, or until one process exits; either way honcho sends
    # SIGTERM to every process group, then SIGKILL to whatever is left after 5 seconds.
    manager.loop()
    return int(manager.returncode or 0)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
