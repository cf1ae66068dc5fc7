"""Checking a plugin's list of singer-sdk private names against the installed SDK.

Both plugins override or read a few names singer-sdk does not promise to keep
(underscored methods, attributes and modules).  Each lists them in one
``SDK_PRIVATE_HOOKS`` mapping (dotted name -> the parameters it is called or
overridden with, or None for an attribute), and a test per plugin runs
``hook_problems`` on it: an SDK upgrade that renames or reshapes one then fails
at once with the list, instead of quietly (an override never called) or late
(mid-run).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping

#: dotted name -> expected leading parameter names (None: an attribute, not called).
Hooks = Mapping[str, tuple[str, ...] | None]


def resolve(dotted: str) -> object:
    """The object at ``package.module.Name.attr`` (None for an instance-only attribute).

    Raises:
        AttributeError: an attribute along the path is missing.
        ImportError: no prefix of the path is a module.
    """
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
            try:
                node = getattr(node, name)
            except Exception:
                node = inspect.getattr_static(node, name)
        return node
    msg = f"{dotted}: module not found"
    raise ImportError(msg)


def hook_problems(hooks: Hooks) -> list[str]:
    """One line per listed name that is gone or no longer takes the listed parameters."""
    problems: list[str] = []
    for dotted, expected in hooks.items():
        try:
            target = resolve(dotted)
        except (AttributeError, ImportError, OSError, TypeError) as exc:
            problems.append(str(exc))
            continue
        if expected is None or target is None:
            continue
        parameters = list(inspect.signature(target).parameters.values())  # type: ignore[arg-type]
        names = tuple(p.name for p in parameters)
        # Extra parameters are fine as long as the plugin's calls need not pass them.
        required_extra = [
            p.name
            for p in parameters[len(expected) :]
            if p.default is inspect.Parameter.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if names[: len(expected)] != expected or required_extra:
            problems.append(f"{dotted}: parameters {names}, the plugin expects {expected}")
    return problems
