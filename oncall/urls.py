from django.urls import path

from oncall import views

app_name = "oncall"

urlpatterns = [
    path("ack/<str:token>", views.ack_link, name="ack"),
    path("hooks/twilio/sms", views.twilio_sms, name="twilio-sms"),
    path("hooks/twilio/voice/<int:notification_id>", views.twilio_voice, name="twilio-voice"),
]
