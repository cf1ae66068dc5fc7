"""The singer-sdk private names the tap relies on still exist, with the parameters it uses.

An SDK upgrade that renames or reshapes one would otherwise fail quietly (an
override never called) or late (mid-sync); this fails at once with the list.
The check is shared with the target (``connector_common/sdk_hooks.py``).
"""

from __future__ import annotations

from connector_common.sdk_hooks import hook_problems
from tap_endorlabs.client import SDK_PRIVATE_HOOKS


def test_every_private_sdk_hook_is_still_there() -> None:
    problems = hook_problems(SDK_PRIVATE_HOOKS)
    assert not problems, "singer-sdk changed hooks the tap overrides:\n" + "\n".join(problems)


def test_the_check_names_a_missing_hook() -> None:
    problems = hook_problems({"singer_sdk.streams.core.Stream._no_such_hook_here": None})
    assert problems
    assert "_no_such_hook_here" in problems[0]
