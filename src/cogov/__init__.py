"""cogov: human-machine co-governance for AI digital employees working citizen requests."""

__version__ = "0.1.0"
