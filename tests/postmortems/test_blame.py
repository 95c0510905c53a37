"""The blameless linter (postmortems/blame.py): what it flags, what it leaves alone."""

import pytest

from postmortems.blame import ANTIPATTERNS, PRINCIPLES, blame_findings

NAMES = ("Alice Adams", "Alice", "alice", "Bob Brown", "Bob", "bob")


def phrases(text: str, names=NAMES) -> list[str]:
    return [finding.phrase for finding in blame_findings(text, names=names)]


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("The outage was human error.", "human error"),
        ("Human errors happen.", "Human errors"),
        ("The on-call should have noticed.", "should have"),
        ("We shouldn't have shipped on Friday.", "shouldn't have"),
        ("We shouldn\u2019t have shipped on Friday.", "shouldn\u2019t have"),
        ("They should not have merged it.", "should not have"),
        ("Someone should've checked.", "should've"),
        ("The engineer failed to check the diff.", "failed to"),
        ("A careless change went out.", "careless"),
        ("It was merged carelessly.", "carelessly"),
        ("Someone forgot the flag.", "forgot"),
        ("The step was forgotten.", "forgotten"),
        ("A negligent deploy.", "negligent"),
        ("Gross negligence.", "negligence"),
        ("Nobody is at fault.", "at fault"),
        ("It was the network team's fault.", "fault"),
        ("We do not blame anyone.", "blame"),
        ("Ops was blamed.", "blamed"),
        ("They didn't bother to test.", "didn't bother"),
        ("They did not bother to test.", "did not bother"),
        ("A mistake by the release manager.", "mistake by"),
        ("Mistakes made by the team.", "Mistakes made by"),
    ],
)
def test_each_blame_shaped_phrase_is_flagged(text, phrase):
    assert phrases(text) == [phrase]


@pytest.mark.parametrize(
    "text",
    [
        "The default timeout was 30 s.",
        "A faulty disk in rack 4.",
        "We ran fault injection and fault-tolerant failover drills.",
        "This is a blameless postmortem; the review was blame-free.",
        "Every service should have a runbook.",
        "The pool should have more headroom.",
        "Alice noticed the alert and paged the database team.",
        "An unforgettable launch.",
        "The failedto_connect metric rose.",
        "Restart the primary carefully.",
    ],
)
def test_words_that_only_look_alike_are_left_alone(text):
    assert phrases(text) == []


def test_code_and_urls_are_evidence_not_blame():
    text = (
        "The logs said:\n\n```\nERROR failed to connect: human error in config\n```\n\n"
        "and `Bob deployed` was the job name; see https://git.example/blame/main/pool.py"
    )

    assert phrases(text) == []


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("Alice deployed the bad config.", "Alice"),
        ("Alice Adams deployed the bad config.", "Alice Adams"),
        ("- Bob ran the migration on the primary", "Bob"),
        ("**Root cause:** Bob pushed v42 to all regions at once.", "Bob"),
        ("The cache emptied because Bob restarted it.", "Bob"),
        ("The cache emptied because of Alice.", "Alice"),
        ("It was caused by Bob Brown.", "Bob Brown"),
        ("Alice's change removed the limit.", "Alice"),
        ("After Bob had accidentally deleted the index, queries slowed.", "Bob"),
        ("Then Alice didn't check the canary.", "Alice"),
        ("@bob merged it without review.", "bob"),
    ],
)
def test_a_persons_name_as_the_subject_of_a_cause_is_flagged(text, flagged):
    findings = blame_findings(text, names=NAMES)

    assert [finding.phrase for finding in findings] == [flagged]
    assert flagged in findings[0].suggestion


@pytest.mark.parametrize(
    "text",
    [
        "Alice noticed the latency and paged Bob.",
        "Thanks, Bob, for the quick rollback review.",
        "The deploy pipeline shipped a config no check validated.",
        "alicent deployed it.",
        "Bobby deployed it.",
    ],
)
def test_names_elsewhere_are_left_alone(text):
    assert phrases(text) == []


def test_names_match_as_written_so_a_common_word_is_not_a_person():
    assert phrases("Will deployed it.", names=["Will"]) == ["Will"]
    assert phrases("It will deployed soon, we hope.", names=["Will"]) == []


def test_without_names_only_phrases_are_flagged():
    assert phrases("Alice deployed the bad config.", names=()) == []


def test_findings_say_where_they_are():
    text = "First line.\nThe on-call forgot.\n\nBecause Bob restarted it."

    findings = blame_findings(text, names=["Bob"])

    assert [(f.phrase, f.line, text[f.start : f.end]) for f in findings] == [
        ("forgot", 2, "forgot"),
        ("Bob", 4, "Bob"),
    ]
    assert all(finding.suggestion for finding in findings)


def test_two_findings_in_one_sentence_both_come_back_in_order():
    assert phrases("Bob forgot the flag; human error.") == ["Bob", "forgot", "human error"]


def test_the_playbooks_principles_and_antipatterns_are_there_to_show():
    assert [p.name for p in PRINCIPLES] == ["Blameless", "Thorough", "Actionable", "Shared"]
    assert "Focus on system failures, not human errors" in PRINCIPLES[0].practices
    assert [a.pattern for a in ANTIPATTERNS] == [
        "Blame Game",
        "Quick Fix",
        "No Follow-through",
        "Limited Attendance",
    ]
