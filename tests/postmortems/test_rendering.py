"""Postmortem templates run in a sandbox: they reach nothing but their context, name no file,
stop when they run away, and fail with a message and the template's line, never a 500."""

import time
from datetime import UTC, datetime

import pytest
from django.conf import settings

from postmortems import sandbox
from postmortems.rendering import MAX_OUTPUT, MAX_SOURCE, TemplateProblem, check_syntax, render
from postmortems.sandbox import MAX_ITERATIONS, TIME_LIMIT


def context():
    """Plain data shaped like postmortems.context's, built afresh for each render."""
    return {
        "incident": {"ref": "INC-7", "title": "Checkout is failing", "services": ["checkout"]},
        "timeline": [
            {"at": datetime(2026, 3, 1, 14, 2, tzinfo=UTC), "message": "Declared", "actor": "Cole"},
            {"at": datetime(2026, 3, 1, 14, 9, tzinfo=UTC), "message": "Acked", "actor": "Rosa"},
        ],
    }


def problem(source: str) -> TemplateProblem:
    with pytest.raises(TemplateProblem) as caught:
        render(source, context())
    return caught.value


def test_a_template_renders_its_context_with_loops_filters_and_macros():
    source = (
        "# {{ incident.ref }}: {{ incident.title | upper }}\n"
        "{% macro line(entry) %}- {{ entry.at.strftime('%H:%M') }} {{ entry.message }}"
        "{% endmacro %}\n"
        "{% for entry in timeline %}\n"
        "{{ line(entry) }} ({{ loop.index }}/{{ loop.length }})\n"
        "{% endfor %}\n"
        "{{ timeline | map(attribute='actor') | join(', ') }}; {{ '%-4s|' | format('x') }}"
        "{{ '{:>3}'.format(7) }}"
    )

    assert render(source, context()) == (
        "# INC-7: CHECKOUT IS FAILING\n- 14:02 Declared (1/2)\n- 14:09 Acked (2/2)\n"
        "Cole, Rosa; x   |  7"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ ''.__class__.__mro__ }}", "'__class__' of a str is out of a template's reach"),
        ("{{ incident.__class__ }}", "'__class__' of a dict is out of a template's reach"),
        (
            "{{ (timeline|first).at.__class__.__mro__ }}",
            "'__class__' of a datetime is out of a template's reach",
        ),
        ("{{ incident.__init__.__globals__ }}", "'__init__' of a dict is out of"),
        ("{{ cycler.__init__.__globals__ }}", "'__init__' of a type is out of"),
        ("{{ range.__self__ }}", "'__self__' of a function is out of"),
        ("{{ joiner.__call__ }}", "'__call__' of a type is out of"),
        ("{{ self._TemplateReference__context }}", "of a TemplateReference is out of"),
        ("{% for x in [1] %}{{ loop.__class__ }}{% endfor %}", "of a LoopContext is out of"),
        ("{{ ''|attr('__class__') }}", "'__class__' of a str is out of"),
        ("{{ timeline|map(attribute='__class__')|list }}", "'__class__' of a dict is out of"),
        ("{{ '{0.__class__}'.format(1) }}", "'__class__' of an int is out of"),
        ("{{ '{x.__class__}'.format_map({'x': 1}) }}", "'__class__' of an int is out of"),
        ('{{ "%s"|format(incident.__class__) }}', "'__class__' of a dict is out of"),
        ("{{ (5).to_bytes(4) }}", "'to_bytes' of an int is out of"),
        ("{{ 'x'.translate({}) }}", "'translate' of a str is out of"),
        ("{{ (timeline|first).at.now() }}", "'now' of a datetime is out of"),
        ("{{ timeline.append(1) }}", "'append' of a list is out of"),
        ("{{ incident.update({'ref': 1}) }}", "'update' of a dict is out of"),
    ],
)
def test_python_internals_are_out_of_reach(source, message):
    found = problem(source)

    assert message in found.message
    assert found.line == 1


@pytest.mark.parametrize(
    "source", ["{{ settings }}", "{{ settings.SECRET_KEY }}", "{{ lipsum.__globals__ }}"]
)
def test_names_outside_the_context_are_undefined_and_the_message_lists_those_inside(source):
    found = problem(source)

    name = source.split()[1].split(".")[0]
    assert found.message.startswith(f"'{name}' is undefined. A postmortem template can use:")
    assert "incident, timeline, range" in found.message
    assert settings.SECRET_KEY not in str(found)


def test_printing_a_value_holding_something_out_of_reach_fails_rather_than_prints_undefined():
    found = problem("{{ [incident.nope] }}")

    assert found.message == "'dict object' has no attribute 'nope'"


