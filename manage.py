#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.conf import settings
    from django.core.management import execute_from_command_line

    if sys.argv[1:2] != ["runserver"]:
        # A command is no web request: seeding, reports or an operator's shell may run
        # statements longer than a page may (migrate lifts the limit altogether).
        django.setup()
        from ops.postgresql.base import use_statement_timeout

        use_statement_timeout(settings.WORKER_DB_STATEMENT_TIMEOUT)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
