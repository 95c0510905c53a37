"""One notifier per contact method behind one contract (see base.py); a new channel is a module
and a line in NOTIFIERS."""

from oncall.notifiers.base import Notifier, NotifierError, Page
from oncall.notifiers.email import EmailNotifier
from oncall.notifiers.slack import SlackNotifier
from oncall.notifiers.twilio import SmsNotifier, VoiceNotifier
from oncall.notifiers.webhook import WebhookNotifier

NOTIFIERS: dict[str, type[Notifier]] = {
    "email": EmailNotifier,
    "sms": SmsNotifier,
    "voice": VoiceNotifier,
    "slack": SlackNotifier,
    "webhook": WebhookNotifier,
}


def notifier_for(method: str) -> Notifier:
    """The notifier for a contact method; ValueError for a method no notifier handles."""
    try:
        return NOTIFIERS[method]()
    except KeyError:
        raise ValueError(f"No notifier for contact method {method!r}") from None


__all__ = ["NOTIFIERS", "Notifier", "NotifierError", "Page", "notifier_for"]
