"""A broker that accepts connections and never answers must not hold a web request: the SEV1
is committed, the request answers within seconds, and the page still goes out once the broker
is back (the tick starts an escalation whose task was never queued). gunicorn, a worker and
beat all reach a private Redis through a Blackhole proxy."""

import re
from collections import Counter

import pytest
import requests

from incidents.models import Incident, Severity
from tests.harness import Gunicorn, database_url, wait_until
from tests.oncall.cluster import Cluster
from tests.oncall.factories import pageable, policy
from tests.ops.live import signed_in, timed
from tests.stubs.blackhole import Blackhole

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(240),
]

ALICE = "+14155550101"
# A publish against a silent Redis: three REDIS_TIMEOUTs (1 s), with room for a loaded machine.
FEW_SECONDS = 6.0


@pytest.fixture
def broker(redis_server):
    proxy = Blackhole(target_port=redis_server.port)
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def stack(tmp_path, redis_server, broker, twilio_stub):
    env = {
        "DATABASE_URL": database_url(),
        "REDIS_URL": f"redis://{broker.address}/0",
        "TWILIO_API_URL": twilio_stub.url,
        "TWILIO_ACCOUNT_SID": twilio_stub.account_sid,
        "TWILIO_AUTH_TOKEN": twilio_stub.auth_token,
        "TWILIO_FROM_NUMBER": twilio_stub.from_number,
        "NOTIFIER_TIMEOUT": "3",
        "PAGING_REQUEUE_AFTER": "3",
    }
    cluster = Cluster(tmp_path, redis_server, env)
    web = Gunicorn(tmp_path, env)
    web.start()
    cluster.start_worker("worker")
    cluster.start_beat("beat")
    yield web
    web.stop()
    cluster.stop()


def declare_sev1(session: requests.Session, web: Gunicorn) -> requests.Response:
    page = session.get(web.url + "/incidents/new/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, (page.status_code, page.text[:3000])
    data = {
        "csrfmiddlewaretoken": token.group(1),
        "title": "Payments are failing",
        "severity": str(Severity.objects.get(name="SEV1").pk),
        "take_command": "on",
    }
    return session.post(web.url + "/incidents/new/", data=data, allow_redirects=False, timeout=90)


def test_a_sev1_declared_while_the_broker_is_silent_answers_at_once_and_pages_after(
    stack, broker, responder, twilio_stub
):
    policy((10, [pageable("alice", kind="sms", address=ALICE)]))
    session = signed_in(responder)
    session.get(stack.url + "/incidents/new/", timeout=10)

    broker.black_hole()
    response, seconds = timed(lambda: declare_sev1(session, stack))

    assert response.status_code == 302
    assert seconds < FEW_SECONDS
    incident = Incident.objects.get()
    assert response.headers["Location"].endswith(f"/incidents/{incident.number}/")

    broker.forward()
    wait_until(
        lambda: len(twilio_stub.messages_to(ALICE)) == 1,
        timeout=120,
        what="the page once the broker answers again",
    )
    assert Incident.objects.count() == 1
    accepted = Counter(request.form["To"] for request in twilio_stub.requests)
    assert accepted == Counter({ALICE: 1})
