"""``python -m tests.emulator``: run the Endor Labs API emulator."""

import sys

from tests.emulator.cli import main

sys.exit(main())
