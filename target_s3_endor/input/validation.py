"""Record validation: fast per record, small for huge schemas, and silent about values.

jsonschema-rs (the Rust ``jsonschema`` crate) checks an audit-log record in about
1.2 us, against 6-12 us for fastjsonschema's generated Python and ~75 us for the
SDK's default validator; it compiles the reference Finding schema (262 ``$defs``)
in ~10 ms and ~10 MB, where fastjsonschema needed ~175 MB before a workaround.
At 100,000 records a run, validation was the largest part of the target's
per-record time; now it is one of the smallest.

Behaviour kept from the SDK's validator: a schema without ``$schema`` is read as
draft 7, ``format`` is not asserted (a tap's odd timestamp is written as it came,
not dropped) and ``default`` values are never inserted into records.

Error messages are composed here from the failing path and keyword rather than
taken from the library: its messages quote the offending value, and a record
value may be a secret or personal data that must not reach a log.  The same
holds for a schema that is not valid: its values (a ``type`` that is not a
type name) are named by place, never quoted.

References are resolved only within the schema itself (``input.reach``): the
library's default retriever would read ``file://`` and fetch ``http(s)://``
documents a SCHEMA names.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any

import jsonschema_rs
import msgspec

from target_s3_endor.input.reach import NoRetrieval

Validator = Callable[[Any], None]


class SchemaError(ValueError):
    """A SCHEMA message that is not a usable JSON Schema."""


class RecordInvalid(ValueError):
    """A record that does not match its schema; the message holds no record value."""


def build_validator(schema: dict[str, Any]) -> Validator:
    """Compile ``schema``; the returned callable raises ``RecordInvalid`` for a bad record."""
    retriever = NoRetrieval()
    try:
        if isinstance(schema, dict) and "$schema" in schema:
            compiled = jsonschema_rs.validator_for(
                schema, validate_formats=False, retriever=retriever
            )
        else:
            compiled = jsonschema_rs.Draft7Validator(
                schema, validate_formats=False, retriever=retriever
            )
    except jsonschema_rs.ValidationError as exc:
        raise SchemaError(retriever.refusal or describe_schema_fault(exc)) from None
    except (jsonschema_rs.ReferencingError, ValueError):
        raise SchemaError(retriever.refusal or "a $ref in it cannot be resolved") from None
    is_valid = compiled.is_valid

    def validate(record: Any) -> None:
        # is_valid builds no error object: the common case stays in Rust.
        if not is_valid(record):
            try:
                compiled.validate(record)
            except jsonschema_rs.ValidationError as exc:
                raise RecordInvalid(describe(exc)) from None

    return validate


def path_step(step: int | str) -> str:
    """``[3]``, ``.name``, or ``['a b']`` for a property name from the input that is no identifier.

    A property name is the tap's and may hold a line break or a terminal escape: unless
    it reads as a plain name, it is quoted with ``repr``.
    """
    if isinstance(step, int):
        return f"[{step}]"
    return f".{step}" if step.isidentifier() else f"[{step!r}]"


def describe(error: jsonschema_rs.ValidationError) -> str:
    """``data.spec.level must be string``: where and which rule, never the value."""
    where = "data" + "".join(path_step(step) for step in error.instance_path)
    kind = error.kind
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Type):
        return f"{where} must be {' or '.join(str(name) for name in kind.types)}"
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
        return f"{where} must contain {kind.property!r}"
    keyword = error.schema_path[-1] if error.schema_path else "schema"
    return f"{where} fails the schema's {keyword!r} rule"


def describe_schema_fault(error: jsonschema_rs.ValidationError) -> str:
    """``schema.properties.x.type fails the meta-schema's 'anyOf' rule``: never the value."""
    if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Referencing):
        return (
            "a $ref or $schema in it names nothing within the message: only #/... "
            "references and the standard meta-schemas are resolved"
        )
    where = "schema" + "".join(path_step(step) for step in error.instance_path)
    if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Type):
        return f"{where} must be {' or '.join(str(name) for name in error.kind.types)}"
    keyword = error.schema_path[-1] if error.schema_path else "schema"
    return f"{where} fails the meta-schema's {keyword!r} rule"


# The cache key is the schema as canonical JSON, written and read back with the
# reader's own number rule: a SCHEMA's non-integer numbers (``multipleOf: 0.01``,
# ``maximum: 1e400``) arrive as Decimal, and must reach the validator as numbers.
# (``json.dumps(..., default=str)`` turned them into strings: every schema with
# one was refused as "not a valid JSON Schema".)
_key_encoder = msgspec.json.Encoder(enc_hook=str, decimal_format="number", order="sorted")
_key_decoder = msgspec.json.Decoder(float_hook=Decimal)


@lru_cache(maxsize=16)
def _cached_validator(schema_json: bytes) -> Validator:
    return build_validator(_key_decoder.decode(schema_json))


def validator_for(schema: dict[str, Any]) -> Validator:
    """The shared validator for a schema's content, compiled once.

    Sinks that share a schema (a stream re-sending its SCHEMA, or several
    streams with one schema) compile it once.
    """
    return _cached_validator(_key_encoder.encode(schema))
