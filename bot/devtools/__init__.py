"""Tools for tests and benchmarks; nothing here runs in production."""