@pytest.mark.parametrize(
    "source",
    [
        '{% include "/etc/passwd" %}',
        "{% import 'x' as y %}",
        "{% from 'macros.html' import line %}",
        "{% extends 'base.html' %}",
        "{% include incident.ref %}",
    ],
)
def test_no_other_template_or_file_can_be_named(source):
    found = problem("Title\n\n" + source)

    assert found.message == (
        "Postmortem templates cannot include, import or extend other templates or files."
    )
    assert found.line == 3
    with pytest.raises(TemplateProblem):
        check_syntax(source)


def test_a_syntax_error_has_its_line():
    with pytest.raises(TemplateProblem) as caught:
        check_syntax("# Title\n\n## Impact\n{{ incident.ref }\n\n## Timeline\n")

    assert str(caught.value) == "Line 4: unexpected '}'"


def test_an_unclosed_block_is_reported_where_the_template_ends():
    with pytest.raises(TemplateProblem) as caught:
        check_syntax("# Title\n\n{% for entry in timeline %}\n{{ entry.message }}\n")

    assert caught.value.line == 4
    assert caught.value.message.startswith("Unexpected end of template.")


def test_an_unknown_tag_is_a_syntax_error_on_its_line():
    found = problem("a\n{% if %}\n")

    assert (found.line, found.message) == (
        2,
        "Expected an expression, got 'end of statement block'",
    )


def test_a_filter_postmortems_leave_out_is_refused_when_compiled():
    with pytest.raises(TemplateProblem) as caught:
        check_syntax("one\n{{ incident.title | urlize }}")

    assert (caught.value.line, caught.value.message) == (2, "No filter named 'urlize'.")


def test_a_runtime_error_has_the_line_it_happened_on():
    found = problem("# {{ incident.ref }}\n\n- one\n- {{ incident.nope }}\n")

    assert (found.line, found.message) == (4, "'dict object' has no attribute 'nope'")


def test_division_by_zero_is_a_message_with_its_line():
    found = problem("a\nb\n{{ timeline | length / 0 }}")

    assert str(found) == "Line 3: ZeroDivisionError: division by zero"


def test_a_macro_calling_itself_forever_is_stopped():
    found = problem("{% macro again() %}{{ again() }}{% endmacro %}\n{{ again() }}")

    assert "calls itself too deeply" in found.message


def test_nested_loops_that_would_run_for_hours_stop_at_the_loop_limit(monkeypatch):
    # The loop limit is what this case is about: under parallel test load its million turns
    # took longer than the two-second time limit, which the next test holds by itself. With
    # the clock out of the way, only the loop count can stop this in time.
    monkeypatch.setattr(sandbox, "TIME_LIMIT", 60.0)
    source = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"

    found = problem(source)

    assert found.message == (
        f"The template went round its loops more than {MAX_ITERATIONS:,} times and was "
        "stopped. Are there loops inside loops?"
    )
    assert found.line == 1


def test_a_loop_of_slow_steps_stops_at_the_time_limit():
    source = (
        "{% set s = 'ab' * 1000000 %}\n{% for a in range(100000) %}{{ s.count('ab') }}{% endfor %}"
    )
    started = time.monotonic()

    found = problem(source)

    elapsed = time.monotonic() - started
    assert TIME_LIMIT <= elapsed < TIME_LIMIT + 1
    assert found.message.startswith(f"The template ran for more than {TIME_LIMIT:g} seconds")
    assert found.line == 2


def test_wrapping_a_whole_document_of_text_is_refused_before_it_runs_long():
    started = time.monotonic()

    found = problem("{{ range(100000)|list|pprint|wordwrap(1)|length }}")

    assert time.monotonic() - started < TIME_LIMIT + 0.2
    assert found.message == (
        "wordwrap() takes at most 200,000 characters at once; this is 788,889. Apply it to "
        "smaller parts, such as each entry."
    )


def test_text_just_under_the_wrapping_limit_is_wrapped():
    assert render("{{ ('a ' * 99999)|wordwrap(1)|length }}", {}) == str(2 * 99999 - 1)


def test_a_loop_of_heavy_filters_stops_close_to_the_time_limit():
    # Each turn is a few tenths of a second spent in one call.
    source = (
        "{% set big = 'a-' * 99999 %}\n"
        "{% for i in range(1000) %}{{ big|wordwrap(1)|length }}{% endfor %}"
    )
    started = time.monotonic()

    found = problem(source)

    assert time.monotonic() - started < TIME_LIMIT + 0.5
    assert found.message.startswith(f"The template ran for more than {TIME_LIMIT:g} seconds")
    assert found.line == 2


class CountingClock:
    """The sandbox's `time`, counting how often it reads the clock."""

    def __init__(self) -> None:
        self.reads = 0

    def monotonic(self) -> float:
        self.reads += 1
        return time.monotonic()


