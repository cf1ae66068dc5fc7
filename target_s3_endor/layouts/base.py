"""What a layout is: the few things that differ between two ways of writing keys.

A layout (the ``layout`` setting) decides which sink turns records into
objects, which settings it needs, and where the target's own objects go beside
the data: the connection test's probes, the completeness proofs and the run
manifests.  Each layout module ends with one ``Layout`` holding those, and
``registry.py`` lists them; ``target.py``, ``probe.py`` and ``verify/`` look a
layout up there instead of comparing its name, so a new layout is one module
and one line.

The sink is named, not imported (``"module:Class"``): the Security Lake sink
loads pyarrow, and a run of another layout, or ``--about``, must start without
it.  ``tests/test_target/test_layouts.py`` resolves every name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from target_s3_endor.naming import MANIFEST_FOLDER, join_key

if TYPE_CHECKING:
    from singer_sdk.sinks import Sink

Config = Mapping[str, Any]


class LayoutSettings(Protocol):
    """What layouts read of the target's settings (``settings/model.py:TargetSettings`` is one).

    Layouts sit below ``settings/`` in the import layers, so they name what they read
    here instead of importing the model: read-only properties, as the model is frozen.
    The settings rules (``Layout.check``) read the raw configuration instead: they run
    before the model is built; the key-length rules (``Layout.key_rule``) read this,
    as they need the defaults applied (``prefix``, ``exporter_name``).
    """

    @property
    def prefix(self) -> str:
        """Key prefix segments ("" for none)."""

    @property
    def exporter_name(self) -> str:
        """The exporter's name in the key root."""

    @property
    def exporter_uuid(self) -> str | None:
        """The exporter's uuid in the key root; None: derived from exporter_name."""

    @property
    def region(self) -> str | None:
        """The bucket's region (Security Lake keys hold it)."""

    @property
    def security_lake_account_id(self) -> str | None:
        """The account id in Security Lake keys."""

    @property
    def security_lake_source_names(self) -> Mapping[str, str]:
        """Source names given, by setting key ({}: the defaults)."""


@dataclass(frozen=True)
class Layout:
    """One layout: its name, its sink, its settings rule and where its own objects go.

    ``exporter_root`` below is ``{prefix}/{exporter}`` (``endor.exporter_root``),
    computed once per run; a layout that does not write under it ignores it.
    """

    #: The ``layout`` setting's value.
    name: str
    #: ``"module:Class"`` of the sink writing a data stream's records; imported on first use.
    sink: str
    #: Raises ``SettingsError`` (one line, naming the setting) for a configuration
    #: this layout cannot write with; returns None otherwise.
    check: Callable[[Config], None]
    #: The layout's key-length rule: raises ``SettingsError`` (one line, naming the
    #: setting to shorten) when a key this layout could write with these settings would
    #: pass S3's 1,024 bytes (``naming.MAX_KEY_BYTES``); each layout's keys have their
    #: own shape, so each budgets its own (settings/limits.py runs the one of the layout).
    key_rule: Callable[[LayoutSettings], None]
    #: Every folder the layout writes under, in order: where the connection test
    #: puts a probe each and ``--verify`` lists proofs.
    roots: Callable[[LayoutSettings], list[str]]
    #: (settings, exporter root, stream) -> the folder a stream's proofs go under.
    proof_root: Callable[[LayoutSettings, str, str], str]
    #: (exporter root, key written) -> the folder whose ``_manifests/`` lists that key.
    key_root: Callable[[str, str], str]
    #: Whether a run that wrote nothing still gets a manifest (under the exporter root).
    manifest_when_empty: bool
    #: Settings this layout never reads: one given (other than its default) gets a
    #: warning at start (settings/checks.py:ignored_setting_lines), not silence.
    ignored_settings: tuple[str, ...] = ()
    #: Why, for that warning line: ``{setting} is ignored under layout: {name} ({this})``.
    ignored_because: str = ""

    def sink_class(self) -> type[Sink]:
        """The sink class, imported now (only a run of this layout pays for its imports)."""
        module_name, _, class_name = self.sink.partition(":")
        sink: type[Sink] = getattr(importlib.import_module(module_name), class_name)
        return sink

    def manifest_folder(self, exporter_root: str, key: str) -> str:
        """The folder of the run manifest that lists ``key``: ``{its root}/_manifests``."""
        return join_key(self.key_root(exporter_root, key), MANIFEST_FOLDER)

    def empty_run_manifest_folder(self, exporter_root: str) -> str | None:
        """Where the manifest of a run that wrote no object goes; None: it gets none."""
        return join_key(exporter_root, MANIFEST_FOLDER) if self.manifest_when_empty else None
