"""The postmortem page: the document section by section, editing in place (htmx and plain
forms), the preview with blameless suggestions, refresh, export and what it costs."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from incidents.services import incident_add_note, incident_resolve
from postmortems import document
from postmortems.models import Postmortem, PostmortemStatus, PostmortemTemplate
from postmortems.services.postmortems import (
    SECTION_MAX_CHARS,
    postmortem_create,
    postmortem_markdown,
)
from tests.factories import declare, severity
from tests.postmortems.document_support import body, drafted, write

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, postmortem: Postmortem, *args: object) -> str:
    return reverse(f"postmortems:{name}", args=[postmortem.incident.number, *args])


def page(client: Client, postmortem: Postmortem, query: str = "") -> str:
    response = client.get(url("detail", postmortem) + query)
    assert response.status_code == 200
    return response.content.decode()


def section_html(content: str, key: str) -> str:
    match = re.search(rf'<section [^>]*id="section-{key}".*?</section>', content, re.DOTALL)
    assert match, f"no section {key}"
    return match.group()


def save(client: Client, postmortem: Postmortem, key: str, text: str, revision: int, **extra):
    return client.post(
        url("section", postmortem, key), {"body": text, "revision": revision, **extra}, **extra
    )


@pytest.fixture
def postmortem(commander) -> Postmortem:
    return drafted(commander, title="Checkout is failing")


def test_the_page_shows_the_document_section_by_section(client, commander, postmortem):
    client.force_login(commander)

    content = page(client, postmortem)

    assert '<h1 id="postmortem-title">Postmortem: INC-1 - Checkout is failing</h1>' in content
    assert '<span class="pm-status pm-status--draft" id="postmortem-status">Draft</span>' in content
    headings = re.findall(r'<h2 id="heading-[^"]+">([^<]+)</h2>', content)
    assert headings == [s.heading for s in document.from_json(postmortem.sections)[1:]]
    figures = section_html(content, "key-figures")
    assert "<th>Figure</th>" in figures  # the Markdown table, rendered
    assert "From the incident" in figures
    assert "pm-edit" not in figures
    summary = section_html(content, "executive-summary")
    assert "<p>Checkout returned 500s for EU customers.</p>" in summary
    assert 'id="edit-executive-summary"' in summary


def test_the_header_shows_one_fact_per_line_from_the_incident(client, commander, postmortem):
    client.force_login(commander)

    content = page(client, postmortem)

    header = content[content.index('id="section-header"') : content.index("</div>\n  </div>")]
    assert "From the incident" in header
    # The default template writes the header as a list, one fact per item.
    assert "<li><strong>Date:</strong>" in header
    assert "<li><strong>Authors:</strong>" in header


def test_required_sections_not_yet_written_are_marked(client, commander, postmortem):
    write(postmortem, commander, "root-cause", "The pool held 20 connections.")
    client.force_login(commander)

    content = page(client, postmortem)

    assert "Required · not written yet" in section_html(content, "lessons-learned")
    assert "Required · not written yet" not in section_html(content, "root-cause")
    assert '<a href="#section-lessons-learned">Lessons Learned</a>' in content
    assert '<a href="#section-root-cause">' not in content


def test_an_empty_section_shows_its_prompt(client, commander, postmortem):
    client.force_login(commander)

    lessons = section_html(page(client, postmortem), "lessons-learned")

    assert "What would you tell a team about to run the same system?" in lessons


def test_what_people_wrote_is_rendered_safely(client, commander, postmortem):
    write(postmortem, commander, "root-cause", "<script>alert(1)</script>[x](javascript:alert(1))")
    client.force_login(commander)

    root = section_html(page(client, postmortem), "root-cause")

    assert "<script" not in root
    assert "javascript:" not in root


def test_blameless_suggestions_are_shown_beside_the_section(client, commander, postmortem):
    write(postmortem, commander, "root-cause", "Cole deployed the config; human error.")
    client.force_login(commander)

    root = section_html(page(client, postmortem), "root-cause")

    assert "2 blameless suggestions" in root
    assert "<mark>Cole</mark>" in root
    assert "<mark>human error</mark>" in root


def test_a_viewer_reads_without_edit_controls(client, viewer, postmortem):
    client.force_login(viewer)

    content = page(client, postmortem)

    assert "pm-edit" not in content
    assert "Refresh from incident" not in content
    assert "Download Markdown" in content


def test_a_published_postmortem_has_no_edit_controls_and_refuses_saves(
    client, commander, postmortem
):
    Postmortem.objects.filter(pk=postmortem.pk).update(status=PostmortemStatus.PUBLISHED)
    client.force_login(commander)

    content = page(client, postmortem)
    editor = client.get(url("section-edit", postmortem, "root-cause"), **HTMX)
    refused = save(client, postmortem, "root-cause", "Late words.", 0, **HTMX)

    assert "pm-edit" not in content
    assert "Refresh from incident" not in content
    assert "read-only" in content
    assert "<textarea" not in editor.content.decode()
    assert refused.status_code == 409
    assert "read-only" in refused.content.decode()
    assert "Late words." in refused.content.decode()
    assert body(postmortem, "root-cause") == "### Contributing Factors"


def test_the_page_is_hidden_from_those_who_cannot_see_the_incident(client, commander, outsider):
    postmortem = drafted(commander, private=True)
    client.force_login(outsider)

    for response in (
        client.get(url("detail", postmortem)),
        client.get(url("markdown", postmortem)),
        client.get(url("section-edit", postmortem, "root-cause"), **HTMX),
        save(client, postmortem, "root-cause", "x", 0, **HTMX),
        client.post(url("preview", postmortem), {"body": "x"}, **HTMX),
        client.post(url("refresh", postmortem)),
    ):
        assert response.status_code == 404
    assert postmortem.revisions.count() == 1


def test_without_a_postmortem_a_responder_may_start_one(client, commander):
    incident = declare(commander, severity=severity("SEV3"))
    incident_resolve(incident=incident, actor=commander, resolution="Fixed.")
    client.force_login(commander)
    address = reverse("postmortems:detail", args=[incident.number])

    content = client.get(address).content.decode()
    started = client.post(reverse("postmortems:start", args=[incident.number]))

    assert "This incident has no postmortem." in content
    assert 'id="postmortem-start"' in content
    assert started.status_code == 302
    assert started["Location"] == address
    assert Postmortem.objects.get(incident=incident).revisions.get().author == commander


def test_a_viewer_is_told_there_is_none_without_a_button(client, commander, viewer):
    incident = declare(commander, severity=severity("SEV3"))
    incident_resolve(incident=incident, actor=commander, resolution="Fixed.")
    client.force_login(viewer)

    content = client.get(reverse("postmortems:detail", args=[incident.number])).content.decode()

    assert "This incident has no postmortem." in content
    assert "postmortem-start" not in content


def test_an_open_incident_cannot_start_one_yet(client, commander):
    incident = declare(commander)
    client.force_login(commander)

    content = client.get(reverse("postmortems:detail", args=[incident.number])).content.decode()
    refused = client.post(reverse("postmortems:start", args=[incident.number]), follow=True)

    assert "once the incident is resolved" in content
    assert "postmortem-start" not in content
    assert "is not resolved yet" in refused.content.decode()
    assert not Postmortem.objects.filter(incident=incident).exists()


def test_edit_swaps_in_an_editor_with_the_prompt_and_the_revision(client, commander, postmortem):
    write(postmortem, commander, "lessons-learned", "Draft lesson.")
    client.force_login(commander)

    editor = client.get(url("section-edit", postmortem, "lessons-learned"), **HTMX)

    content = editor.content.decode()
    assert content.lstrip().startswith('<section class="pm-section pm-section--editing"')
    assert '<label for="edit-lessons-learned-body">Text of Lessons Learned</label>' in content
    assert 'placeholder="What would you tell a team about to run the same system?"' in content
    assert ">Draft lesson.</textarea>" in content
    assert 'name="revision" value="1"' in content
    assert "Blameless principles" in content
    assert "Focus on what systems allowed the problem" in content
    assert 'hx-trigger="input changed delay:500ms"' in content


def test_saving_swaps_the_section_back_with_the_new_text(client, commander, postmortem):
    client.force_login(commander)

    response = save(client, postmortem, "root-cause", "The pool **held** 20.", 0, **HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<section class="pm-section"')
    assert "<p>The pool <strong>held</strong> 20.</p>" in content
    assert "data-focus-state" in content
    assert body(postmortem, "root-cause") == "The pool **held** 20."
    assert postmortem.revisions.first().author == commander


def test_a_stale_save_keeps_the_persons_text_shows_theirs_and_allows_a_deliberate_retry(
    client, commander, responder, postmortem
):
    write(postmortem, commander, "root-cause", "Cole's version.")
    client.force_login(responder)

    refused = save(client, postmortem, "root-cause", "Rosa's version.", 0, **HTMX)

    content = refused.content.decode()
    assert refused.status_code == 409
    assert "changed by Cole Commander since you opened it" in content
    assert ">Rosa&#x27;s version.</textarea>" in content
    assert "Their version, as saved now" in content
    assert "<p>Cole&#x27;s version.</p>" in content or "<p>Cole's version.</p>" in content
    assert 'name="revision" value="1"' in content
    assert body(postmortem, "root-cause") == "Cole's version."

    retried = save(client, postmortem, "root-cause", "Rosa's version.", 1, **HTMX)

    assert retried.status_code == 200
    assert body(postmortem, "root-cause") == "Rosa's version."


def test_a_save_too_long_comes_back_with_the_error_and_the_text(client, commander, postmortem):
    client.force_login(commander)
    text = "y" * (SECTION_MAX_CHARS + 1)

    response = save(client, postmortem, "root-cause", text, 0, **HTMX)

    content = response.content.decode()
    assert response.status_code == 400
    assert 'aria-invalid="true"' in content
    assert f">{text}</textarea>" in content
    assert postmortem.revisions.count() == 1


def test_cancel_swaps_the_section_back_unchanged(client, commander, postmortem):
    client.force_login(commander)

    response = client.get(url("section", postmortem, "root-cause"), **HTMX)

    content = response.content.decode()
    assert '<section class="pm-section' in content
    assert "<textarea" not in content
    assert 'id="edit-root-cause"' in content
    assert "autofocus" in content


def test_without_javascript_edit_preview_and_save_work_as_plain_pages(
    client, commander, postmortem
):
    client.force_login(commander)

    link = client.get(url("section-edit", postmortem, "root-cause"))
    opened = page(client, postmortem, "?edit=root-cause")
    previewed = save(client, postmortem, "root-cause", "Draft **words**.", 0, preview="1")
    saved = save(client, postmortem, "root-cause", "Final words.", 0)

    assert link.status_code == 302
    assert link["Location"].endswith("?edit=root-cause#section-root-cause")
    assert "<textarea" in section_html(opened, "root-cause")
    assert "<textarea" not in section_html(opened, "lessons-learned")
    preview = previewed.content.decode()
    assert "<html" in preview
    assert "<p>Draft <strong>words</strong>.</p>" in preview
    assert ">Draft **words**.</textarea>" in preview
    assert saved.status_code == 302
    assert saved["Location"].endswith("#section-root-cause")
    assert body(postmortem, "root-cause") == "Final words."
    assert postmortem.revisions.count() == 2


def test_the_preview_renders_safely_lints_and_writes_nothing(client, commander, postmortem):
    client.force_login(commander)

    response = client.post(
        url("preview", postmortem),
        {"body": "Cole restarted it <img src=x onerror=alert(1)> | a |", "key": "root-cause"},
        **HTMX,
    )

    content = response.content.decode()
    assert "onerror" not in content
    assert "<mark>Cole</mark>" in content
    assert 'id="findings-count-root-cause" hx-swap-oob="innerHTML">1 blameless suggestion<' in (
        content
    )
    assert postmortem.revisions.count() == 1


def test_refresh_from_the_page_brings_the_incident_in_and_keeps_the_words(
    client, commander, postmortem
):
    write(postmortem, commander, "root-cause", "Our words.")
    incident_add_note(incident=postmortem.incident, actor=commander, text="Late finding")
    client.force_login(commander)

    response = client.post(url("refresh", postmortem), follow=True)

    content = response.content.decode()
    assert "Everything your team wrote is as it was." in content
    assert "Late finding" in section_html(content, "timeline")
    assert "<p>Our words.</p>" in section_html(content, "root-cause")


def test_the_markdown_downloads_as_a_file(client, viewer, postmortem):
    client.force_login(viewer)

    response = client.get(url("markdown", postmortem))

    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="INC-1-postmortem.md"'
    assert response.content.decode() == postmortem_markdown(postmortem)
    assert response.content.decode().startswith("# Postmortem: INC-1 - Checkout is failing\n")


def test_printing_keeps_the_document_and_drops_the_controls(client, commander, postmortem):
    client.force_login(commander)

    content = page(client, postmortem)
    path = finders.find("postmortems/postmortem.css")
    with open(path, encoding="utf-8") as stylesheet:
        css = stylesheet.read()

    assert '<link rel="stylesheet" href="/static/postmortems/postmortem.css">' in content
    printed = css[css.index("@media print {") :]
    hidden = printed[: printed.index("display: none")]
    for selector in (".site-header", ".pm-tools", ".pm-refresh", ".pm-edit", ".pm-panel"):
        assert selector in hidden
        assert f'class="{selector[1:]}' in content or f" {selector[1:]}" in content
    assert ".pm-doc" not in hidden


def _many_sections_template() -> PostmortemTemplate:
    sections = "".join(f"## Part {n}\n<!-- required -->\nText {n}.\n\n" for n in range(40))
    return PostmortemTemplate.objects.create(name="Long", body=f"# Long one\nhead\n\n{sections}")


def test_the_page_costs_the_same_however_many_sections_and_revisions(
    client, commander, django_assert_max_num_queries
):
    short = drafted(commander)
    incident = declare(commander)
    incident_resolve(incident=incident, actor=commander, resolution="Fixed.")
    long = postmortem_create(incident=incident, actor=commander, template=_many_sections_template())
    for index in range(25):
        write(long, commander, f"part-{index}", f"Cole deployed version {index}; human error.")
    client.force_login(commander)
    short_url, long_url = url("detail", short), url("detail", long)

    # Eight today (session, user, incident with services and roles, postmortem, the people's
    # names, the latest revision); the panels other parts of the app add bring their own.
    with django_assert_max_num_queries(20) as few:
        client.get(short_url)
    with django_assert_max_num_queries(len(few.captured_queries)):
        content = client.get(long_url).content.decode()

    assert content.count('id="edit-part-') == 40
    assert content.count("2 blameless suggestions") == 25
