"""For the schema: reports.export.report_json, field by field, so schemathesis holds the answer
to what it says."""

from typing import Any

from rest_framework import serializers

from reports.definitions import Anchor, metrics

SECONDS = "Seconds; null when no incident was measured."
# The four metrics' keys, whatever the anchor: the same for every report.
METRIC_KEYS = [metric.key for metric in metrics(Anchor.DETECTED)]


class ReportDistributionSerializer(serializers.Serializer[Any]):
    n = serializers.IntegerField(help_text="Incidents measured.")
    left_out = serializers.IntegerField(
        help_text="Incidents not measured: still open, or a time missing (never acknowledged)."
    )
    mean = serializers.FloatField(allow_null=True, help_text=SECONDS)
    median = serializers.FloatField(allow_null=True, help_text=SECONDS)
    p90 = serializers.FloatField(
        allow_null=True, help_text=f"90th percentile, interpolated. {SECONDS}"
    )
    max = serializers.FloatField(allow_null=True, help_text=SECONDS)


class ReportFiguresSerializer(serializers.Serializer[Any]):
    """Each metric over the group's incidents."""

    time_to_detect = ReportDistributionSerializer()
    time_to_acknowledge = ReportDistributionSerializer()
    time_to_mitigate = ReportDistributionSerializer()
    time_to_resolve = ReportDistributionSerializer()


class ReportComparisonSerializer(serializers.Serializer[Any]):
    this_month = ReportDistributionSerializer()
    previous_month = ReportDistributionSerializer()


class ReportOverallSerializer(serializers.Serializer[Any]):
    """Each metric over all the month's incidents, and over the month before's."""

    time_to_detect = ReportComparisonSerializer()
    time_to_acknowledge = ReportComparisonSerializer()
    time_to_mitigate = ReportComparisonSerializer()
    time_to_resolve = ReportComparisonSerializer()


class ReportDurationsSerializer(serializers.Serializer[Any]):
    """Each metric of one incident, in seconds; null when not measured (still open, a time
    missing)."""

    time_to_detect = serializers.FloatField(allow_null=True)
    time_to_acknowledge = serializers.FloatField(allow_null=True)
    time_to_mitigate = serializers.FloatField(allow_null=True)
    time_to_resolve = serializers.FloatField(allow_null=True)


class ReportMetricSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text=", ".join(METRIC_KEYS))
    short = serializers.CharField(help_text="As managers say it: MTTA, MTTR…")
    # DRF's metaclass moves declared fields off the class, so this does not hide `.label`.
    label = serializers.CharField()  # type: ignore[assignment]
    definition = serializers.CharField(help_text="What the figure measures, in words.")
    start_field = serializers.CharField(help_text="The incident's time it runs from.")
    end_field = serializers.CharField(help_text="The incident's time it runs to.")


class ReportTotalsSerializer(serializers.Serializer[Any]):
    incidents = serializers.IntegerField(help_text="Started in the month, drills aside.")
    open = serializers.IntegerField(help_text="Of those, not resolved yet.")
    drills_excluded = serializers.IntegerField()
    merged_excluded = serializers.IntegerField(
        help_text="Merged into another incident: duplicates, left out like drills."
    )
    reopened_incidents = serializers.IntegerField(help_text="Reopened at least once.")
    reopens = serializers.IntegerField(help_text="The reopens themselves.")
    previous_incidents = serializers.IntegerField(help_text="Started in the month before.")


class ReportGroupSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    incidents = serializers.IntegerField()
    open = serializers.IntegerField()
    previous_incidents = serializers.IntegerField()
    slug = serializers.CharField(
        allow_blank=True, help_text="Services and teams: the slug; empty for severities and none."
    )
    figures = ReportFiguresSerializer()
    response_target = serializers.FloatField(
        allow_null=True, help_text="Severities: seconds to acknowledge within; else null."
    )
    within_target = serializers.IntegerField(
        allow_null=True, help_text="Severities: incidents acknowledged within the target."
    )
    rank = serializers.IntegerField(allow_null=True, help_text="Severities: 1 is the most severe.")


