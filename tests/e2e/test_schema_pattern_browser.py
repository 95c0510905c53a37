"""The not-blank pattern in the API schema means in ECMAScript what it means to the API.

JSON Schema validators read `pattern` as an ECMAScript regex, and a client generated from our
schema checks text in a JavaScript engine. Chromium's is the one at hand.
"""

import sys

from tests.incidents.api_support import JsonClient

UNMATCHED_CODE_POINTS = """([pattern, flags]) => {
    const regex = new RegExp(pattern, flags);
    const unmatched = [];
    for (let c = 0; c <= 0x10ffff; c++) {
        if (c >= 0xd800 && c < 0xe000) continue;
        if (!regex.test(String.fromCodePoint(c))) unmatched.push(c);
    }
    return unmatched;
}"""


def test_a_javascript_client_refuses_as_blank_exactly_what_the_api_trims(db, context):
    schema = JsonClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    note_text = schema.json()["components"]["schemas"]["NoteCreate"]["properties"]["text"]
    page = context.new_page()
    # What DRF trims before its blank check is what str.strip() removes.
    trimmed = [c for c in range(sys.maxunicode + 1) if chr(c).isspace()]

    for flags in ("", "u"):
        unmatched = page.evaluate(UNMATCHED_CODE_POINTS, [note_text["pattern"], flags])
        assert unmatched == trimmed, flags
