"""The settings: the schema, ``TargetSettings`` built once from it, and every check."""
