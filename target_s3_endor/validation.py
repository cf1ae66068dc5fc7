"""Record validation that stays fast per record and small in memory for huge schemas.

fastjsonschema validates a record ~5x faster than the SDK's default validator,
but ``fastjsonschema.compile`` of a big schema is expensive: the reference
Finding schema (262 ``$defs``) or the tap's findings schema (238 KB, every
``$ref`` inlined) becomes 2.7-3.3 MB of Python source, and compiling that in
one piece cost ~175 MB of RSS before the first record.  Three measures keep
the per-record speed and drop almost all of that:

* ``detailed_exceptions=False``: the detailed mode embeds the full sub-schema
  as a literal in every ``raise``; that literal is most of the source.  The
  error still names the failing field (``data.spec.level must be string``).
* refs re-created: every large object sub-schema is moved to ``$defs`` (one
  entry per distinct sub-schema, so the inlined copies of one type become one
  function) and replaced by a ``$ref``.  Nothing else changes, so a record is
  valid exactly when it was valid against the original schema.
* lazy compilation: the generated module is split into its functions and each
  is compiled the first time a record reaches it, so memory follows the part
  of the schema the data actually uses rather than the whole schema.

Compiled validators are cached by the schema's content, so sinks that share a
schema (a stream re-sending its SCHEMA, or several streams with one schema)
compile it once.  ``use_default=False``: fastjsonschema would otherwise insert
schema ``default`` values into records, and the target writes records exactly
as they arrived.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import fastjsonschema

Validator = Callable[[Any], Any]

# Object sub-schemas whose JSON is at least this long get their own function.
# Small ones stay inline: a function call per nested object costs more than
# the code it would save.
HOIST_MIN_CHARS = 1024
HOISTED_PREFIX = "_target_s3_endor_"
# Keywords whose value is one schema, a list of schemas or a name -> schema map.
SCHEMA_VALUED = (
    *("additionalProperties", "additionalItems", "not", "if", "then", "else"),
    *("contains", "propertyNames", "items", "unevaluatedProperties"),
)
SCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "items", "prefixItems")
SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_FUNCTION_START = re.compile(r"^def (\w+)\(", re.MULTILINE)


def _has_nested_id(node: Any, *, root: bool = True) -> bool:
    """Whether a sub-schema sets its own base URI (moving it would change what its refs mean)."""
    if isinstance(node, dict):
        if not root and ("$id" in node or isinstance(node.get("id"), str)):
            return True
        return any(_has_nested_id(value, root=False) for value in node.values())
    if isinstance(node, list):
        return any(_has_nested_id(value, root=False) for value in node)
    return False


class _Hoister:
    """Moves large object sub-schemas into ``$defs``, one entry per distinct one."""

    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def schema(self, node: Any, *, top: bool = False) -> Any:
        """Rewrite one schema position (bottom-up), returning a ``$ref`` if hoisted."""
        if not isinstance(node, dict):
            return node
        out = dict(node)
        for name in SCHEMA_VALUED:
            if isinstance(out.get(name), dict):
                out[name] = self.schema(out[name])
        for name in SCHEMA_LISTS:
            if isinstance(out.get(name), list):
                out[name] = [self.schema(item) for item in out[name]]
        for name in SCHEMA_MAPS:
            if isinstance(out.get(name), dict):
                out[name] = {key: self.schema(value) for key, value in out[name].items()}
        if top or not isinstance(out.get("properties"), dict):
            return out
        text = json.dumps(out, sort_keys=True, separators=(",", ":"), default=str)
        if len(text) < HOIST_MIN_CHARS:
            return out
        name = HOISTED_PREFIX + hashlib.sha256(text.encode()).hexdigest()[:16]
        self.defs.setdefault(name, out)
        return {"$ref": f"#/$defs/{name}"}


def with_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The same schema with large object sub-schemas behind ``$ref`` (see module doc).

    Left as it is when a nested sub-schema declares its own ``$id`` (refs inside
    it would resolve differently once moved) or ``$defs`` is not an object.
    """
    if _has_nested_id(schema) or not isinstance(schema.get("$defs", {}), dict):
        return schema
    hoister = _Hoister()
    rewritten = hoister.schema(schema, top=True)
    if hoister.defs:
        rewritten["$defs"] = {**rewritten.get("$defs", {}), **hoister.defs}
    return rewritten


def _install_lazy(name: str, source: str, namespace: dict[str, Any]) -> None:
    """Put a stand-in for function ``name`` that compiles ``source`` on its first call."""

    def compile_on_first_call(*args: Any, **kwargs: Any) -> Any:
        if namespace[name] is compile_on_first_call:
            exec(compile(source, f"<schema validator {name}>", "exec"), namespace)  # noqa: S102
        return namespace[name](*args, **kwargs)

    namespace[name] = compile_on_first_call


def lazy_module(code: str) -> dict[str, Any]:
    """Run a generated validator module, deferring each function's compilation.

    fastjsonschema writes every literal on one line, so a ``def`` at the start
    of a line always begins a top-level function.  The generated functions
    call each other through module globals, so once a stand-in has compiled
    the real function it replaces itself and later calls go straight to it.
    """
    starts = [match.start() for match in _FUNCTION_START.finditer(code)]
    namespace: dict[str, Any] = {}
    header = code[: starts[0]] if starts else code
    exec(compile(header, "<schema validator header>", "exec"), namespace)  # noqa: S102
    for begin, end in zip(starts, [*starts[1:], len(code)], strict=True):
        chunk = code[begin:end]
        match = _FUNCTION_START.match(chunk)
        if match is not None:
            _install_lazy(match.group(1), chunk, namespace)
    return namespace


def build_validator(schema: dict[str, Any]) -> Validator:
    """Compile a validator for ``schema``: raises ``JsonSchemaValueException`` on a bad record."""
    code = fastjsonschema.compile_to_code(
        with_refs(schema), use_default=False, use_formats=False, detailed_exceptions=False
    )
    namespace = lazy_module(code)

    def validate(record: Any) -> Any:
        # Looked up on every call: the stand-in replaces itself with the real function.
        return namespace["validate"](record)

    return validate


@lru_cache(maxsize=16)
def _cached_validator(schema_json: str) -> Validator:
    return build_validator(json.loads(schema_json))


def validator_for(schema: dict[str, Any]) -> Validator:
    """The shared validator for a schema's content, compiled on first use."""
    return _cached_validator(json.dumps(schema, sort_keys=True, separators=(",", ":"), default=str))
