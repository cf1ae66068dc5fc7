"""What both plugins share, written once: they ship in one distribution."""
