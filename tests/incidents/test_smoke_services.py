from incidents import services
from incidents.models import Status
from tests.factories import declare


def test_declare_acknowledge_resolve(responder, commander):
    incident = declare(responder, commander=commander)
    services.incident_acknowledge(incident=incident, actor=commander)
    services.incident_resolve(incident=incident, actor=commander, resolution="rolled back")
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    assert incident.timeline.count() == 4
