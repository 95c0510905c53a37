# ruff: noqa: E501  (the template keeps its Markdown lines whole)
"""The template every install starts with: the playbook's postmortem sections, plus "where we
got lucky" from Google's SRE template. Admins edit their copy in the web UI.

It writes Markdown that reads as well raw (the download) as rendered (postmortems/markdown.py):
facts as lists and tables, never lines that only a renderer's line breaks would separate. Each
`## ` section carries the markers postmortems/document.py reads: `<!-- generated -->` sections
are rewritten from the incident on refresh, `<!-- required -->` ones need the team's words
before publishing, and `<!-- prompt: … -->` is the question the editor shows.

The timeline it is given is at most postmortems.context.TIMELINE_LIMIT entries (the key
moments and the incident's course first); it says how many more the incident page has.
"""

NAME = "Playbook postmortem"

BODY = """\
# Postmortem: {{ incident.ref }} - {{ incident.title }}

- **Date:** {{ incident.started_at.strftime('%Y-%m-%d') }}
- **Authors:** {{ postmortem.authors | join(', ') if postmortem.authors else (incident.commander.name if incident.commander else 'Unassigned') }}
- **Status:** {{ postmortem.status }}
- **Severity:** {{ incident.severity }} ({{ incident.severity_description }})
- **Incident:** [{{ incident.ref }}]({{ incident.url }}){{ ', ' ~ incident.team if incident.team }}
{% if roles %}
- **Responders:** {% for role in roles %}{{ role.name }} ({{ role.role | lower }}){{ ', ' if not loop.last }}{% endfor +%}
{% endif %}

## Executive Summary
<!-- required -->
<!-- prompt: One or two sentences: what happened, who was affected, how it ended. -->
{% if incident.summary %}
{{ incident.summary }}
{% endif %}
{% if incident.resolution %}

**Resolution:** {{ incident.resolution }}
{% endif %}

## Key Figures
<!-- generated -->
{{ narrative }}

| Figure | Value | Measured |
|---|---|---|
{% for figure in figure_list %}
| {{ figure.label }} | {{ figure.text }} | {{ figure.definition }} |
{% endfor %}

## Impact
<!-- required -->
<!-- prompt: Who and what was affected, and how badly. Fill in each line. -->
- **Duration:** {{ duration }}
- **Services affected:** {{ incident.services | join(', ') if incident.services else 'none recorded' }}
- **Users affected:**
- **Data loss:**
- **Revenue impact:**

## Timeline
<!-- generated -->
All times are UTC.{{ ' Highlighted entries and Slack pins come first.' if key_moments }}

{% if key_moments %}
### Key moments

{% for entry in key_moments %}
- **{{ entry.at_utc }}** {{ entry.message }} ({{ entry.actor }}{% if entry.permalink %}, [in Slack]({{ entry.permalink }}){% endif %})
{% endfor %}

### Full timeline

{% endif %}
| Time (UTC) | Event | By |
|---|---|---|
{% for entry in timeline %}
| {{ entry.at_utc }} | {{ entry.message | replace('|', '\\\\|') }} | {{ entry.actor }} |
{% endfor %}
{% if timeline_omitted %}

{{ timeline_omitted }} more {{ 'entry' if timeline_omitted == 1 else 'entries' }} ({{ timeline_omitted_kinds }}) {{ 'is' if timeline_omitted == 1 else 'are' }} on the incident page: <{{ incident.url }}>
{% endif %}

## Root Cause
<!-- required -->
<!-- prompt: What in the system allowed this to happen? Describe mechanisms, not people. -->

### Contributing Factors
<!-- prompt: Which conditions made it worse or more likely? Tag them below as well. -->

## Detection
<!-- prompt: Could it have been detected sooner? How? -->
{% if detection.alerts %}
- **Detected by:** an alert, {{ detection.first_alert }}{% if detection.alerts > 1 %}, and {{ detection.alerts - 1 }} more{% endif %} ({{ detection.source }})
{% else %}
- **Detected by:** a person, who declared it ({{ detection.source }})
{% endif %}
- **Time to detect:** {{ detection.time_to_detect }}
- **Could it have been detected sooner?**

## Response
<!-- required -->
<!-- prompt: Be specific: name what helped and what got in the way, not who. -->
### What went well

### What didn't go well

### Where we got lucky

## Action Items
<!-- generated -->
{% if action_items %}
| Action | Kind | Priority | Owner | Due | Status | Ticket |
|---|---|---|---|---|---|---|
{% for item in action_items %}
| {{ item.title | replace('|', '\\\\|') }} | {{ item.kind }} | {{ item.priority }} | {{ item.owner or 'Unassigned' }} | {{ item.due_date }} | {{ item.status }} | {% if item.ticket_url %}<{{ item.ticket_url }}>{% endif %} |
{% endfor %}
{% else %}
No action items yet: add them on the postmortem page.
{% endif %}

## Lessons Learned
<!-- required -->
<!-- prompt: What would you tell a team about to run the same system? -->

## Supporting Information
<!-- prompt: Dashboards, logs, architecture diagrams, related incidents. -->
{% for link in links %}
- [{{ link.label }}]({{ link.url }})
{% endfor %}
"""
