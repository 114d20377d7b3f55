"""One case through intake, triage, control, review and the ledger (see DESIGN.md)."""
