"""Markdown is rendered for people and nothing in it can run (postmortems/markdown.py)."""

import re

import pytest

from postmortems.markdown import markdown_to_html

# Each case must come out harmless, however it is spelled.
XSS_CASES = {
    "script element": "<script>alert(1)</script>",
    "script in a paragraph": "Before <script>alert(1)</script> after",
    "img onerror": '<img src="x" onerror="alert(1)">',
    "img onerror unquoted": "<img src=x onerror=alert(1)>",
    "raw javascript href": '<a href="javascript:alert(1)">x</a>',
    "markdown javascript link": "[x](javascript:alert(1))",
    "mixed case scheme": "[x](JaVaScRiPt:alert(1))",
    "leading space in href": "<a href='  javascript:alert(1)'>x</a>",
    "vbscript link": "[x](vbscript:msgbox(1))",
    "data url link": "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "data url image": "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "data url raw image": '<img src="data:image/svg+xml,<svg onload=alert(1)>">',
    "svg onload": "<svg onload=alert(1)><circle r=1 /></svg>",
    "svg script": "<svg><script>alert(1)</script></svg>",
    "iframe": '<iframe src="https://evil.example/"></iframe>',
    "iframe srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "style element": "<style>body { display: none }</style>",
    "object": '<object data="https://evil.example/x.swf"></object>',
    "embed": '<embed src="https://evil.example/x.swf">',
    "form": '<form action="https://evil.example/"><input name="password"></form>',
    "style attribute": '<p style="position:fixed;inset:0">cover</p>',
    "event attribute": '<p onclick="alert(1)" onmouseover="alert(1)">hover</p>',
    "event attribute on allowed link": '<a href="https://ok.example/" onfocus="alert(1)">x</a>',
    "decimal entities": "[x](&#106;avascript:alert(1))",
    "hex entities": "[x](&#x6A;avascript&#x3A;alert(1))",
    "padded entities": '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114'
    '&#0000105&#0000112&#0000116&#0000058alert(1)">x</a>',
    "named colon entity": "[x](javascript&colon;alert(1))",
    "tab inside scheme": "[x](java&#9;script:alert(1))",
    "newline inside scheme": "<a href='java&#10;script:alert(1)'>x</a>",
    "reference link": "[x][evil]\n\n[evil]: javascript:alert(1)",
    "reference link with title": '[x][evil]\n\n[evil]: javascript:alert(1) "title"',
    "autolink": "<javascript:alert(1)>",
    "angle bracket link": "[x](<javascript:alert(1)>)",
    "meta refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "base href": '<base href="javascript:alert(1)//">',
    "math xlink": '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "class borrowing the page's styles": '<code class="button button--danger">x</code>',
}

# What would run, or restyle the page, if it survived.
DANGEROUS = re.compile(
    r"<\s*(script|style|iframe|object|embed|svg|math|form|input|meta|base|link)\b"
    r"|\son\w+\s*="
    r"|\sstyle\s*="
    r"|(?:href|src)\s*=\s*[\"']?\s*(?:javascript|vbscript|data):"
    r"|class=\"[^\"]*button",
    re.IGNORECASE,
)


@pytest.mark.parametrize("source", XSS_CASES.values(), ids=XSS_CASES.keys())
def test_nothing_that_could_run_survives(source):
    html = markdown_to_html(source)

    assert not DANGEROUS.search(html), html


@pytest.mark.parametrize(
    "source",
    ["[x](javascript:alert(1))", '<a href="javascript:alert(1)">x</a>', "[x](&#106;avascript:1)"],
)
def test_a_link_to_javascript_keeps_its_text_and_loses_its_target(source):
    assert markdown_to_html(source) == '<p><a rel="noopener noreferrer nofollow">x</a></p>'


def test_script_and_style_go_with_their_content():
    html = markdown_to_html("Before <script>steal()</script><style>p{}</style> after")

    assert "steal" not in html
    assert "p{}" not in html
    assert "Before" in html and "after" in html


def test_links_that_are_fine_stay_and_carry_rel():
    html = markdown_to_html("[runbook](https://wiki.example/rb) <https://grafana.example/d/1>")

    assert (
        '<a href="https://wiki.example/rb" rel="noopener noreferrer nofollow">runbook</a>' in html
    )
    assert '<a href="https://grafana.example/d/1" rel="noopener noreferrer nofollow">' in html


def test_tables_render():
    html = markdown_to_html("| Time | Event |\n|---|---|\n| 14:02 | Impact began |")

    assert "<table>" in html
    assert "<th>Time</th>" in html
    assert "<td>Impact began</td>" in html


def test_fenced_code_renders_escaped_with_its_language():
    html = markdown_to_html("```python\nif a < b:\n    print('<script>')\n```")

    assert '<pre><code class="language-python">' in html
    assert "if a &lt; b:" in html
    assert "&lt;script&gt;" in html


def test_lists_render():
    html = markdown_to_html("- one\n- two\n\n1. first\n2. second")

    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert "<ol>\n<li>first</li>\n<li>second</li>\n</ol>" in html


def test_inline_code_and_emphasis_render():
    html = markdown_to_html("**bold** _em_ `<b>code</b>`")

    assert "<strong>bold</strong>" in html
    assert "<em>em</em>" in html
    assert "<code>&lt;b&gt;code&lt;/b&gt;</code>" in html


def test_comments_are_dropped():
    assert "secret" not in markdown_to_html("a <!-- secret --> b")


def test_hard_breaks_keep_one_fact_per_line_and_stay_sanitized():
    text = "**Date:** 2026-03-01\n**Status:** Draft <script>x</script>"

    assert markdown_to_html(text) == (
        "<p><strong>Date:</strong> 2026-03-01\n<strong>Status:</strong> Draft </p>"
    )
    assert markdown_to_html(text, hard_breaks=True) == (
        "<p><strong>Date:</strong> 2026-03-01<br>\n<strong>Status:</strong> Draft </p>"
    )
