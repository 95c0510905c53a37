"""Rows a deletion leaves without their parent: `on_delete=SET_NULL` is applied by one
UPDATE, which sends no signal, so django-auditlog would record nothing of the service or
policy a deleted team leaves teamless. This handler writes each such row's entry before.
"""

from typing import Any

from auditlog.models import LogEntry
from django.db import models
from django.db.models import Model
from django.db.models.signals import pre_delete
from django.utils.encoding import smart_str

from audit.tracked import TRACKED


def _set_null_relations(model: type[Model]) -> list[models.ForeignObjectRel]:
    return [
        relation
        for relation in model._meta.related_objects
        if relation.on_delete is models.SET_NULL and relation.related_model in TRACKED
    ]


def _record(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    for relation in _set_null_relations(sender):
        field = relation.field
        before = smart_str(instance)
        rows = relation.related_model._default_manager.filter(**{field.name: instance})
        for row in rows.order_by("pk"):
            LogEntry.objects.log_create(
                row, action=LogEntry.Action.UPDATE, changes={field.name: [before, None]}
            )


def connect() -> None:
    for model in TRACKED:
        if _set_null_relations(model):
            pre_delete.connect(
                _record, sender=model, dispatch_uid=f"audit.set_null.{model._meta.label}"
            )
