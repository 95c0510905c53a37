"""`links`: web addresses in people's text (notes, summaries, status updates) become links.

Only http(s) addresses are linked, so no javascript: or data: link can be written into a note;
the address and the text around it are escaped, and the link opens with no referrer, no opener
and no search-engine credit. Chain it before linebreaks/linebreaksbr, which leave its safe
output alone.
"""

import re

from django import template
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()

URL = re.compile(r"""\bhttps?://[^\s<>"'`]+""", re.IGNORECASE)
# Sentence punctuation after an address is the sentence's, not the address's.
TRAILING = ".,;:!?"


def _split_trailing(url: str) -> tuple[str, str]:
    end = len(url)
    while end and (
        url[end - 1] in TRAILING
        or (url[end - 1] == ")" and url.count("(", 0, end) < url.count(")", 0, end))
    ):
        end -= 1
    return url[:end], url[end:]


@register.filter(is_safe=True, needs_autoescape=False)
def links(text: object) -> SafeString:
    text = "" if text is None else str(text)
    parts: list[SafeString] = []
    last = 0
    for match in URL.finditer(text):
        url, trailing = _split_trailing(match[0])
        if "://" not in url or url.endswith("://"):
            continue
        parts.append(escape(text[last : match.start()]))
        parts.append(
            format_html('<a href="{}" rel="noopener noreferrer nofollow">{}</a>', url, url)
        )
        parts.append(escape(trailing))
        last = match.end()
    parts.append(escape(text[last:]))
    # Every part is escaped text or a built link.
    return format_html_join("", "{}", ((part,) for part in parts))
