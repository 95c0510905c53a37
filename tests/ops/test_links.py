import pytest

from ops.templatetags.links import links

REL = 'rel="noopener noreferrer nofollow"'


def test_an_address_becomes_a_link_and_the_rest_stays_text():
    assert links("See https://status.example.com/x?a=1&b=2 now") == (
        'See <a href="https://status.example.com/x?a=1&amp;b=2" '
        f"{REL}>https://status.example.com/x?a=1&amp;b=2</a> now"
    )


def test_sentence_punctuation_after_an_address_is_not_part_of_it():
    assert links("Logs (at http://logs.example.com/q).") == (
        f'Logs (at <a href="http://logs.example.com/q" {REL}>http://logs.example.com/q</a>).'
    )


def test_balanced_parentheses_stay_in_the_address():
    url = "https://en.wikipedia.org/wiki/Foo_(bar)"
    assert links(url) == f'<a href="{url}" {REL}>{url}</a>'


@pytest.mark.parametrize(
    "hostile",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "<a href='javascript:alert(1)'>click</a>",
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
    ],
)
def test_nothing_but_http_addresses_is_linked_and_markup_is_escaped(hostile):
    out = links(hostile)

    assert "<a " not in out
    assert "<script" not in out and "<img" not in out


def test_quotes_cannot_break_out_of_the_href():
    out = links('https://x.example/"onmouseover="alert(1) and https://y.example/\'z')

    assert out.startswith(f'<a href="https://x.example/" {REL}>https://x.example/</a>&quot;')
    assert "onmouseover=&quot;" in out
    assert '<a href="https://y.example/" ' in out and "&#x27;z" in out


def test_an_address_hidden_after_a_javascript_scheme_links_only_the_http_part():
    out = links("javascript:alert(1)//http://evil.example")

    assert out.startswith('javascript:alert(1)//<a href="http://evil.example"')
    assert 'href="javascript' not in out


def test_a_bare_scheme_is_not_a_link():
    assert links("http:// and https://") == "http:// and https://"


def test_none_is_empty():
    assert links(None) == ""
