"""A local Endor Labs API emulator: a real HTTP server the tap and the tests talk to.

Run it with ``python -m tests.emulator --help``; ``README.md`` beside this file
documents every flag and control endpoint.
"""
