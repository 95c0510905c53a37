from typing import Any

from django.apps import AppConfig
from django.db.models.signals import pre_migrate


def lift_statement_timeout(**kwargs: Any) -> None:
    # Migrations build indexes and rewrite tables: minutes on a large database are normal,
    # and a web request's timeout would break a deploy half-way.
    from ops.postgresql.base import use_statement_timeout

    use_statement_timeout(0)


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from ops import checks  # noqa: F401  (registers the deploy checks)

        pre_migrate.connect(lift_statement_timeout, dispatch_uid="ops.lift_statement_timeout")
