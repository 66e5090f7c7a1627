"""YAML -> SchemaSpec: load (with positions), validate and normalise."""
