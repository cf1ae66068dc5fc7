"""Singer messages in: the reader, the message handlers, checks, BATCH files and state text.

The only package that overrides or reads singer-sdk internals (listed in ``sdk_hooks.py``).
"""
