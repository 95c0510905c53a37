"""Pages survive what production does to them: real Celery workers and beats, PostgreSQL, a
Redis that gets restarted, workers killed mid-delivery, ticks racing acknowledgements.

Every test ends by checking the SMS provider's stub received exactly the pages expected and
nothing else.
"""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services as incident_services
from oncall.models import Escalation, EscalationState, Notification, NotificationState
from tests.factories import declare
from tests.harness import wait_until
from tests.oncall.cluster import Cluster
from tests.oncall.factories import pageable, policy

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(180),
]

NUMBERS = {"alice": "+14155550101", "bob": "+14155550102", "carol": "+14155550103"}


@pytest.fixture
def cluster(tmp_path, redis_server, twilio_stub):
    env = {
        "TWILIO_API_URL": twilio_stub.url,
        "TWILIO_ACCOUNT_SID": twilio_stub.account_sid,
        "TWILIO_AUTH_TOKEN": twilio_stub.auth_token,
        "TWILIO_FROM_NUMBER": twilio_stub.from_number,
        # Short, so a lost task comes back within the test. The delivery lease stays well
        # above the notifier's timeout: on a loaded machine a slow but live delivery must not
        # be handed to a second worker (the killed-worker test shortens it for itself).
        "NOTIFIER_TIMEOUT": "3",
        "PAGING_DELIVERY_LEASE": "30",
        "PAGING_REQUEUE_AFTER": "3",
    }
    started = Cluster(tmp_path, redis_server, env)
    yield started
    started.stop()


def person(name: str):
    return pageable(name, kind="sms", address=NUMBERS[name])


def sms_count(stub, name: str, incident=None) -> int:
    messages = stub.messages_to(NUMBERS[name])
    if incident is not None:
        messages = [m for m in messages if f"{incident.ref} " in m["Body"]]
    return len(messages)


def assert_only_expected_pages(stub, expected: Counter[str]) -> None:
    """Nothing reached the provider but the pages the test expects, each exactly once."""
    accepted = Counter(request.form["To"] for request in stub.requests if request.status == 201)
    assert accepted == Counter({NUMBERS[name]: count for name, count in expected.items()})
    stub.assert_nothing_unexpected()


def test_a_worker_killed_while_delivering_does_not_lose_or_double_the_page(cluster, twilio_stub):
    policy((10, [person("alice")]))
    # The provider holds the first request undecided; the worker dies waiting for it.
    twilio_stub.hold_next(30)
    cluster.env["PAGING_DELIVERY_LEASE"] = "5"
    cluster.start_beat("beat")
    cluster.start_worker("w1")
    incident = declare(severity_name="SEV2")
    wait_until(lambda: len(twilio_stub.requests) == 1, timeout=45, what="the first attempt")

    cluster.kill("w1")
    cluster.start_worker("w2")

    # The stub sees the request before the worker records its answer: wait for both.
    wait_until(
        lambda: (
            sms_count(twilio_stub, "alice", incident) == 1
            and Notification.objects.filter(
                incident=incident, state=NotificationState.SENT
            ).exists()
        ),
        timeout=60,
        what="the page to be delivered by the second worker and recorded as sent",
    )
    notification = Notification.objects.get(incident=incident)
    assert notification.state == NotificationState.SENT
    assert notification.attempts == 2
    assert [r.status for r in twilio_stub.requests] == [0, 201]  # dropped, then accepted
    assert_only_expected_pages(twilio_stub, Counter(alice=1))


def test_the_next_level_fires_after_redis_restarts_mid_escalation(
    cluster, twilio_stub, redis_server
):
    policy((timedelta(seconds=4), [person("alice")]), (10, [person("bob")]))
    cluster.start_beat("beat")
    cluster.start_worker("w1")
    incident = declare(severity_name="SEV2")
    wait_until(lambda: sms_count(twilio_stub, "alice") == 1, timeout=45, what="level 1")

    redis_server.restart()  # every queued task and the beat's connection are gone

    wait_until(lambda: sms_count(twilio_stub, "bob") == 1, timeout=60, what="level 2")
    escalation = Escalation.objects.get(incident=incident)
    assert escalation.level_index == 1
    assert_only_expected_pages(twilio_stub, Counter(alice=1, bob=1))


