from django.urls import path

from chatops.views import commands, events, interactions, profile, settings

app_name = "chatops"

urlpatterns = [
    path("slack/commands", commands.slash_command, name="commands"),
    path("slack/interactions", interactions.interactivity, name="interactions"),
    path("slack/events", events.events, name="events"),
    path("ops/slack/", settings.slack_settings, name="settings"),
    path("ops/slack/check", settings.slack_check_now, name="settings-check"),
    path("ops/slack/teams/<slug:slug>", settings.team_channel, name="settings-team-channel"),
    path("me/slack/", profile.slack_profile, name="slack-profile"),
    path("me/slack/link", profile.slack_link_confirm, name="slack-link-confirm"),
    path("me/slack/unlink", profile.slack_link_remove, name="slack-link-remove"),
]
