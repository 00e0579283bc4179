"""Command line: parses options, builds settings, calls the same services as the REST API."""
