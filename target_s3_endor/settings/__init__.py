"""The settings: each checked against the outside limit it names."""
