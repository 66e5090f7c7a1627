"""Inspect: a live database -> SchemaSpec, and a report of what the YAML cannot express."""
