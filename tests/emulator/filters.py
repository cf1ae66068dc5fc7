"""The Endor Labs filter language: tokenizer, parser and evaluator.

Grammar (``and`` binds tighter than ``or``)::

    expr      := conj ("or" conj)*
    conj      := term ("and" term)*
    term      := "(" expr ")" | predicate
    predicate := PATH op value | PATH ["not"] "in" list | PATH ["not"] "contains" list
               | PATH "matches" STRING | PATH ["not"] "exists"
    value     := STRING | NUMBER | true | false | ENUM | date(ISO) | now(-72h)

A filter is compiled once into closures over the object dict, so evaluating it
per row costs a few attribute lookups. An ISO timestamp written without
``date(...)`` compares as nothing at all, as the real API silently does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeGuard

from tests.emulator.clock import MICROS, parse_rfc3339_us
from tests.emulator.errors import ApiError, invalid

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<op>==|!=|>=|<=|>|<)
      | (?P<punct>[()\[\],])
      | (?P<word>[^\s()\[\],'"=!<>]+)
    )""",
    re.VERBOSE,
)
_PATH = re.compile(r"^[A-Za-z_@][\w@]*(?:\.[\w@]+)*$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_DURATION = re.compile(r"^([+-]?\d+(?:\.\d+)?)(h|m|s)$")
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True)
class Token:
    """One lexical token and where it starts in the filter text."""

    kind: str
    text: str
    pos: int


@dataclass(frozen=True)
class Literal:
    """A value on the right of an operator; ``kind`` decides how it compares."""

    kind: str  # "str" | "num" | "bool" | "time" | "never"
    value: Any
    text: str


@dataclass
class Compare:
    """``path op literal``."""

    path: str
    op: str
    literal: Literal


@dataclass
class Member:
    """``path [not] in [..]`` / ``path [not] contains [..]``."""

    path: str
    op: str  # "in" | "contains"
    negated: bool
    literals: list[Literal]


@dataclass
class Matches:
    """``path matches 'regex'``."""

    path: str
    pattern: re.Pattern[str]


@dataclass
class Exists:
    """``path [not] exists``."""

    path: str
    negated: bool


@dataclass
class BoolOp:
    """``and`` / ``or`` over two or more children."""

    op: str
    children: list[Node] = field(default_factory=list)


Node = Compare | Member | Matches | Exists | BoolOp


