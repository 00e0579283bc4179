"""Persistence: typed tables, the engine, repositories that own every SQL statement, and migrations."""
