"""cogov.control (see DESIGN.md)."""
