"""Vector search over a service's collection, kept in memory and in step with the database."""
