"""Contract tests share the parsed specs (loaded once per session)."""
