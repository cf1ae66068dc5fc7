"""A filter setting whose parentheses do not pair up is refused before any request.

The tap ANDs ``audit_log_filter`` / ``finding_filter`` with its own time window, putting a
filter with an ``or`` in parentheses: ``a) or (b`` stepped out of them, widened the query
past the window, and the run stopped on the count check with a line that blamed the API
("the API counts 296 records, the tap read 6").
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tap_endorlabs.filters import all_of, unbalanced_parenthesis
from tests.support.servers import start_emulator
from tests.test_tap.tap_runner import run_tap_in_process, stats, tap_config

ATOMS = st.sampled_from(
    [
        "spec.operation==OPERATION_CREATE",
        "spec.claims matches '.*(domain=endor.ai).*'",
        'spec.message_kind=="a)b"',
        "spec.message_kind=='it\\'s (quoted)'",
    ]
)


@st.composite
def balanced(draw: st.DrawFn, depth: int = 0) -> str:
    """A filter of atoms joined by and/or, with parentheses that pair up."""
    if depth > 2 or draw(st.booleans()):
        return draw(ATOMS)
    left = draw(balanced(depth + 1))
    right = draw(balanced(depth + 1))
    joined = f"{left} {draw(st.sampled_from(['and', 'or']))} {right}"
    return f"({joined})" if draw(st.booleans()) else joined


@given(balanced())
def test_parentheses_that_pair_up_pass_and_stay_inside_the_window(expression: str) -> None:
    assert unbalanced_parenthesis(expression) is None
    combined = all_of("meta.create_time >= date(2025-01-01T00:00:00Z)", expression)
    assert combined is not None and unbalanced_parenthesis(combined) is None


@given(balanced(), st.integers(min_value=0), st.sampled_from(["(", ")"]))
def test_one_parenthesis_more_is_found(expression: str, at: int, extra: str) -> None:
    """Outside quotes, one ``(`` or ``)`` more never pairs up."""
    outside = [i for i in range(len(expression) + 1) if _outside_quotes(expression, i)]
    cut = outside[at % len(outside)]
    assert unbalanced_parenthesis(expression[:cut] + extra + expression[cut:]) is not None


def _outside_quotes(text: str, index: int) -> bool:
    quote, escaped = "", False
    for char in text[:index]:
        if quote:
            escaped, quote = (
                (False, quote) if escaped else (char == "\\", "" if char == quote else quote)
            )
        elif char in "'\"":
            quote = char
    return not quote


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        (
            "audit_log_filter",
            "spec.operation==OPERATION_CREATE) or (spec.operation==OPERATION_DELETE",
            "a ')' at character 33 closes nothing",
        ),
        ("finding_filter", "(spec.level==FINDING_LEVEL_CRITICAL", "1 '(' not closed"),
        ("audit_log_filter", "spec.message_kind=='unclosed", "a ' quote is not closed"),
    ],
)
def test_the_run_stops_in_one_line_before_any_request(
    setting: str, value: str, problem: str
) -> None:
    with start_emulator("--seed", "2", "--audit-logs", "20") as server:
        run = run_tap_in_process(tap_config(server.url, **{setting: value}))
        requests = stats(server.url)["requests"]
    assert run.returncode == 1
    assert f"{setting}'s parentheses do not pair up ({problem})" in run.stderr
    assert "Traceback" not in run.stderr
    assert requests == 0, "the API was asked before the filter was checked"
