"""The singer-sdk private names the target relies on: all listed, all still there.

``target_s3_endor/input/sdk_hooks.py`` lists them; an SDK upgrade that renames or
reshapes one fails here with the list.  The second half reads the target's
code: an underscored SDK name used anywhere but not listed fails too, so the
list stays the whole coupling.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.sinks import Sink
from singer_sdk.target_base import Target

import target_s3_endor
from connector_common.sdk_hooks import hook_problems, resolve
from target_s3_endor.input.sdk_hooks import SDK_PRIVATE_HOOKS

PACKAGE = Path(target_s3_endor.__file__).parent


def sdk_private_names() -> set[str]:
    """Underscored names the SDK classes the target extends define or set."""
    names: set[str] = set()
    for base in (Target, Sink, MsgSpecReader):
        for klass in base.__mro__:
            if not klass.__module__.startswith("singer_sdk"):
                continue
            names |= {n for n in vars(klass) if n.startswith("_") and not n.startswith("__")}
            names |= set(re.findall(r"self\.(_[A-Za-z]\w*)", inspect.getsource(klass)))
    return names


def private_uses(path: Path, names: set[str]) -> set[str]:
    """The SDK's private names a module uses: attributes, overrides and imports."""
    used: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # ``self._x`` inside a class with no base class (S3Writer's ``_config``) is its own.
    own = {
        id(node)
        for klass in ast.walk(tree)
        if isinstance(klass, ast.ClassDef) and not klass.bases
        for node in ast.walk(klass)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }
    for node in ast.walk(tree):
        if id(node) in own:
            continue
        if isinstance(node, ast.Attribute) and node.attr in names:
            used.add(node.attr)
        elif isinstance(node, ast.FunctionDef) and node.name in names:
            used.add(node.name)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("singer_sdk"):
            module = node.module or ""
            if any(part.startswith("_") for part in module.split(".")):
                used |= {f"{module}.{alias.name}" for alias in node.names}
            used |= {f"{module}.{a.name}" for a in node.names if a.name.startswith("_")}
    return used


def used_by_file() -> dict[str, set[str]]:
    names = sdk_private_names()
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if used := private_uses(path, names):
            found[str(path.relative_to(PACKAGE))] = used
    return found


def test_every_private_sdk_hook_is_still_there() -> None:
    problems = hook_problems(SDK_PRIVATE_HOOKS)
    assert not problems, "singer-sdk changed hooks the target uses:\n" + "\n".join(problems)


def test_the_target_uses_no_private_sdk_name_outside_the_list() -> None:
    listed = set(SDK_PRIVATE_HOOKS)
    short = {dotted.rsplit(".", 1)[1] for dotted in listed}
    unlisted = {
        file: sorted(name for name in used if name not in short and name not in listed)
        for file, used in used_by_file().items()
    }
    unlisted = {file: names for file, names in unlisted.items() if names}
    assert not unlisted, f"private singer-sdk names not in sdk_hooks.py: {unlisted}"


def test_private_sdk_names_live_in_two_files_of_the_input_package() -> None:
    # Issue 20: one listed place for the coupling, not 16 overrides over 5 modules.
    files = sorted(used_by_file())
    assert files == ["input/handlers.py", "input/sink_hooks.py"], files


def test_the_batch_encoding_names_are_the_sdks() -> None:
    from singer_sdk.helpers._batch import BatchFileFormat

    from target_s3_endor.input.batch_files import FORMATS

    assert {f.value for f in BatchFileFormat} == FORMATS


def test_the_scan_finds_a_private_name(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f(t):\n    return t._latest_state\n")
    assert private_uses(module, sdk_private_names()) == {"_latest_state"}


def test_the_check_names_a_missing_hook() -> None:
    problems = hook_problems({"singer_sdk.sinks.core.Sink._no_such_hook_here": None})
    assert problems
    assert "_no_such_hook_here" in problems[0]
    assert resolve("singer_sdk.sinks.core.Sink._validate_and_parse") is not None
