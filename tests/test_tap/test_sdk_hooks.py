"""The singer-sdk private names the tap relies on still exist, with the parameters it uses.

An SDK upgrade that renames or reshapes one would otherwise fail quietly (an
override never called) or late (mid-sync); this fails at once with the list.
"""

from __future__ import annotations

import importlib
import inspect

from tap_endorlabs.client import SDK_PRIVATE_HOOKS


def _resolve(dotted: str) -> object:
    """The object at ``package.module.Name.attr`` (attributes may be instance-only)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            node: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if isinstance(node, type) and name not in dir(node):
                # Instance attributes: set in __init__, so look for them there.
                source = "".join(inspect.getsource(k) for k in node.__mro__ if k is not object)
                if f"self.{name}" not in source:
                    msg = f"{dotted}: no attribute {name}"
                    raise AttributeError(msg)
                return None
            node = getattr(node, name)
        return node
    msg = f"{dotted}: module not found"
    raise ImportError(msg)


def test_every_private_sdk_hook_is_still_there() -> None:
    problems: list[str] = []
    for dotted, expected in SDK_PRIVATE_HOOKS.items():
        try:
            target = _resolve(dotted)
        except (AttributeError, ImportError, OSError, TypeError) as exc:
            problems.append(str(exc))
            continue
        if expected is None or target is None:
            continue
        parameters = list(inspect.signature(target).parameters.values())  # type: ignore[arg-type]
        names = tuple(p.name for p in parameters)
        # Extra parameters are fine as long as the tap's calls need not pass them.
        required_extra = [
            p.name
            for p in parameters[len(expected) :]
            if p.default is inspect.Parameter.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if names[: len(expected)] != expected or required_extra:
            problems.append(f"{dotted}: parameters {names}, the tap expects {expected}")
    assert not problems, "singer-sdk changed hooks the tap overrides:\n" + "\n".join(problems)


def test_the_check_names_a_missing_hook() -> None:
    try:
        _resolve("singer_sdk.streams.core.Stream._no_such_hook_here")
    except AttributeError as exc:
        assert "_no_such_hook_here" in str(exc)
    else:
        raise AssertionError("a missing hook went unnoticed")
