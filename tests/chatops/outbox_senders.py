"""Outbox senders for the outbox tests: a real chat.postMessage through the real WebClient.

Registered on import, so a Celery worker started with `--include tests.chatops.outbox_senders`
knows them too (the durability tests run real workers).
"""

from typing import Any

from slack_sdk import WebClient

from chatops.models import SlackCall
from chatops.services.outbox import register_sender

POST = "test.post"


def post(call: SlackCall, client: WebClient) -> dict[str, Any]:
    answer = client.chat_postMessage(channel=call.payload["channel"], text=call.payload["text"])
    return {"channel": answer["channel"], "ts": answer["ts"]}


register_sender(POST, post)