def tokenize(text: str) -> list[Token]:
    """Split filter text into tokens, refusing characters no token can start with."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            start = len(text) - len(text[pos:].lstrip())
            raise _error(text, start, f"unexpected character {text[start]!r}")
        kind = match.lastgroup
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return tokens


def _error(text: str, pos: int, what: str) -> ApiError:
    return invalid(f"invalid filter: {what} at position {pos} in {text!r}")


class _Parser:
    def __init__(self, text: str, now_us: int) -> None:
        self.text = text
        self.now_us = now_us
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self, expected: str) -> Token:
        token = self.peek()
        if token is None:
            raise _error(self.text, len(self.text), f"expected {expected}, found end of filter")
        self.i += 1
        return token

    def fail(self, token: Token, expected: str) -> ApiError:
        return _error(self.text, token.pos, f"expected {expected}, found {token.text!r}")

    def is_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text.lower() == word

    def parse(self) -> Node:
        if not self.tokens:
            raise _error(self.text, 0, "empty filter")
        node = self.expr()
        token = self.peek()
        if token is not None:
            raise self.fail(token, "'and', 'or' or end of filter")
        return node

    def expr(self) -> Node:
        children = [self.conj()]
        while self.is_word("or"):
            self.i += 1
            children.append(self.conj())
        return children[0] if len(children) == 1 else BoolOp("or", children)

    def conj(self) -> Node:
        children = [self.term()]
        while self.is_word("and"):
            self.i += 1
            children.append(self.term())
        return children[0] if len(children) == 1 else BoolOp("and", children)

    def term(self) -> Node:
        token = self.next("a field path or '('")
        if token.kind == "punct" and token.text == "(":
            node = self.expr()
            close = self.next("')'")
            if close.text != ")":
                raise self.fail(close, "')'")
            return node
        if token.kind != "word" or not _PATH.match(token.text):
            raise self.fail(token, "a field path or '('")
        return self.predicate(token.text)

    def predicate(self, path: str) -> Node:
        token = self.next("an operator after " + repr(path))
        if token.kind == "op":
            return Compare(path, token.text, self.value())
        word = token.text.lower() if token.kind == "word" else ""
        negated = False
        if word == "not":
            negated = True
            token = self.next("'in', 'contains' or 'exists' after 'not'")
            word = token.text.lower() if token.kind == "word" else ""
            if word not in ("in", "contains", "exists"):
                raise self.fail(token, "'in', 'contains' or 'exists' after 'not'")
        if word in ("in", "contains"):
            return Member(path, word, negated, self.value_list(word))
        if word == "exists":
            return Exists(path, negated)
        if word == "matches":
            pattern_token = self.next("a quoted regular expression")
            if pattern_token.kind != "string":
                raise self.fail(pattern_token, "a quoted regular expression")
            try:
                pattern = re.compile(_unquote(pattern_token.text))
            except re.error as exc:
                raise _error(
                    self.text, pattern_token.pos, f"bad regular expression ({exc})"
                ) from None
            return Matches(path, pattern)
        raise self.fail(token, "an operator (==, !=, >, >=, <, <=, in, contains, matches, exists)")

    def value_list(self, op: str) -> list[Literal]:
        token = self.peek()
        if token is None or token.text != "[":
            return [self.value()]  # a single value without brackets is tolerated
        self.i += 1
        values = [self.value()]
        while True:
            token = self.next(f"',' or ']' in the {op} list")
            if token.text == "]":
                return values
            if token.text != ",":
                raise self.fail(token, f"',' or ']' in the {op} list")
            values.append(self.value())

    def value(self) -> Literal:
        token = self.next("a value")
        if token.kind == "string":
            return Literal("str", _unquote(token.text), token.text)
        if token.kind != "word":
            raise self.fail(token, "a value")
        lowered = token.text.lower()
        if lowered in ("date", "now") and self.peek() is not None and self.peek().text == "(":  # type: ignore[union-attr]
            return self.call(lowered, token)
        if lowered in ("true", "false"):
            return Literal("bool", lowered == "true", token.text)
        if _NUMBER.match(token.text):
            return Literal("num", float(token.text), token.text)
        if _ISO_DATE.match(token.text):
            return Literal("never", None, token.text)
        return Literal("str", token.text, token.text)

    def call(self, name: str, name_token: Token) -> Literal:
        self.i += 1  # "("
        arg = self.next(f"an argument to {name}()")
        if arg.kind not in ("word", "string"):
            raise self.fail(arg, f"an argument to {name}()")
        close = self.next("')'")
        if close.text != ")":
            raise self.fail(close, "')'")
        raw = _unquote(arg.text) if arg.kind == "string" else arg.text
        if name == "date":
            try:
                return Literal("time", parse_rfc3339_us(raw), f"date({raw})")
            except ValueError:
                raise _error(self.text, arg.pos, f"invalid date {raw!r}") from None
        match = _DURATION.match(raw)
        if not match:
            raise _error(self.text, arg.pos, f"invalid duration {raw!r} (use e.g. now(-72h))")
        offset = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        return Literal("time", self.now_us + int(offset * MICROS), f"now({raw})")


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse(text: str, now_us: int) -> Node:
    """Parse filter text; raises a 400 ``ApiError`` naming what and where.

    A client pages with the same filter again and again: a text without ``now(...)`` means
    the same at any time, and is parsed once (``_parse_timeless``).  Nothing changes a
    parsed tree afterwards, so every request gets the same answer as from a fresh parse.
    """
    if "now" in text.lower():
        return _Parser(text, now_us).parse()
    return _parse_timeless(text)


@lru_cache(maxsize=1024)
def _parse_timeless(text: str) -> Node:
    """A filter that mentions no ``now``: its tree does not depend on the time."""
    return _Parser(text, 0).parse()


def resolve(obj: Any, path: str) -> Any:
    """The value at a dotted path; arrays on the way fan out into a list."""
    current: Any = obj
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list):
            values = [item.get(part) for item in current if isinstance(item, dict)]
            current = [v for v in values if v is not None] or None
        else:
            return None
        if current is None:
            return None
    return current


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _coerce(value: Any, literal: Literal) -> tuple[Any, Any] | None:
    """Both sides in comparable form, or None when they cannot compare."""
    kind = literal.kind
    if kind == "never":
        return None
    if kind == "time":
        if not isinstance(value, str):
            return None
        try:
            return parse_rfc3339_us(value), literal.value
        except ValueError:
            return None
    if isinstance(value, bool):
        if kind == "bool":
            return value, literal.value
        return ("true" if value else "false"), str(literal.text).lower()
    if isinstance(value, int | float):
        if kind == "num":
            return value, literal.value
        try:
            return value, float(literal.value)
        except (TypeError, ValueError):
            return None
    if isinstance(value, str):
        if kind == "bool":
            return value, "true" if literal.value else "false"
        return value, literal.text if kind == "num" else literal.value
    return None


def _compare_one(value: Any, op: str, literal: Literal) -> bool:
    pair = _coerce(value, literal)
    if pair is None:
        return False
    try:
        return _OPS[op](*pair)
    except TypeError:
        return False


def compile_filter(node: Node) -> Predicate:
    """A fast closure ``obj -> bool`` for a parsed filter."""
    if isinstance(node, BoolOp):
        parts = [compile_filter(child) for child in node.children]
        if node.op == "and":
            return lambda obj: all(part(obj) for part in parts)
        return lambda obj: any(part(obj) for part in parts)
    path = node.path
    if isinstance(node, Compare):
        op, literal = node.op, node.literal

        def compare(obj: dict[str, Any]) -> bool:
            value = resolve(obj, path)
            if value is None:
                return op == "!=" and literal.kind != "never"
            if isinstance(value, list):
                if op == "!=":
                    return not any(_compare_one(v, "==", literal) for v in value)
                return any(_compare_one(v, op, literal) for v in value)
            return _compare_one(value, op, literal)

        return compare
    if isinstance(node, Member):
        literals, negated = node.literals, node.negated
        # A string equals a literal when it equals its text form (``_coerce``): one
        # set lookup instead of a comparison per literal (``uuid in [100 uuids]``).
        strings = _string_forms(literals)

        def member(obj: dict[str, Any]) -> bool:
            value = resolve(obj, path)
            values = value if isinstance(value, list) else ([] if value is None else [value])
            hit = False
            for v in values:
                if strings is not None and isinstance(v, str):
                    hit = v in strings
                else:
                    hit = any(_compare_one(v, "==", lit) for lit in literals)
                if hit:
                    break
            return hit != negated

        return member
    if isinstance(node, Matches):
        pattern = node.pattern

        def matches(obj: dict[str, Any]) -> bool:
            value = resolve(obj, path)
            values = value if isinstance(value, list) else [value]
            return any(isinstance(v, str) and pattern.search(v) is not None for v in values)

        return matches
    negated_exists = node.negated
    return lambda obj: (resolve(obj, path) is not None) != negated_exists


def _string_forms(literals: list[Literal]) -> frozenset[str] | None:
    """Every string value ``==`` one of ``literals`` (see ``_coerce``); None with a date.

    A date literal compares a string by parsing it, which no set can stand for.
    """
    forms: set[str] = set()
    for literal in literals:
        if literal.kind == "str":
            forms.add(literal.value)
        elif literal.kind == "num":
            forms.add(literal.text)
        elif literal.kind == "bool":
            forms.add("true" if literal.value else "false")
        elif literal.kind != "never":
            return None
    return frozenset(forms)


def equality_values(node: Node, path: str) -> frozenset[str] | None:
    """The strings ``path`` must equal for ``node`` to hold, when a top-level AND says so.

    ``path == 'x'`` or ``path in ['x', 'y']`` (string literals) directly under the
    filter's top-level ``and``: an index on ``path`` then yields every candidate.
    None when the filter does not pin ``path`` that way.
    """
    children = node.children if isinstance(node, BoolOp) and node.op == "and" else [node]
    found: frozenset[str] | None = None
    for child in children:
        values: frozenset[str] | None = None
        if (
            isinstance(child, Compare)
            and child.path == path
            and child.op == "=="
            and child.literal.kind == "str"
        ):
            values = frozenset({child.literal.value})
        elif (
            isinstance(child, Member)
            and child.path == path
            and child.op == "in"
            and not child.negated
            and all(literal.kind == "str" for literal in child.literals)
        ):
            values = frozenset(literal.value for literal in child.literals)
        if values is not None:
            found = values if found is None else found & values
    return found


def time_bounds(node: Node, path: str) -> tuple[int | None, bool, int | None, bool]:
    """Bounds on ``path`` implied by top-level ANDed comparisons with dates.

    Returns ``(low, low_inclusive, high, high_inclusive)``; ``None`` where open.
    Only these are used to narrow the scan with the time index: anything else
    (an ``or``, a bound inside parentheses) is evaluated row by row.
    """
    low: int | None = None
    high: int | None = None
    low_inc = high_inc = True
    children = node.children if isinstance(node, BoolOp) and node.op == "and" else [node]
    for child in children:
        if not _is_time_bound(child, path):
            continue
        value = child.literal.value
        if child.op in (">", ">=") and (low is None or value >= low):
            low_inc = child.op == ">=" if value != low else (low_inc and child.op == ">=")
            low = value
        elif child.op in ("<", "<=") and (high is None or value <= high):
            high_inc = child.op == "<=" if value != high else (high_inc and child.op == "<=")
            high = value
    return low, low_inc, high, high_inc


def _is_time_bound(node: Node, path: str) -> TypeGuard[Compare]:
    """A comparison of ``path`` with a date by <, <=, > or >=: one bound of the time index."""
    return (
        isinstance(node, Compare)
        and node.path == path
        and node.literal.kind == "time"
        and node.op in (">", ">=", "<", "<=")
    )


def without_time_bounds(node: Node, path: str) -> Node | None:
    """The filter less the top-level time bounds on ``path`` that ``time_bounds`` found.

    The time index already limits a query to those bounds, so checking them again
    row by row (decoding each stored object) would only cost time; None when
    nothing else is left to check.
    """
    if _is_time_bound(node, path):
        return None
    if not (isinstance(node, BoolOp) and node.op == "and"):
        return node
    rest = [child for child in node.children if not _is_time_bound(child, path)]
    if not rest:
        return None
    return rest[0] if len(rest) == 1 else BoolOp("and", rest)


def mentions(node: Node, path: str) -> bool:
    """Whether the filter constrains ``path`` with ==/in anywhere (an index hint)."""
    if isinstance(node, BoolOp):
        return any(mentions(child, path) for child in node.children)
    if isinstance(node, Compare):
        return node.path == path and node.op == "=="
    if isinstance(node, Member):
        return node.path == path and node.op == "in" and not node.negated
    return False
