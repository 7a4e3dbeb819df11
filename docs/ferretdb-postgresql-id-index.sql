-- FerretDB v1 (1.24) on PostgreSQL reads a document by _id with `_jsonb->'_id' @> $1`, which its
-- own unique btree index on `_jsonb->'_id'` cannot serve: every findOne by _id scans the whole
-- table, so the store's CPU per run grows with the history kept. A GIN index (jsonb_path_ops)
-- on the same expression serves `@>`. This event trigger adds one to every table FerretDB
-- creates from now on (FerretDB's own `_ferretdb_*` tables excepted); run it once, as a
-- superuser, in FerretDB's PostgreSQL database before CDS first starts:
--
--   psql -h 127.0.0.1 -U postgres -d ferretdb -v ON_ERROR_STOP=1 -f docs/ferretdb-postgresql-id-index.sql
--
-- Tables created earlier get theirs with, per table:
--   CREATE INDEX ON "<database>"."<table>" USING gin ((_jsonb -> '_id') jsonb_path_ops);
-- It changes no result, only how PostgreSQL finds the rows (see docs/benchmarks.md).

CREATE OR REPLACE FUNCTION cds_ferretdb_id_index() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
  t record;
BEGIN
  FOR t IN SELECT objid::regclass AS rel FROM pg_event_trigger_ddl_commands()
           WHERE command_tag = 'CREATE TABLE' AND object_type = 'table'
  LOOP
    IF (SELECT relname FROM pg_class WHERE oid = t.rel) NOT LIKE '\_ferretdb\_%' THEN
      EXECUTE format('CREATE INDEX ON %s USING gin ((_jsonb -> ''_id'') jsonb_path_ops)', t.rel);
    END IF;
  END LOOP;
END $$;
SET client_min_messages = warning; -- no notice when there is no trigger to replace
DROP EVENT TRIGGER IF EXISTS cds_ferretdb_id_index;
CREATE EVENT TRIGGER cds_ferretdb_id_index ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
  EXECUTE FUNCTION cds_ferretdb_id_index();
