"""Who joins or leaves a team (members, leads), recorded on the team whichever side changed.

django-auditlog's own many-to-many logging records a clear() as every person in the database
removed (post_clear is told no one, so it lists the whole table), and a change made from the
person's side (`alice.teams.add(team)`) on the person. This handler reads who a clear removes
before it happens, and always writes the entry on each team concerned.
"""

from collections import defaultdict
from typing import Any

from auditlog.models import LogEntry
from django.db.models import Model
from django.db.models.signals import m2m_changed

from accounts.models import User
from incidents.models import Team

PEOPLE_FIELDS = ("members", "leads")
OPERATIONS = {"post_add": "add", "post_remove": "delete", "post_clear": "delete"}


def _receiver(field_name: str) -> Any:
    field = Team._meta.get_field(field_name)
    team_column = field.m2m_field_name()  # type: ignore[union-attr]
    person_column = field.m2m_reverse_field_name()  # type: ignore[union-attr]
    cleared = f"_audit_cleared_{field_name}"

    def changed(
        sender: type[Model],
        instance: Model,
        action: str,
        reverse: bool,
        pk_set: set[int] | None,
        **kwargs: Any,
    ) -> None:
        if action == "pre_clear":
            column = person_column if reverse else team_column
            rows = sender._default_manager.filter(**{column: instance.pk})
            current = rows.values_list(f"{team_column}_id", f"{person_column}_id")
            setattr(instance, cleared, list(current))
            return
        if action not in OPERATIONS:
            return
        pairs: list[tuple[int, int]]
        if action == "post_clear":
            pairs = instance.__dict__.pop(cleared, [])
        elif reverse:
            pairs = [(team_id, instance.pk) for team_id in pk_set or ()]
        else:
            pairs = [(instance.pk, person_id) for person_id in pk_set or ()]
        by_team: dict[int, list[int]] = defaultdict(list)
        for team_id, person_id in pairs:
            by_team[team_id].append(person_id)
        teams = Team.objects.in_bulk(list(by_team))
        people = User.objects.in_bulk([pk for pks in by_team.values() for pk in pks])
        for team_id, person_ids in sorted(by_team.items()):
            named = sorted((people[pk] for pk in person_ids), key=lambda p: p.username)
            LogEntry.objects.log_m2m_changes(named, teams[team_id], OPERATIONS[action], field_name)

    return changed


def connect() -> None:
    for field_name in PEOPLE_FIELDS:
        m2m_changed.connect(
            _receiver(field_name),
            sender=getattr(Team, field_name).through,
            weak=False,
            dispatch_uid=f"audit.team_people.{field_name}",
        )
