"""Use cases. Plain Python: no FastAPI, no HTTP; the API, the CLI and the admin side all call these."""
