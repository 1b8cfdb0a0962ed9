#!/usr/bin/env bash
# sql/release.sh: releases the version therapyassistance.control names, freezing its scripts
# into sql/releases/ (never edited again): the install scripts of both installs, every step in
# the making (sql/upgrade/FROM--VERSION/, whose sources it then removes), the fingerprint of
# its tables (schema-VERSION.txt, from a fresh install in a scratch database of the local
# cluster) and their checksums. Then `git tag vVERSION`, and the next schema change opens
# sql/upgrade/VERSION--NEXT/ with default_version bumped to NEXT.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
version=$(sed -n "s/^default_version = '\(.*\)'$/\1/p" "$ROOT/therapyassistance.control")
rel=$ROOT/sql/releases
[ ! -e "$rel/therapyassistance--$version.sql" ] || { say "$version is released already"; exit 1; }
pg_running || { say "PostgreSQL is not running: make up first"; exit 1; }

# Every script is built before any is written into releases/: the build takes a frozen file that
# exists (even an empty one a redirection just made) for the released script itself.
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
"$ROOT/sql/build.sh" install extension "$version" > "$tmp/therapyassistance--$version.sql"
"$ROOT/sql/build.sh" install fallback "$version" > "$tmp/fallback--$version.sql"
steps=()
for step in "$ROOT"/sql/upgrade/*--"$version"/; do
    [ -d "$step" ] || continue
    from=$(basename "$step"); from=${from%--*}
    "$ROOT/sql/build.sh" step extension "$from" "$version" > "$tmp/therapyassistance--$from--$version.sql"
    "$ROOT/sql/build.sh" step fallback "$from" "$version" > "$tmp/fallback--$from--$version.sql"
    steps+=("sql/upgrade/$from--$version")
done
for f in "$tmp"/*.sql; do [ -s "$f" ] || { say "$f came out empty: nothing released"; exit 1; }; done
mv "$tmp"/*.sql "$rel/"
for step in "${steps[@]}"; do git -C "$ROOT" rm -rq "$step"; done

db=ta_release_fingerprint owner=ta_release_owner
psql_super -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
    -c "DROP ROLE IF EXISTS $owner" -c "CREATE ROLE $owner LOGIN" -c "CREATE DATABASE $db OWNER $owner"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U "$owner" -d "$db" -1 -f "$rel/fallback--$version.sql" >/dev/null
# in Warsaw's time zone, as every step's check reads it (sql/upgrade/check.sql)
PGTZ=Europe/Warsaw psql_super -d "$db" -tA -f "$ROOT/sql/upgrade/fingerprint.sql" > "$rel/schema-$version.txt"
psql_super -d postgres -c "DROP DATABASE $db" -c "DROP ROLE $owner"

# The sums of the files released before stay as they were: a changed one still fails the check.
(cd "$rel" && sha256sum -- ./*"$version".sql "schema-$version.txt" | sed 's| \./| |' >> SHA256SUMS)
git -C "$ROOT" add sql/releases
say "released $version into sql/releases/: commit, then git tag v$version"
say "regress/upgrade/fill-$version.sql (its data, written through its api) is needed once $version is upgraded from"
