from django.urls import path

from chatops.views import commands, events, interactions, profile

app_name = "chatops"

urlpatterns = [
    path("slack/commands", commands.slash_command, name="commands"),
    path("slack/interactions", interactions.interactivity, name="interactions"),
    path("slack/events", events.events, name="events"),
    path("me/slack/", profile.slack_profile, name="slack-profile"),
    path("me/slack/link", profile.slack_link_set, name="slack-link-set"),
    path("me/slack/unlink", profile.slack_link_remove, name="slack-link-remove"),
]