def test_two_beats_and_three_workers_page_each_person_once_per_step(cluster, twilio_stub):
    second = timedelta(seconds=1)
    policy((second, [person("alice")]), (second, [person("bob")]), (second, [person("carol")]))
    incidents = [declare(severity_name="SEV2", title=f"Outage {n}") for n in range(6)]
    for name in ("beat-1", "beat-2"):
        cluster.start_beat(name)
    for name in ("w1", "w2", "w3"):
        cluster.start_worker(name)

    wait_until(
        lambda: (
            sum(sms_count(twilio_stub, name) for name in NUMBERS) == 18
            and not Notification.objects.exclude(state=NotificationState.SENT).exists()
        ),
        timeout=90,
        what="three pages for each of six incidents",
    )
    for incident in incidents:
        for name in NUMBERS:
            assert sms_count(twilio_stub, name, incident) == 1, (incident.ref, name)
    assert not Escalation.objects.filter(state=EscalationState.ACTIVE).exists()
    assert_only_expected_pages(twilio_stub, Counter(alice=6, bob=6, carol=6))


def test_no_page_is_created_after_an_acknowledgement_commits(cluster, twilio_stub):
    alice, bob = person("alice"), person("bob")
    policy((timedelta(seconds=3), [alice]), (10, [bob]))
    cluster.start_worker("w1")
    cluster.start_worker("w2")
    cluster.start_beat("beat-1")
    cluster.start_beat("beat-2")
    incidents = [declare(severity_name="SEV2", title=f"Outage {n}") for n in range(12)]
    wait_until(lambda: sms_count(twilio_stub, "alice") == 12, timeout=60, what="level 1")

    # Acknowledge one incident after another across the moment level 2 falls due, so ticks
    # and acknowledgements collide; note what existed when each acknowledgement committed.
    wait_until(
        lambda: Escalation.objects.filter(level_index=1).count() == 12,
        timeout=15,
        what="level 2 to be scheduled",
    )
    level_two_due = min(e.next_at for e in Escalation.objects.all())
    wait_until(
        lambda: timezone.now() >= level_two_due - timedelta(milliseconds=600),
        timeout=10,
        what="level 2 to come near",
    )
    seen_at_ack: dict[int, set[int]] = {}
    for incident in incidents:
        incident_services.incident_acknowledge(incident=incident, actor=alice)
        seen_at_ack[incident.pk] = set(
            Notification.objects.filter(incident=incident).values_list("pk", flat=True)
        )
        time.sleep(0.1)

    # Give ticks and deliveries time to do anything they were going to do.
    wait_until(
        lambda: not Escalation.objects.filter(state=EscalationState.ACTIVE).exists(),
        timeout=30,
        what="every escalation to stop",
    )
    for incident in incidents:
        now_present = set(
            Notification.objects.filter(incident=incident).values_list("pk", flat=True)
        )
        assert now_present == seen_at_ack[incident.pk], incident.ref
    # A page handed out before its acknowledgement may still be on its way: let it land.
    wait_until(
        lambda: (
            not Notification.objects.filter(
                user=bob, state__in=(NotificationState.QUEUED, NotificationState.SENDING)
            ).exists()
        ),
        timeout=30,
        what="bob's pages on their way to land",
    )
    bob_pages = Notification.objects.filter(user=bob).count()
    assert sms_count(twilio_stub, "bob") <= bob_pages
    expected_bob = Notification.objects.filter(user=bob, state=NotificationState.SENT).count()
    assert_only_expected_pages(twilio_stub, Counter(alice=12, bob=expected_bob))
