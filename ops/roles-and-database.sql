-- The owner and application roles (with their passwords) and the database owned by the owner,
-- created when missing; run as a superuser by deploy-mikrus.sh init and docker/initdb.sh with
-- psql variables owner, owner_pw, app, app_pw, db. Neither role gets any special attribute.
SELECT format('CREATE ROLE %I LOGIN', r) FROM unnest(ARRAY[:'owner', :'app']) r
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS PASSWORD %L', r, pw)
  FROM (VALUES (:'owner', :'owner_pw'), (:'app', :'app_pw')) AS v(r, pw) \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
