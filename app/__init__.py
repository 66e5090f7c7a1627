"""The example blog application: the FastAPI-style side of the worked example.

schema/blog.yaml is the schema; app/models.py (SQLAlchemy) and app/schemas.py (pydantic) are
generated from it by `schemactl models`; app/db.py opens sessions; app/queries.py is what
request handlers call. The database is brought to head with `schemactl apply`, never with
create_all().
"""
