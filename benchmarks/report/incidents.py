"""The report benchmark's incidents, with their services, roles, timelines, pages and
postmortems, written with set-based SQL from a hash of each incident's number."""

import json
from typing import Any

from benchmarks.harness import run_sql
from benchmarks.pages import TITLES
from benchmarks.report.seed import MEMBERS_PER_TEAM, SERVICES
from benchmarks.report.spec import Spec, window

# What the incidents' cause_category says (the demo's words), and the contributing factor a
# postmortem of each is tagged with.
CAUSES = {  # most frequent first
    "deploy": "change",
    "configuration": "configuration",
    "capacity": "capacity",
    "third party": "dependency",
    "bug": "software-defect",
    "query": "software-defect",
    "expiry": "process",
    "content": "process",
    "security": "security",
}


def load_incidents(spec: Spec, *, small: bool) -> None:
    """The incidents numbered g in 1..spec.incidents with g % stride == 0 (small) or != 0.

    Incident g starts in the g-th of `incidents` equal slices of the window, at a point in it
    drawn from g: numbers follow time, as they do when incidents are declared.
    """
    start, end = window(spec)
    label = f"{spec.small:,}" if small else f"{spec.incidents - spec.small:,} more"
    params: dict[str, Any] = {
        "start": start,
        "end": end,
        "spacing": (end - start).total_seconds() / spec.incidents,
        "incidents": spec.incidents,
        "stride": spec.stride,
        "small": small,
        "services": SERVICES,
        "members": MEMBERS_PER_TEAM,
        "titles": TITLES,
        "causes": list(CAUSES),
    }
    run_sql(
        f"{label} incidents",
        """
        WITH sev AS (SELECT array_agg(id ORDER BY rank) AS ids FROM incidents_severity),
        svc AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(team_id ORDER BY id) AS teams
                FROM incidents_service),
        src AS (
            SELECT g,
                %(start)s::timestamptz
                    + make_interval(secs => ((g - 1) + pg_temp.u(g, 1)) * %(spacing)s)
                    AS started_at,
                pg_temp.u(g, 2) AS r_severity,
                -- A few services have most incidents.
                1 + floor(%(services)s * power(pg_temp.u(g, 3), 2))::int AS service,
                -- Seconds: detection after the start; acknowledgement and resolution after
                -- detection (log-normal, the median by severity below).
                exp(ln(300) + 1.0 * pg_temp.z(g, 4)) AS ttd,
                exp(0.9 * pg_temp.z(g, 5)) AS tta_factor,
                exp(1.0 * pg_temp.z(g, 6)) AS ttr_factor,
                pg_temp.u(g, 7) < 0.015 AS drill,
                pg_temp.u(g, 8) AS r_open,
                pg_temp.u(g, 9) < 0.02 AS never_acknowledged,
                pg_temp.u(g, 10) < 0.15 AS never_mitigated,
                pg_temp.u(g, 11) AS r_reopen,
                pg_temp.u(g, 12) AS r_status,
                pg_temp.u(g, 13) AS r_cause,
                pg_temp.u(g, 14) AS r_mitigate,
                pg_temp.u(g, 15) AS r_private
            FROM generate_series(1, %(incidents)s) g
            WHERE (g %% %(stride)s = 0) = %(small)s
        ),
        shaped AS (
            SELECT src.*,
                CASE WHEN r_severity < 0.05 THEN 1 WHEN r_severity < 0.25 THEN 2
                     WHEN r_severity < 0.65 THEN 3 ELSE 4 END AS rank,
                (started_at > %(end)s::timestamptz - interval '3 days' AND r_open < 0.5)
                    OR r_open < 0.002 AS open,
                floor(extract(epoch FROM started_at) / 604800)::int AS week
            FROM src
        ),
        timed AS (
            SELECT shaped.*,
                started_at + make_interval(secs => ttd) AS detected_at,
                tta_factor * (ARRAY[150, 240, 1800, 7200])[rank] AS tta,
                greatest(ttr_factor * (ARRAY[4500, 9000, 21600, 172800])[rank],
                         tta_factor * (ARRAY[150, 240, 1800, 7200])[rank] + 60) AS ttr,
                CASE WHEN NOT open THEN 'resolved'
                     ELSE (ARRAY['detected', 'acknowledged', 'investigating', 'identified',
                                 'monitoring'])[1 + floor(r_status * 5)::int] END AS status,
                CASE WHEN r_reopen < 0.02 THEN 1 WHEN r_reopen < 0.03 THEN 2 ELSE 0 END
                    AS reopens
            FROM shaped
        )
        INSERT INTO incidents_incident (number, title, summary, severity_id, status, team_id,
            labels, source, private, cause_category, resolution, declared_by_id, commander_id,
            started_at, detected_at, declared_at, acknowledged_at, identified_at, mitigated_at,
            resolved_at, last_resolved_at, reopen_count, drill, updated_at)
        SELECT g,
            (%(titles)s::text[])[1 + (g * 7) %% cardinality(%(titles)s::text[])]
                || ' on service ' || service,
            'Customers see errors; the team is looking into it.',
            sev.ids[rank],
            status,
            svc.teams[service],
            '{}'::jsonb,
            CASE WHEN rank <= 2 THEN 'alertmanager' WHEN g %% 3 = 0 THEN 'slack' ELSE 'web' END,
            r_private < 0.03,
            CASE WHEN r_cause < 0.2 THEN ''
                 ELSE (%(causes)s::text[])[1 + floor(power((r_cause - 0.2) / 0.8, 1.6)
                                                   * cardinality(%(causes)s::text[]))::int]
                 END,
            CASE WHEN status = 'resolved' THEN 'Rolled back and watched the error rate.'
                 ELSE '' END,
            r.user_id,
            -- One incident in ten hands command over to the next on the rota (the timeline
            -- below says when); the incident names the last commander.
            CASE WHEN status = 'resolved' AND pg_temp.u(g, 19) < 0.1 THEN r2.user_id
                 ELSE r.user_id END,
            started_at,
            detected_at,
            detected_at + make_interval(secs => 180 * r_status),
            CASE WHEN status = 'detected' OR (status = 'resolved' AND never_acknowledged)
                 THEN NULL ELSE detected_at + make_interval(secs => tta) END,
            CASE WHEN status IN ('identified', 'monitoring')
                   OR (status = 'resolved' AND NOT never_acknowledged)
                 THEN detected_at + make_interval(secs => tta + (ttr - tta) * 0.2) END,
            CASE WHEN status = 'monitoring' OR (status = 'resolved' AND NOT never_mitigated)
                 THEN detected_at + make_interval(secs => tta + (ttr - tta)
                                                          * (0.3 + 0.6 * r_mitigate)) END,
            CASE WHEN status = 'resolved' THEN detected_at + make_interval(secs => ttr) END,
            CASE WHEN status = 'resolved'
                 THEN detected_at + make_interval(secs => ttr)
                      + reopens * make_interval(hours => 1 + floor(20 * r_mitigate)::int) END,
            CASE WHEN status = 'resolved' THEN reopens ELSE 0 END,
            drill,
            CASE WHEN status = 'resolved' THEN detected_at + make_interval(secs => ttr)
                 ELSE detected_at END
        FROM timed, sev, svc, roster r, roster r2
        WHERE r.team_id = svc.teams[service] AND r.pos = week %% %(members)s
          AND r2.team_id = r.team_id AND r2.pos = (week + 2) %% %(members)s
        """,
        params,
    )
    # Each statement below works on the phase's incidents only (the number's test).
    run_sql(
        "merged duplicates",
        """
        UPDATE incidents_incident i SET merged_into_id = p.id
        FROM incidents_incident p
        WHERE (i.number %% %(stride)s = 0) = %(small)s
          AND pg_temp.u(i.number, 18) < 0.005 AND i.status = 'resolved'
          AND p.number = i.number - %(stride)s
        """,
        params,
    )
    run_sql(
        "incident services",
        """
        INSERT INTO incidents_incident_services (incident_id, service_id)
        SELECT i.id, svc.ids[s.service]
        FROM incidents_incident i,
             (SELECT array_agg(id ORDER BY id) AS ids FROM incidents_service) svc,
             LATERAL (SELECT 1 + floor(%(services)s * power(pg_temp.u(i.number, 3), 2))::int
                      AS service) s0,
             -- One incident in five touches a second service too.
             LATERAL (SELECT s0.service
                      UNION ALL
                      SELECT 1 + (s0.service + floor(pg_temp.u(i.number, 16) * 5)::int)
                                 %% %(services)s
                      WHERE pg_temp.u(i.number, 17) < 0.2) s(service)
        WHERE (i.number %% %(stride)s = 0) = %(small)s
        """,
        params,
    )
    run_sql(
        "commander roles",
        """
        INSERT INTO incidents_roleassignment (incident_id, role, user_id, assigned_at,
            assigned_by_id)
        SELECT i.id, 'commander', i.commander_id,
            CASE WHEN i.commander_id = i.declared_by_id
                 THEN coalesce(i.acknowledged_at, i.declared_at)
                 ELSE coalesce(i.acknowledged_at, i.declared_at)
                      + (i.resolved_at - coalesce(i.acknowledged_at, i.declared_at)) / 2 END,
            i.declared_by_id
        FROM incidents_incident i
        WHERE (i.number %% %(stride)s = 0) = %(small)s
        """,
        params,
    )
    run_sql(
        "timeline",
        """
        INSERT INTO incidents_timelineevent (incident_id, kind, occurred_at, actor_id, source,
            message, data, highlighted)
        SELECT i.id, e.kind, e.at, e.actor,
            CASE WHEN e.kind = 'page' THEN 'system' ELSE 'web' END, e.message, e.data, false
        FROM incidents_incident i
        JOIN incidents_severity s ON s.id = i.severity_id
        JOIN accounts_user d ON d.id = i.declared_by_id
        JOIN accounts_user c ON c.id = i.commander_id,
        LATERAL (SELECT 'User ' || d.last_name AS declarer, 'User ' || c.last_name AS commander,
                        coalesce(i.acknowledged_at, i.declared_at) AS took_command) w,
        LATERAL (VALUES
            ('declared', i.declared_at, d.id,
             w.declarer || ' declared INC-' || i.number || ' as ' || s.name || ': ' || i.title,
             jsonb_build_object('severity', s.name, 'private', i.private)),
            ('page', CASE WHEN s.paging IN ('oncall', 'oncall_and_management')
                          THEN i.declared_at END, NULL::bigint,
             'Paged ' || w.declarer || ' (level 1)',
             jsonb_build_object('users', jsonb_build_array(d.username), 'label', 'level 1')),
            ('role_assigned', w.took_command, d.id, w.declarer || ' assumed command',
             jsonb_build_object('role', 'commander', 'user', d.username)),
            ('acknowledged', i.acknowledged_at, d.id, w.declarer || ' acknowledged',
             jsonb_build_object('from', 'detected', 'to', 'acknowledged')),
            ('note', i.declared_at + interval '10 minutes', d.id,
             'Checked the dashboards; rolling back the last deploy to rule it out.',
             '{}'::jsonb),
            ('status_changed', i.identified_at, d.id, w.declarer || ' moved it to Identified',
             jsonb_build_object('from', 'investigating', 'to', 'identified')),
            -- The handover: the incident's commander is not the person who took command.
            ('role_assigned', CASE WHEN i.commander_id <> i.declared_by_id
                                   THEN w.took_command + (i.resolved_at - w.took_command) / 2
                              END, d.id,
             w.declarer || ' made ' || w.commander || ' incident commander',
             jsonb_build_object('role', 'commander', 'user', c.username)),
            ('status_changed', i.mitigated_at, c.id, w.commander || ' moved it to Monitoring',
             jsonb_build_object('from', 'identified', 'to', 'monitoring')),
            ('resolved', i.resolved_at, c.id, w.commander || ' resolved INC-' || i.number,
             jsonb_build_object('from', 'monitoring', 'to', 'resolved')),
            ('reopened', CASE WHEN i.reopen_count > 0 THEN i.resolved_at + interval '30 minutes'
                         END, c.id, w.commander || ' reopened INC-' || i.number,
             jsonb_build_object('from', 'resolved', 'to', 'investigating')),
            ('resolved', CASE WHEN i.reopen_count > 0 THEN i.last_resolved_at END, c.id,
             w.commander || ' resolved INC-' || i.number,
             jsonb_build_object('from', 'investigating', 'to', 'resolved'))
        ) e(kind, at, actor, message, data)
        WHERE (i.number %% %(stride)s = 0) = %(small)s AND e.at IS NOT NULL
        """,
        params,
    )
    run_sql(
        "pages",
        """
        WITH paged AS (
            SELECT i.id, i.team_id, i.declared_by_id, i.declared_at, i.acknowledged_at,
                s.paging = 'oncall_and_management' AS management,
                floor(extract(epoch FROM i.started_at) / 604800)::int AS week
            FROM incidents_incident i JOIN incidents_severity s ON s.id = i.severity_id
            WHERE (i.number %% %(stride)s = 0) = %(small)s
              AND s.paging IN ('oncall', 'oncall_and_management')
        ),
        steps AS (
            -- Level 1 is the on-call person (who declared it), level 2 the next on the rota when
            -- nobody acknowledged within five minutes; the manager at once for a SEV1. Each
            -- person by SMS at once and by voice five minutes later unless acknowledged.
            SELECT p.id, p.declared_at, p.acknowledged_at, 0 AS level, c.user_id, c.sms,
                c.voice, 0 AS delay
            FROM paged p JOIN roster c ON c.user_id = p.declared_by_id
            UNION ALL
            SELECT p.id, p.declared_at, p.acknowledged_at, 1, r.user_id, r.sms, r.voice, 300
            FROM paged p JOIN roster r
                ON r.team_id = p.team_id AND r.pos = (p.week + 1) %% %(members)s
            WHERE p.acknowledged_at IS NULL
               OR p.acknowledged_at > p.declared_at + interval '5 minutes'
            UNION ALL
            SELECT p.id, p.declared_at, p.acknowledged_at, 9, l.user_id, l.sms, NULL, 0
            FROM paged p JOIN leads l ON l.team_id = p.team_id
            WHERE p.management
        ),
        rows AS (
            SELECT st.*, m.method, m.after,
                st.declared_at + make_interval(secs => st.delay + m.after) AS due_at,
                m.after = 0 OR st.acknowledged_at IS NULL
                    OR st.acknowledged_at > st.declared_at
                                            + make_interval(secs => st.delay + m.after) AS sent
            FROM steps st,
                 LATERAL (VALUES (st.sms, 0), (st.voice, 300)) m(method, after)
            WHERE m.method IS NOT NULL
        )
        INSERT INTO oncall_notification (key, kind, incident_id, user_id, contact_method_id,
            level_index, label, body, state, due_at, queued_at, claimed_at, sent_at, attempts,
            provider_id, last_error, created_at)
        SELECT 'bench:' || id || ':l' || level || ':u' || user_id || ':m' || method
                || ':d' || after,
            'page', id, user_id, method, CASE WHEN level = 9 THEN NULL ELSE level END,
            CASE WHEN level = 9 THEN 'management' ELSE 'level ' || (level + 1) END,
            '',
            CASE WHEN sent THEN 'sent' ELSE 'cancelled' END,
            due_at,
            CASE WHEN sent THEN due_at END,
            CASE WHEN sent THEN due_at + interval '1 second' END,
            CASE WHEN sent THEN due_at + interval '2 seconds' END,
            CASE WHEN sent THEN 1 ELSE 0 END,
            '', '', declared_at + make_interval(secs => delay)
        FROM rows
        """,
        params,
    )
    run_sql(
        "postmortems, contributing factors, action items",
        """
        INSERT INTO postmortems_postmortem (incident_id, status, title, sections, revision,
            no_action_reason, created_at, updated_at, refreshed_at, details_revision,
            review_requested_at, published_at, published_by_id)
        SELECT i.id,
            CASE WHEN pg_temp.u(i.number, 20) < 0.7 THEN 'published'
                 WHEN pg_temp.u(i.number, 20) < 0.9 THEN 'in_review' ELSE 'draft' END,
            'Postmortem: ' || i.title, '[]'::jsonb, 3, '',
            i.resolved_at + interval '1 hour', i.resolved_at + interval '3 days',
            i.resolved_at + interval '1 hour', 1,
            CASE WHEN pg_temp.u(i.number, 20) < 0.9 THEN i.resolved_at + interval '2 days' END,
            CASE WHEN pg_temp.u(i.number, 20) < 0.7 THEN i.resolved_at + interval '3 days' END,
            CASE WHEN pg_temp.u(i.number, 20) < 0.7 THEN i.commander_id END
        FROM incidents_incident i JOIN incidents_severity s ON s.id = i.severity_id
        WHERE (i.number %% %(stride)s = 0) = %(small)s AND i.status = 'resolved' AND NOT i.drill
          AND (s.rank = 1 OR (s.rank = 2 AND pg_temp.u(i.number, 21) < 0.6));

        INSERT INTO postmortems_postmortem_contributing_factors (postmortem_id,
            contributingfactor_id)
        SELECT p.id, f.id
        FROM postmortems_postmortem p JOIN incidents_incident i ON i.id = p.incident_id
        JOIN postmortems_contributingfactor f
            ON f.slug = coalesce(%(factors)s::jsonb ->> i.cause_category, 'process')
        WHERE (i.number %% %(stride)s = 0) = %(small)s
        UNION
        SELECT p.id, f.id
        FROM postmortems_postmortem p JOIN incidents_incident i ON i.id = p.incident_id
        JOIN postmortems_contributingfactor f ON f.slug = 'monitoring-gap'
        WHERE (i.number %% %(stride)s = 0) = %(small)s AND pg_temp.u(i.number, 22) < 0.4;

        INSERT INTO postmortems_actionitem (incident_id, title, description, owner_id, team_id,
            due_date, priority, kind, status, wont_do_reason, success_criteria, ticket_url,
            created_by_id, created_at, updated_at, closed_at)
        SELECT i.id, (ARRAY['Alert on connection pool saturation',
                            'Add a canary stage to the release pipeline',
                            'Write the rollback runbook for this service'])[n],
            '', i.commander_id, i.team_id,
            ((p.created_at AT TIME ZONE %(zone)s)
                + make_interval(days => CASE WHEN s.rank = 1 THEN 14 ELSE 30 END))::date,
            'p' || (n + 1), (ARRAY['detect', 'prevent', 'process'])[n],
            a.status,
            CASE WHEN a.status = 'wont_do' THEN 'Superseded by the platform migration.'
                 ELSE '' END,
            '', '', i.commander_id, p.created_at,
            p.created_at + interval '10 days',
            CASE WHEN a.status IN ('done', 'wont_do') THEN p.created_at + interval '10 days' END
        FROM postmortems_postmortem p
        JOIN incidents_incident i ON i.id = p.incident_id
        JOIN incidents_severity s ON s.id = i.severity_id,
        generate_series(1, 3) n,
        LATERAL (SELECT CASE WHEN pg_temp.u(i.number, 30 + n) < 0.6 THEN 'done'
                             WHEN pg_temp.u(i.number, 30 + n) < 0.7 THEN 'wont_do'
                             WHEN pg_temp.u(i.number, 30 + n) < 0.85 THEN 'in_progress'
                             ELSE 'open' END AS status) a
        WHERE (i.number %% %(stride)s = 0) = %(small)s AND (n < 3 OR s.rank = 1)
        """,
        {**params, "factors": json.dumps(CAUSES), "zone": spec.zone},
    )
    run_sql(
        "incident counter",
        "UPDATE incidents_incidentcounter SET last_number = %(incidents)s",
        params,
    )
