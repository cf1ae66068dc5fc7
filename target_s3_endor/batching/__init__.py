"""Which record goes into which object, and when the object is written."""
