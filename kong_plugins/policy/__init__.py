"""Model catalogue and per-role model policy (pure functions over plugin config)."""
