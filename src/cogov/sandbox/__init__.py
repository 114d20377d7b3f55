"""cogov.sandbox (see DESIGN.md)."""