@pytest.mark.parametrize(
    "step",
    ["{% if big|wordcount %}{% endif %}", "{% if big.split() %}{% endif %}"],
    ids=["filter", "method"],
)
def test_the_clock_is_read_at_every_operation_on_a_big_value(monkeypatch, step):
    # Read only every few dozen operations, a run of heavy ones (each a fraction of a second
    # in C or textwrap) would go on for seconds past the time limit between two readings.
    clock = CountingClock()
    monkeypatch.setattr(sandbox, "time", clock)

    render("{% set big = 'a ' * 10000 %}{% for i in range(50) %}" + step + "{% endfor %}", {})

    assert clock.reads >= 50


def test_output_is_capped():
    found = problem("{% for i in range(3000) %}{{ 'x' * 1000 }}{% endfor %}")

    assert found.message == (
        f"The template wrote more than {MAX_OUTPUT:,} characters and was stopped."
    )


def test_text_built_out_of_sight_of_the_output_counts_too():
    found = problem(
        "{% set s %}{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}{% endset %}"
        "{{ s | length }}"
    )

    assert found.message == "The template built more than 20,000,000 characters and was stopped."


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 'x' * 100000000 }}", "The * here would make 100,000,000 characters"),
        ("{{ [0] * 100000000 }}", "The * here would make 100,000,000 characters"),
        ("{{ 2 ** 100000000 }}", "The ** here would make 66,666,666 characters"),
        ("{{ 'x' | center(10000000000) }}", "center() would make 10,000,000,000 characters"),
        ("{{ 'x'.rjust(10000000000) }}", "rjust() would make 10,000,000,000 characters"),
        ("{{ 'x'.zfill(10000000000) }}", "zfill() would make 10,000,000,000 characters"),
        ("{{ 'x' | indent(1000000000) }}", "indent() would make 1,000,000,001 characters"),
        ("{{ '%1000000000d' | format(1) }}", "A field width of 1,000,000,000 is above"),
        ("{{ '%1000000000d' % 1 }}", "A field width of 1,000,000,000 is above"),
        ("{{ '%*d' % (1000000000, 1) }}", "may not take its width from an argument"),
        ("{{ '{:>1000000000}'.format(1) }}", "A field width of 1,000,000,000 is above"),
        ("{{ '{:>{w}}'.format(1, w=1000000000) }}", "may not take its width from an argument"),
        (
            "{% set a = 'x' * 1000000 %}{{ a.replace('', a) }}",
            "replace() would make 1,000,002,000,000 characters",
        ),
        (
            "{% set a = 'x' * 1000000 %}{{ [a, a, a] | join('-') }}",
            "join() would make 3,000,0",
        ),
        ("{{ ([[1]] * 100000) | sum(start=[]) }}", "sum() adds numbers"),
        ("{{ [1] | batch(1000000000, 0) | list }}", "batch() would make 1,000,000,000"),
    ],
)
def test_operations_that_multiply_sizes_are_refused_before_they_run(source, message):
    started = time.monotonic()

    found = problem(source)

    assert message in found.message
    assert time.monotonic() - started < 1


def test_a_structure_sharing_one_list_many_times_cannot_be_printed_whole():
    found = problem(
        "{% set a = range(100000) | list %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}"
        "{% set c = [b, b, b, b, b, b, b, b, b, b] %}{{ c }}"
    )

    assert found.message.startswith("Printing this value would make")


def test_a_template_cannot_change_the_context_it_was_given():
    given = context()

    with pytest.raises(TemplateProblem):
        render("{{ timeline.append(1) }}{{ incident.clear() }}", given)

    assert given == context()


def test_a_template_may_be_at_most_so_long():
    with pytest.raises(TemplateProblem) as caught:
        check_syntax("x" * (MAX_SOURCE + 1))

    assert caught.value.message == f"A template may be at most {MAX_SOURCE:,} characters long."


@pytest.mark.parametrize(
    "source",
    [
        "{{ " + "(" * 300 + "1" + ")" * 300 + " }}",
        "{% if true %}" * 2000 + "{% endif %}" * 2000,
        "{{ 1" + " + 1" * 10000 + " }}",
        "{{ incident.ref" + " | upper" * 5000 + " }}",
    ],
)
def test_a_template_nested_too_deeply_to_compile_is_a_message(source):
    with pytest.raises(TemplateProblem) as caught:
        check_syntax(source)

    assert caught.value.message.startswith("The template nests too deeply to compile")
    assert problem(source).message == caught.value.message


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 'a\\x00b' }}", "The template wrote a NUL character, which no document can hold."),
        ("{{ '\\ud800' }}", "The template wrote a character that is not valid Unicode"),
    ],
)
def test_output_a_database_could_not_store_is_refused(source, message):
    assert problem(source).message.startswith(message)
