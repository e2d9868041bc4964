"""Small loopback HTTP servers that emulate provider APIs for tests and examples."""
