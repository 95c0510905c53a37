"""A blameless linter: phrases that put a person where a cause should be, found as
suggestions for the writer. It never blocks a save or a publish; a hit is a question to ask of
the sentence, and sometimes the answer is that the sentence is fine.

What it looks for: blame-shaped words ("human error", "should have", "failed to", "careless",
"forgot", …) and a person's name (the incident's people, given by the caller) as the subject
of a cause: "Alice deployed the bad config", "because Bob restarted it", "caused by Carol",
"Dan's change". Code (fenced blocks and `spans`), URLs and HTML comments are not read: a log
line saying "failed to connect" is evidence, not blame.

The principles and antipatterns are the playbook's "Blameless Postmortem Culture".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    phrase: str  # as written in the text
    start: int  # offsets into the text given
    end: int
    line: int  # 1-based
    suggestion: str


@dataclass(frozen=True)
class Principle:
    name: str
    description: str
    practices: tuple[str, ...]


@dataclass(frozen=True)
class Antipattern:
    pattern: str
    description: str
    alternative: str


PRINCIPLES = (
    Principle(
        "Blameless",
        "Focus on improving systems, not blaming individuals",
        (
            "Assume everyone acted with best intentions",
            "Focus on system failures, not human errors",
            "Encourage open and honest discussion",
            "Celebrate learning opportunities",
        ),
    ),
    Principle(
        "Thorough",
        "Comprehensive analysis of all contributing factors",
        (
            "Deep dive into technical root causes",
            "Examine process and communication gaps",
            "Review decision-making context",
            "Analyze systemic issues",
        ),
    ),
    Principle(
        "Actionable",
        "Generate concrete improvements",
        (
            "Create specific, measurable action items",
            "Assign clear ownership and deadlines",
            "Track completion of action items",
            "Measure impact of improvements",
        ),
    ),
    Principle(
        "Shared",
        "Share learnings across organization",
        (
            "Publish postmortems internally",
            "Present findings in team meetings",
            "Update runbooks and documentation",
            "Create training from incidents",
        ),
    ),
)

ANTIPATTERNS = (
    Antipattern(
        "Blame Game",
        "Focusing on who caused the problem",
        "Focus on what systems allowed the problem",
    ),
    Antipattern("Quick Fix", "Only addressing immediate symptoms", "Identify and fix root causes"),
    Antipattern(
        "No Follow-through",
        "Creating action items but not completing them",
        "Track and report on action item completion",
    ),
    Antipattern(
        "Limited Attendance",
        "Only including senior engineers",
        "Include all stakeholders and learners",
    ),
)

_APOSTROPHE = "['\u2019]"  # typed or typographic

# (pattern, suggestion). Whole words only: "default" and "faulty" are not "fault", and
# "blameless" is not "blame". A fault in the engineering sense (fault-tolerant, fault
# injection, fault domain) is a property of a system, so those compounds are left alone.
_PHRASES: tuple[tuple[str, str], ...] = (
    (
        r"human\s+errors?",
        "Name the condition that made the error easy to make: a missing check, an unclear "
        "runbook, a confusing interface.",
    ),
    (
        # Not "every service should have a runbook": a recommendation, not hindsight.
        rf"(?:should(?:n{_APOSTROPHE}t|\s+not)?\s+have|should{_APOSTROPHE}ve)"
        r"(?!\s+(?:a|an|the|some|more|less|fewer|no|any|its|their|our|one|enough|better)\b)",
        "Hindsight: say what was known and what the tools showed at the time, and what would "
        "have made the better choice the obvious one.",
    ),
    (
        r"fail(?:ed|s)?\s+to",
        "If a person is the subject, describe what happened and what let it happen; about a "
        "system (a check failed to fire) it is fine.",
    ),
    (
        r"careless(?:ly|ness)?",
        "Describe the circumstances (time pressure, an interface, a missing guard) instead of "
        "a person's care.",
    ),
    (
        r"forgot(?:ten)?",
        "Ask what would have reminded anyone: a checklist step, an automated check, a default.",
    ),
    (
        r"neglect(?:ed|ful)?(?:\s+to)?|negligen(?:t|ce)",
        "Describe the gap in the process, not a person's diligence.",
    ),
    (
        r"(?:at\s+)?faults?(?![-\s](?:toleran|injection|domain|isolation|detection|handl))",
        "Causes in a postmortem are conditions in the system, not someone's fault.",
    ),
    (
        r"blam(?:e|ed|es|ing)",
        "Describe what the system allowed, not who is to blame.",
    ),
    (
        rf"did(?:n{_APOSTROPHE}?t|\s+not)\s+bother",
        "Ask why the step was easy to skip: was it documented, automated, checked?",
    ),
    (
        r"mistakes?\s+(?:made\s+)?by",
        "Describe the decision and the information behind it, not whose mistake it was.",
    ),
)

_PHRASE_PATTERNS = tuple(
    (re.compile(rf"(?<![\w-])(?:{pattern})(?![\w]|-\w)", re.IGNORECASE), suggestion)
    for pattern, suggestion in _PHRASES
)

# Verbs that make a name the subject of a change to the system (a cause), and the negative
# forms that make it the subject of an omission. "Alice noticed the alert" is not flagged.
_CAUSE_VERBS = (
    "applied|approved|broke|caused|changed|clicked|committed|configured|copied|deleted|"
    "deployed|disabled|dropped|edited|enabled|entered|executed|ignored|introduced|killed|"
    "made|merged|migrated|misconfigured|missed|modified|moved|overlooked|overwrote|pasted|"
    "pushed|ran|rebooted|released|removed|renamed|restarted|reverted|rolled|set|shipped|"
    "skipped|started|stopped|triggered|truncated|turned|typed|updated|upgraded|wiped|wrote"
)
_OMISSIONS = (
    rf"did(?:n{_APOSTROPHE}?t|\s+not)|never|forgot|failed|neglected|should(?:n{_APOSTROPHE}t)?"
)
_CAUSE_NOUNS = (
    "change|commit|config|configuration|deploy|deployment|error|fault|mistake|push|"
    "script|typo|query|command|migration|release"
)
# Where a clause starts: a line's start (after a list marker or a quote), a sentence's or a
# label's end ("**Root cause:** Bob …"), or a conjunction.
_CLAUSE_START = (
    r"(?:^[ \t]*(?:(?:[-*+>]|\d+[.)])[ \t]+)?|(?<=[.!?;:,*_)])[ \t]+"
    r"|\b(?i:after|and|before|but|once|since|so|then|until|when|while)\s+)"
)
# Words that make whoever follows them the cause, whatever the verb.
_CAUSAL = (
    r"\b(?i:because(?:\s+of)?|caused\s+by|due\s+to|triggered\s+by|introduced\s+by|"
    r"made\s+by|thanks\s+to)\s+"
)

_NAME_SUGGESTION = (
    '{name} appears as the cause. Describe the step and what allowed it ("a deploy went out '
    'with a config no check validated"), or the role ("the on-call engineer"), not the '
    "person."
)

# Code, links and comments are evidence or addresses, not sentences about people.
_UNREAD = re.compile(
    r"^[ \t]{0,3}(`{3,}|~{3,})[^\n]*\n.*?(?:^[ \t]{0,3}\1[ \t]*$|\Z)"  # fenced code
    r"|(`+)[^`\n][^\n]*?\2"  # code spans, which stay on their line here
    r"|<!--.*?-->"  # comments
    r"|\b(?:https?|ftp|mailto):[^\s)>\]]+",  # URLs
    re.DOTALL | re.MULTILINE,
)


def _masked(text: str) -> str:
    """`text` with what is not read replaced by spaces (newlines kept), so offsets and line
    numbers still point into the original."""
    return _UNREAD.sub(lambda match: re.sub(r"[^\n]", " ", match.group()), text)


def _name_patterns(names: Iterable[str]) -> list[re.Pattern[str]]:
    """One pattern per way a name is used as a cause. Names match case-sensitively, so a
    person called Will does not flag "will"; the longest name is tried first ("Alice Adams"
    before "Alice")."""
    cleaned = sorted(
        {" ".join(name.split()) for name in names if len(name.strip()) >= 2}, key=len, reverse=True
    )
    if not cleaned:
        return []
    name = r"@?(?P<name>" + "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in cleaned) + r")"
    bounded = rf"(?<![\w@]){name}(?![\w])"
    return [
        re.compile(
            # "Alice deployed", "Alice had accidentally deployed", "Alice didn't check".
            rf"{_CLAUSE_START}{bounded}(?:\s+(?i:had|has|\w+ly)){{0,2}}"
            rf"\s+(?i:{_CAUSE_VERBS}|{_OMISSIONS})\b",
            re.MULTILINE,
        ),
        re.compile(rf"{_CAUSAL}{bounded}", re.MULTILINE),
        re.compile(rf"{bounded}{_APOSTROPHE}s?\s+(?i:{_CAUSE_NOUNS})\b", re.MULTILINE),
    ]


def blame_findings(text: str, *, names: Iterable[str] = ()) -> list[Finding]:
    """Blame-shaped phrases in `text`, in order of where they start."""
    read = _masked(text)
    found: dict[tuple[int, int, str], Finding] = {}

    def add(start: int, end: int, suggestion: str) -> None:
        line = read.count("\n", 0, start) + 1
        found.setdefault(
            (start, end, suggestion),
            Finding(" ".join(text[start:end].split()), start, end, line, suggestion),
        )

    for pattern, suggestion in _PHRASE_PATTERNS:
        for match in pattern.finditer(read):
            add(match.start(), match.end(), suggestion)
    for pattern in _name_patterns(names):
        for match in pattern.finditer(read):
            add(
                match.start("name"),
                match.end("name"),
                _NAME_SUGGESTION.format(name=match.group("name")),
            )
    return sorted(found.values(), key=lambda finding: (finding.start, finding.end))
