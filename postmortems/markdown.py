"""Markdown to HTML that is safe to show: rendered by Python-Markdown, then cleaned by nh3.

Postmortems are written by people and filled from alert text, so nothing that could run
survives: no script, style, iframe, object or svg elements, no event-handler or style
attributes, no `javascript:`, `vbscript:` or `data:` URLs however they are spelled (nh3 decodes
entities and the URL before it checks the scheme). Links open as they are written but carry
rel="noopener noreferrer nofollow". Sanitizing the HTML Markdown produced, not the Markdown,
is what makes this hold: raw HTML, reference links and autolinks all end up as HTML first.
"""

import re

import markdown as markdown_lib
import nh3

EXTENSIONS = ["tables", "fenced_code", "sane_lists"]

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "details", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "summary",
    "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "td": {"align"},
    "th": {"align"},
    "code": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto"}
# Elements dropped with everything inside them, not only their tags.
DROPPED_WITH_CONTENT = {"script", "style"}

# fenced_code marks a block's language as class="language-python"; a class written by hand
# could borrow the page's own styles (a fake button), so only that one survives.
_LANGUAGE_CLASS = re.compile(r"^language-[A-Za-z0-9_+#.-]{1,40}$")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "code" and attribute == "class":
        languages = [name for name in value.split() if _LANGUAGE_CLASS.match(name)]
        return languages[0] if languages else None
    return value


def markdown_to_html(text: str, *, hard_breaks: bool = False) -> str:
    """`hard_breaks`: a line break in the text is one on the page, for text written as lines
    (a header of "**Date:** …" lines) rather than as paragraphs."""
    extensions = [*EXTENSIONS, "nl2br"] if hard_breaks else EXTENSIONS
    html = markdown_lib.markdown(text, extensions=extensions, output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
