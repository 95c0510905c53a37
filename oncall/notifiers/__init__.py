"""One notifier per contact method behind one contract (see base.py); a new channel is a module
and a line in NOTIFIERS."""

from oncall.models import ContactKind
from oncall.notifiers.base import Notifier, NotifierError, Page
from oncall.notifiers.email import EmailNotifier
from oncall.notifiers.slack import SlackNotifier
from oncall.notifiers.twilio import SmsNotifier, VoiceNotifier
from oncall.notifiers.webhook import WebhookNotifier

NOTIFIERS: dict[ContactKind, type[Notifier]] = {
    ContactKind.EMAIL: EmailNotifier,
    ContactKind.SMS: SmsNotifier,
    ContactKind.VOICE: VoiceNotifier,
    ContactKind.SLACK: SlackNotifier,
    ContactKind.WEBHOOK: WebhookNotifier,
}


def notifier_for(method: str) -> Notifier:
    """The notifier for a contact method; ValueError for a method no notifier handles."""
    try:
        return NOTIFIERS[ContactKind(method)]()
    except (KeyError, ValueError):
        raise ValueError(f"No notifier for contact method {method!r}") from None


__all__ = ["NOTIFIERS", "Notifier", "NotifierError", "Page", "notifier_for"]
