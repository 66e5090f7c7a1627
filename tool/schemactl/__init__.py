"""schemactl: declarative PostgreSQL schema migrations from YAML."""

__version__ = "0.1.0"
