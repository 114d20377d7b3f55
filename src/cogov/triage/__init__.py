"""cogov.triage (see DESIGN.md)."""
