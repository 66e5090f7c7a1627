-- Schemas that hold nothing the YAML describes, and an extension in its own schema,
-- with version: a database like this must be inspected and created again as it is.
CREATE SCHEMA archive;
CREATE SCHEMA "Staging Area";
CREATE SCHEMA geo;
CREATE EXTENSION cube SCHEMA geo VERSION '1.4';
CREATE TABLE zero_columns ();
CREATE TABLE archive.nothing_yet ();
