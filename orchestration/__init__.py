"""Running the export on an orchestrator: examples the tests execute (not in the wheel)."""
