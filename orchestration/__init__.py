"""Running the export on an orchestrator: examples the tests execute, shipped in the wheel."""
