from django.urls import path

from chatops.views import commands, events, interactions

app_name = "chatops"

urlpatterns = [
    path("slack/commands", commands.slash_command, name="commands"),
    path("slack/interactions", interactions.interactivity, name="interactions"),
    path("slack/events", events.events, name="events"),
]
