"""Developer commands (not part of the runtime)."""
