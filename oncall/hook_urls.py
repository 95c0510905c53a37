"""Addresses machines and people's mail and phones call back: the one-click ack link, Twilio's
SMS and voice hooks. These go out in pages already sent and in Twilio's settings, so they never
move. Included by oncall.urls, under its "oncall" namespace."""

from django.urls import URLPattern, path

from oncall import hooks

urlpatterns: list[URLPattern] = [
    path("ack/<str:token>", hooks.ack_link, name="ack"),
    path("hooks/twilio/sms", hooks.twilio_sms, name="twilio-sms"),
    path("hooks/twilio/voice/<int:notification_id>", hooks.twilio_voice, name="twilio-voice"),
]
