from django.contrib import admin

from chatops.models import TeamChannel


@admin.register(TeamChannel)
class TeamChannelAdmin(admin.ModelAdmin[TeamChannel]):
    """Which Slack channel hears of a team's SEV3s (chatops.services.channels.team_channel_set
    is the same for code)."""

    list_display = ("team", "channel_name", "channel_id")
    search_fields = ("team__name", "channel_name", "channel_id")