class ReportTrendPointSerializer(serializers.Serializer[Any]):
    month = serializers.CharField(help_text="YYYY-MM")
    incidents = serializers.IntegerField()
    mttr = ReportDistributionSerializer(help_text="Time to resolve of the incidents started then.")


class ReportCountSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    count = serializers.IntegerField()


class ReportActionItemsSerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField(help_text="Of the month's incidents' postmortems.")
    by_status = serializers.DictField(child=serializers.IntegerField())
    overdue = serializers.IntegerField(help_text="Past due now, whatever month they came from.")
    done_on_time = serializers.IntegerField()


class ReportResponderLoadSerializer(serializers.Serializer[Any]):
    user_id = serializers.IntegerField()
    name = serializers.CharField()
    pages = serializers.IntegerField(help_text="Pages sent to them, every contact method.")
    off_hours_pages = serializers.IntegerField(
        help_text="Pages sent outside working hours in their own time zone."
    )
    interruptions = serializers.IntegerField(
        help_text="A page within 60 s of their previous page joins its interruption."
    )
    off_hours_interruptions = serializers.IntegerField(
        help_text="Interruptions whose first page was outside working hours."
    )
    incidents_commanded = serializers.IntegerField()
    commander_seconds = serializers.FloatField(help_text="Time holding the commander role.")


class ReportRecommendationSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField(
        help_text="mttr_over_target, mtta_over_target, recurring_service, "
        "overdue_action_items, off_hours_load"
    )
    text = serializers.CharField()
    link = serializers.CharField(allow_blank=True, help_text="Where to look; may be empty.")


class ReportIncidentRowSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField(help_text="INC-<number>")
    number = serializers.IntegerField()
    title = serializers.CharField(help_text="A private incident's is withheld.")
    private = serializers.BooleanField()
    severity = serializers.CharField()
    status = serializers.CharField()
    team = serializers.CharField(allow_blank=True)
    services = serializers.CharField(allow_blank=True, help_text="Comma-separated names.")
    started_at = serializers.DateTimeField()
    detected_at = serializers.DateTimeField()
    declared_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    mitigated_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True, help_text="The first resolution.")
    last_resolved_at = serializers.DateTimeField(allow_null=True)
    reopen_count = serializers.IntegerField()
    durations = ReportDurationsSerializer()
    url = serializers.URLField()


class MonthlyReportSerializer(serializers.Serializer[Any]):
    month = serializers.CharField(help_text="YYYY-MM")
    label = serializers.CharField(help_text="November 2026")  # type: ignore[assignment]
    time_zone = serializers.CharField(help_text="The organisation's, in which the month runs.")
    starts_at = serializers.DateTimeField(help_text="Midnight on the 1st, in that zone.")
    ends_at = serializers.DateTimeField(help_text="The next month's start: [starts_at, ends_at).")
    generated_at = serializers.DateTimeField()
    anchor = serializers.ChoiceField(
        choices=[anchor.value for anchor in Anchor],
        help_text="Where times to acknowledge, mitigate and resolve start.",
    )
    metrics = ReportMetricSerializer(many=True)
    totals = ReportTotalsSerializer()
    overall = ReportOverallSerializer()
    by_severity = ReportGroupSerializer(many=True)
    by_service = ReportGroupSerializer(
        many=True, help_text="An incident counts under each service."
    )
    by_team = ReportGroupSerializer(many=True)
    trend = ReportTrendPointSerializer(many=True, help_text="The 12 months before and this one.")
    top_services = ReportCountSerializer(many=True)
    cause_categories = ReportCountSerializer(many=True)
    contributing_factors = ReportCountSerializer(many=True)
    action_items = ReportActionItemsSerializer(
        allow_null=True,
        help_text="Null when there is nothing to report: no action item from the month's "
        "postmortems, and none overdue.",
    )
    responder_load = ReportResponderLoadSerializer(many=True)
    recommendations = ReportRecommendationSerializer(many=True)
    incidents = ReportIncidentRowSerializer(many=True, help_text="Newest first; capped.")
    incidents_not_listed = serializers.IntegerField(
        help_text="Incidents past the cap; the CSV lists them all."
    )
