"""Every singer-sdk private name the target overrides, calls or reads, in one list.

singer-sdk's Target and Sink expose few public hooks for what this target
needs (message handlers with one-line errors, state held back while a scan is
open, a direct record path, signals stopping at a message boundary), so it
uses these underscored names.  ``tests/test_target/test_sdk_hooks.py`` checks
that each still exists with the listed parameters (``connector_common.sdk_hooks``)
and that the target's code uses no other private SDK name.
"""

from __future__ import annotations

from connector_common.sdk_hooks import Hooks
from connector_common.settings_env import SDK_PRIVATE_NAMES as ENV_SDK_NAMES

_TARGET = "singer_sdk.target_base.Target"
_SINK = "singer_sdk.sinks.core.Sink"
_MESSAGE = ("self", "message_dict")

SDK_PRIVATE_HOOKS: Hooks = {
    # Message handlers: every Singer message type, checked and guarded.
    f"{_TARGET}._process_record_message": _MESSAGE,
    f"{_TARGET}._process_schema_message": _MESSAGE,
    f"{_TARGET}._process_state_message": _MESSAGE,
    f"{_TARGET}._process_activate_version_message": _MESSAGE,
    f"{_TARGET}._process_batch_message": _MESSAGE,
    f"{_TARGET}._assert_line_requires": ("self", "message_dict", "requires"),
    f"{_TARGET}._assert_sink_exists": ("self", "stream_name"),
    # State: printed as received, held back while a scan is open.
    f"{_TARGET}._write_state_message": ("self", "state"),
    f"{_TARGET}._latest_state": None,
    # Signals stop the target at a message boundary.
    f"{_TARGET}._handle_termination": ("self", "signum", "frame"),
    # The direct record path (record_path.py) and batch age.
    f"{_TARGET}._sinks_active": None,
    f"{_TARGET}._handle_max_record_age": ("self",),
    f"{_TARGET}._MAX_RECORD_AGE_IN_MINUTES": None,
    f"{_SINK}._remove_sdc_metadata_from_record": ("self", "record"),
    f"{_SINK}._singer_validate_message": ("self", "record"),
    f"{_SINK}._validate_and_parse": ("self", "record"),
    f"{_SINK}._total_records_read": None,
    # Settings: explicit nulls dropped before validation; the CLI's config callback.
    "singer_sdk.plugin_base.PluginBase._validate_config": ("self", "raise_errors"),
    "singer_sdk.plugin_base.PluginBase._config": None,
    "singer_sdk.plugin_base._ConfigInput": None,
    # --config=ENV: connector_common/settings_env.py (the plugin overrides _env_var_config).
    **ENV_SDK_NAMES,
}
