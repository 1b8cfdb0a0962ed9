#!/usr/bin/env bats
# deploy-mikrus.sh without a VPS: its arguments, the settings it writes, the systemd units and
# nginx site it renders (checked by systemd-analyze and nginx -t), and its database steps
# against the real local PostgreSQL as a shared instance (owner only, plain-SQL install).

setup() {
    load helpers
    DEPLOY=$ROOT/deploy-mikrus.sh
    export TA_ETC=$BATS_TEST_TMPDIR/etc TA_HOME=$BATS_TEST_TMPDIR/home \
           SYSTEMD_DIR=$BATS_TEST_TMPDIR/systemd NGINX_DIR=$BATS_TEST_TMPDIR/nginx
}

# An nginx a test started is stopped even when the test fails.
teardown() {
    local pidfile=$BATS_TEST_TMPDIR/run/nginx.pid pid
    if [ -s "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
    # Proxies a test started (start_proxy).
    if [ -s "$BATS_TEST_TMPDIR/proxy.pids" ]; then
        while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$BATS_TEST_TMPDIR/proxy.pids"
    fi
}

# Runs deploy-mikrus.sh's functions in a subshell: deploy FUNCTION ARGS...
deploy() { bash -c 'script=$1; shift; . "$script"; "$@"' deploy-test "$DEPLOY" "$@"; }

# A TCP port nothing listens on.
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 20000))
        ss -ltnH "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
}

@test "help, no command, unknown commands and stray arguments" {
    run "$DEPLOY" help
    [ "$status" -eq 0 ]
    for c in init deploy update "restart | stop" logs status backup restore; do
        [[ $output == *"  $c "* ]]
    done
    run "$DEPLOY"
    [ "$status" -eq 0 ] && [[ $output == *"usage:"* ]]
    run "$DEPLOY" deplooy
    [ "$status" -eq 2 ] && [[ $output == *"unknown command deplooy"* ]]
    run "$DEPLOY" status now
    [ "$status" -eq 1 ] && [[ $output == *"status takes no arguments"* ]]
    run "$DEPLOY" init --domain
    [ "$status" -eq 1 ] && [[ $output == *"--domain needs a value"* ]]
    run "$DEPLOY" init --colour blue
    [ "$status" -eq 1 ] && [[ $output == *"unknown argument '--colour'"* ]]
    run "$DEPLOY" restore a.dump b.dump
    [ "$status" -eq 1 ] && [[ $output == *"one FILE"* ]]
    run "$DEPLOY" restore --force
    [ "$status" -eq 1 ] && [[ $output == *"unknown option --force"* ]]
    run "$DEPLOY" backup now
    [ "$status" -eq 1 ]
    run "$DEPLOY" logs --all
    [ "$status" -eq 1 ]
    [ ! -e "$TA_ETC" ]
}

@test "commands that need settings say to run init first" {
    [ "$(id -u)" = 0 ] || skip "needs root (the commands check for it first)"
    for c in status backup restore deploy; do
        run "$DEPLOY" $c
        [ "$status" -eq 1 ]
        [[ $output == *"run ./deploy-mikrus.sh init first"* ]]
    done
}

@test "settings: a generated JWT secret in mode-600 files, kept when init runs again" {
    DOMAIN=gabinet.example.pl run deploy write_settings
    [ "$status" -eq 0 ]
    [ "$(stat -c %a "$TA_ETC/.env")" = 600 ] && [ "$(stat -c %a "$TA_ETC/owner.env")" = 600 ]
    secret=$(sed -n 's/^JWT_SECRET=//p' "$TA_ETC/.env")
    [ ${#secret} -ge 60 ]
    grep -qx 'DB_HOST=127.0.0.1' "$TA_ETC/.env"
    grep -qx 'DB_USER=ta_app' "$TA_ETC/.env"
    grep -qx 'ALLOWED_ORIGINS=https://gabinet.example.pl' "$TA_ETC/.env"
    grep -qx 'DB_OWNER=ta_owner' "$TA_ETC/owner.env"
    # The proxy's file holds no owner credentials; the owner's password is its own.
    run grep -c OWNER "$TA_ETC/.env"
    [ "$output" = 0 ]
    [ "$(sed -n 's/^DB_PASSWORD=//p' "$TA_ETC/.env")" != "$(sed -n 's/^DB_OWNER_PASSWORD=//p' "$TA_ETC/owner.env")" ]
    before=$(cat "$TA_ETC/.env" "$TA_ETC/owner.env")
    run deploy write_settings
    [ "$status" -eq 0 ] && [[ $output == *"keeping $TA_ETC/.env"* ]]
    [ "$(cat "$TA_ETC/.env" "$TA_ETC/owner.env")" = "$before" ]
}

@test "settings for a shared PostgreSQL: its credentials, the same role owns and serves" {
    DB_HOST=psql01.mikr.us DB_NAME=db_x DB_USER=x run deploy write_settings
    [ "$status" -eq 1 ] && [[ $output == *"needs DB_NAME, DB_USER and DB_PASSWORD"* ]]
    [ ! -e "$TA_ETC/.env" ]
    DB_HOST=psql01.mikr.us DB_NAME=db_x DB_USER=x DB_PASSWORD='p@ss w0rd' run deploy write_settings
    [ "$status" -eq 0 ]
    grep -qx 'DB_HOST=psql01.mikr.us' "$TA_ETC/.env"
    # TLS to the shared PostgreSQL unless told otherwise (the proxy and psql both read it).
    grep -qx 'DB_SSLMODE=require' "$TA_ETC/.env"
    # ... and the reminder sender's (it reads names, addresses and phone numbers with the same role's password).
    grep -qx 'DB_SSLMODE=require' "$TA_ETC/notifier.env"
    grep -qx 'DB_USER=x' "$TA_ETC/.env"
    grep -qx 'DB_OWNER=x' "$TA_ETC/owner.env"
    # Values with spaces survive the round trip through the files.
    [ "$(deploy eval 'load_settings && echo "$DB_PASSWORD"')" = 'p@ss w0rd' ]
    DB_HOST=psql01.mikr.us DB_NAME=db_y DB_USER=y DB_PASSWORD="it's" TA_ETC=$TA_ETC/2 run deploy write_settings
    [ "$status" -eq 1 ] && [[ $output == *"DB_PASSWORD"* ]]
}

@test "the proxy's systemd unit is hardened and valid; the backup runs daily at 03:00" {
    mkdir -p "$TA_HOME/current" "$TA_ETC"
    cp /bin/true "$TA_HOME/current/therapyassistance-proxy"
    : > "$TA_ETC/.env"
    BACKUP_DIR=/var/backups/ta BACKUP_COPY_DIR=/mnt/backup PORT=8000 run deploy render_units
    [ "$status" -eq 0 ]
    unit=$SYSTEMD_DIR/therapyassistance.service
    for line in User=therapyassistance NoNewPrivileges=yes ProtectSystem=strict MemoryMax=128M \
                "EnvironmentFile=$TA_ETC/.env" "ExecStart=$TA_HOME/current/therapyassistance-proxy" \
                CapabilityBoundingSet= PrivateTmp=yes; do
        grep -qx "$line" "$unit"
    done
    run grep -c '@[A-Z_]*@' "$SYSTEMD_DIR"/*
    [ "$status" -ne 0 ]
    grep -qx 'OnCalendar=\*-\*-\* 03:00:00' "$SYSTEMD_DIR/therapyassistance-backup.timer"
    grep -qx 'ReadWritePaths=/var/backups/ta /mnt/backup' "$SYSTEMD_DIR/therapyassistance-backup.service"
    grep -qx "ExecStart=$ROOT/deploy-mikrus.sh backup" "$SYSTEMD_DIR/therapyassistance-backup.service"
    command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
    run systemd-analyze verify "$unit" "$SYSTEMD_DIR/therapyassistance-backup.service" \
        "$SYSTEMD_DIR/therapyassistance-backup.timer"
    echo "$output"
    [ "$status" -eq 0 ]
    # systemd's own exposure score (0 = locked down, 10 = unprotected): at most 2.0.
    run systemd-analyze security --offline=true --threshold=20 "$unit"
    echo "$output" | tail -n 1
    [ "$status" -eq 0 ]
}

@test "the nginx site renders and nginx -t accepts it, without and with a certificate" {
    [ -f "$ROOT/nginx/site.conf" ] || skip "nginx/ is not in this checkout yet (the SPA branch brings it)"
    command -v nginx >/dev/null || skip "nginx is not installed"
    mkdir -p "$NGINX_DIR" "$BATS_TEST_TMPDIR/run"
    cp /etc/nginx/mime.types "$NGINX_DIR/"
    check_nginx() {
        cat > "$NGINX_DIR/test.conf" <<CONF
pid $BATS_TEST_TMPDIR/run/nginx.pid;
error_log stderr;
events {}
http {
    access_log off;
    include $NGINX_DIR/sites-available/therapyassistance;
}
CONF
        nginx -t -q -p "$NGINX_DIR" -c "$NGINX_DIR/test.conf" -g 'daemon off;'
    }
    PORT=8123 WEB_PORT=8081 run deploy render_nginx
    [ "$status" -eq 0 ]
    grep -q 'server 127.0.0.1:8123;' "$NGINX_DIR/sites-available/therapyassistance"
    grep -q "root $TA_HOME/current/web;" "$NGINX_DIR/sites-available/therapyassistance"
    run check_nginx
    echo "$output"
    [ "$status" -eq 0 ]
    # With a domain and its certificate: the production server of nginx/therapyassistance.conf.
    export LETSENCRYPT_DIR=$BATS_TEST_TMPDIR/le
    mkdir -p "$LETSENCRYPT_DIR/live/gabinet.example.pl"
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=gabinet.example.pl \
        -keyout "$LETSENCRYPT_DIR/live/gabinet.example.pl/privkey.pem" \
        -out "$LETSENCRYPT_DIR/live/gabinet.example.pl/fullchain.pem" 2>/dev/null
    DOMAIN=gabinet.example.pl PORT=8123 run deploy render_nginx
    [ "$status" -eq 0 ]
    site=$NGINX_DIR/sites-available/therapyassistance
    grep -q 'server_name gabinet.example.pl;' "$site"
    grep -q 'server 127.0.0.1:8123;' "$site"
    sed -i "s|/etc/letsencrypt|$LETSENCRYPT_DIR|" "$site"
    run check_nginx
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "without a domain: plain HTTP on every address said loudly, on loopback only behind a front on this machine" {
    WEB_PORT=8081 run deploy render_nginx
    [ "$status" -eq 0 ]
    [[ $output == *"WARNING: no DOMAIN: nginx serves PLAIN HTTP on EVERY address"* ]]
    grep -q 'listen 8081;' "$NGINX_DIR/sites-available/therapyassistance"
    grep -q 'listen \[::\]:8081;' "$NGINX_DIR/sites-available/therapyassistance"
    REAL_IP_FROM=127.0.0.1 WEB_PORT=8081 run deploy render_nginx
    [ "$status" -eq 0 ]
    [[ $output != *WARNING* ]]
    grep -q 'listen 127.0.0.1:8081;' "$NGINX_DIR/sites-available/therapyassistance"
    grep -q 'listen \[::1\]:8081;' "$NGINX_DIR/sites-available/therapyassistance"
    ! grep -Eq 'listen (\[::\]:)?8081;' "$NGINX_DIR/sites-available/therapyassistance"
    # A front elsewhere (Mikrus' *.wykr.es) must still reach nginx: every address, and the warning.
    REAL_IP_FROM="127.0.0.1 10.0.0.0/8" WEB_PORT=8081 run deploy render_nginx
    [[ $output == *WARNING* ]]
    grep -q 'listen 8081;' "$NGINX_DIR/sites-available/therapyassistance"
}

@test "certbot's renewals reload nginx (a deploy hook), so a renewed certificate is served at once" {
    export LETSENCRYPT_DIR=$BATS_TEST_TMPDIR/le
    run deploy install_renewal_hook
    [ "$status" -eq 0 ]
    [ ! -e "$LETSENCRYPT_DIR/renewal-hooks/deploy/therapyassistance-reload-nginx" ]
    DOMAIN=gabinet.example.pl run deploy install_renewal_hook
    [ "$status" -eq 0 ]
    hook=$LETSENCRYPT_DIR/renewal-hooks/deploy/therapyassistance-reload-nginx
    [ -x "$hook" ]
    grep -qx 'exec systemctl reload nginx' "$hook"
    sh -n "$hook"
}

@test "behind an HTTPS front, REAL_IP_FROM makes nginx see the visitor's address, and only for that front" {
    [ -f "$ROOT/nginx/site.conf" ] || skip "nginx/ is not in this checkout yet"
    command -v nginx >/dev/null || skip "nginx is not installed"
    mkdir -p "$NGINX_DIR/logs" "$BATS_TEST_TMPDIR/run"
    cp /etc/nginx/mime.types "$NGINX_DIR/"
    probe=$(free_port)
    export PORT=8123
    # Starts nginx with the rendered site and a probe server that answers the address nginx
    # believes; the realip settings are at http level, as the site file is included there.
    serve() {
        cat > "$NGINX_DIR/test.conf" <<CONF
pid $BATS_TEST_TMPDIR/run/nginx.pid;
error_log $NGINX_DIR/logs/error.log;
events {}
http {
    access_log off;
    include $NGINX_DIR/sites-available/therapyassistance;
    server { listen 127.0.0.1:$probe; location / { return 200 "\$remote_addr"; } }
}
CONF
        nginx -p "$NGINX_DIR" -c "$NGINX_DIR/test.conf"
        for _ in $(seq 50); do curl -fs "http://127.0.0.1:$probe/" >/dev/null && return 0; sleep 0.1; done
        return 1
    }
    stop() { kill "$(cat "$BATS_TEST_TMPDIR/run/nginx.pid")"; sleep 0.3; }
    seen() { curl -fsS -H "X-Forwarded-For: $1" "http://127.0.0.1:$probe/"; }

    WEB_PORT=$(free_port) run deploy render_nginx
    [ "$status" -eq 0 ]
    serve
    [ "$(seen 203.0.113.7)" = 127.0.0.1 ]    # no front configured: the header is not believed
    stop
    REAL_IP_FROM="127.0.0.1, 2001:db8::/32" WEB_PORT=$(free_port) run deploy render_nginx
    [ "$status" -eq 0 ]
    grep -qx 'set_real_ip_from 2001:db8::/32;' "$NGINX_DIR/sites-available/therapyassistance"
    serve
    [ "$(seen 203.0.113.7)" = 203.0.113.7 ]  # from the front: the visitor's address
    stop
    REAL_IP_FROM=10.9.9.9 WEB_PORT=$(free_port) run deploy render_nginx
    serve
    [ "$(seen 203.0.113.7)" = 127.0.0.1 ]    # another front: not believed
    stop
    cp "$NGINX_DIR/sites-available/therapyassistance" "$BATS_TEST_TMPDIR/before"
    REAL_IP_FROM="10.0.0.1; include /etc/passwd" run deploy render_nginx
    [ "$status" -ne 0 ]
    [[ $output == *"REAL_IP_FROM"*"is not an address or a network"* ]]
    cmp "$BATS_TEST_TMPDIR/before" "$NGINX_DIR/sites-available/therapyassistance"
}

@test "database steps on a shared PostgreSQL: install once, run again unchanged, back up, restore" {
    pg_running || skip "PostgreSQL is not running: make up"
    psql_super -d postgres <<SQL
SET client_min_messages = warning;
DROP DATABASE IF EXISTS ops_test_deploy WITH (FORCE);
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', '$OPS_OWNER')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$OPS_OWNER') \gexec
CREATE DATABASE ops_test_deploy OWNER $OPS_OWNER;
SQL
    # The local cluster's socket stands in for the shared server's address.
    DB_HOST=$PGSOCK DB_PORT=$DB_PORT DB_NAME=ops_test_deploy DB_USER=$OPS_OWNER DB_PASSWORD=unused \
        BACKUP_DIR=$BATS_TEST_TMPDIR/backups deploy write_settings
    run deploy eval 'load_settings && echo "$INSTALL ${TA_ADMIN:-none}" && install_schema'
    echo "$output"
    [ "$status" -eq 0 ] && [[ ${lines[0]} == "fallback none" ]]
    [[ $output == *"installing the schema (fallback)"* ]]
    secret=$(sed -n 's/^JWT_SECRET=//p' "$TA_ETC/.env")
    [ "$(psql_super -d ops_test_deploy -tA -c "SELECT jwt_secret FROM ta.settings")" = "$secret" ]
    seed_practice ops_test_deploy terapeuta@example.com
    before=$(table_checksums ops_test_deploy)
    run deploy eval 'load_settings && install_schema'
    [ "$status" -eq 0 ] && [[ $output != *"installing"* ]]
    [ "$(table_checksums ops_test_deploy)" = "$before" ]

    run deploy eval 'load_settings && backup_create'
    [ "$status" -eq 0 ]
    file=${lines[-1]}
    psql_super -d ops_test_deploy -c "UPDATE ta.patients SET name = 'Zmieniony'" >/dev/null
    RESTORE_FILE=$file run deploy eval 'load_settings && YES=1 restore_run "$RESTORE_FILE"'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(table_checksums ops_test_deploy)" = "$before" ]
    psql_super -d postgres -c "DROP DATABASE ops_test_deploy WITH (FORCE)" >/dev/null
}

@test "deploy on a shared PostgreSQL holding schema 1.0: upgraded in one transaction with every row; a hand-edited one is left as it was" {
    pg_running || skip "PostgreSQL is not running: make up"
    for db in ops_test_upgrade ops_test_edited; do
        psql_super -d postgres <<SQL
SET client_min_messages = warning;
DROP DATABASE IF EXISTS $db WITH (FORCE);
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', '$OPS_OWNER')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$OPS_OWNER') \gexec
CREATE DATABASE $db OWNER $OPS_OWNER;
SQL
        "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U "$OPS_OWNER" -d $db -1 -f "$ROOT/sql/releases/fallback--1.0.sql" >/dev/null
    done
    need=$(sed -n "s/^default_version = '\(.*\)'$/\1/p" "$ROOT/therapyassistance.control")
    DB_HOST=$PGSOCK DB_PORT=$DB_PORT DB_NAME=ops_test_upgrade DB_USER=$OPS_OWNER DB_PASSWORD=unused \
        BACKUP_DIR=$BATS_TEST_TMPDIR/backups deploy write_settings
    psql_super -d ops_test_upgrade -c "SELECT ta.configure(repeat('s', 32))" >/dev/null
    # A practice's data written through 1.0's own api (today's seed speaks a later one).
    "$PGBIN/psql" -X -q -U "$OPS_OWNER" -d ops_test_upgrade -f "$ROOT/regress/upgrade/fill-1.0.sql" >/dev/null
    # Each table's rows as 1.0 typed them (regress/upgrade.sh's way), asked again after the upgrade.
    psql_super -d ops_test_upgrade -tA -f "$ROOT/regress/upgrade/row-queries.sql" > "$BATS_TEST_TMPDIR/rows.sql"
    before=$(psql_super -d ops_test_upgrade -tA -f "$BATS_TEST_TMPDIR/rows.sql")
    run deploy eval 'load_settings && install_schema && schema_version'
    echo "$output"
    [ "$status" -eq 0 ] && [[ $output == *"upgrading the schema (fallback) from 1.0 to $need"* ]]
    [ "${lines[-1]}" = "$need" ]
    [ "$(psql_super -d ops_test_upgrade -tA -f "$BATS_TEST_TMPDIR/rows.sql" | grep -v '^settings|')" = \
      "$(grep -v '^settings|' <<<"$before")" ]

    psql_super -d ops_test_edited -c "ALTER TABLE ta.payments ADD COLUMN invoice text" >/dev/null
    sed -i 's/^DB_NAME=.*/DB_NAME=ops_test_edited/' "$TA_ETC/.env"
    run deploy eval 'load_settings && install_schema'
    echo "$output"
    [ "$status" -ne 0 ] && [[ $output == *"column ta.payments.invoice"* ]] && [[ $output == *"schema 1.0, unchanged"* ]]
    [ "$(psql_super -d ops_test_edited -tA -c "SELECT to_regprocedure('api.schema_version()') IS NULL")" = t ]
    psql_super -d postgres -c "DROP DATABASE ops_test_upgrade WITH (FORCE)" -c "DROP DATABASE ops_test_edited WITH (FORCE)" >/dev/null
}

@test "every command has --help, which changes nothing" {
    for c in init deploy update restart stop logs status backup pitr-backup restore; do
        run "$DEPLOY" "$c" --help
        [ "$status" -eq 0 ]
        [[ ${lines[0]} == "usage: ./deploy-mikrus.sh $c"* ]]
    done
    run "$DEPLOY" restore --time latest --help
    [ "$status" -eq 0 ] && [[ $output == *"--time"*"swapped in once it works"* ]]
    [ ! -e "$TA_ETC" ]
}

@test "restore --time, pitr-backup and logs refuse bad arguments before anything else" {
    run "$DEPLOY" restore --time
    [ "$status" -eq 1 ] && [[ $output == *"--time needs a value"* ]]
    run "$DEPLOY" restore backup.dump --time latest
    [ "$status" -eq 1 ] && [[ $output == *"a FILE or --time, not both"* ]]
    run "$DEPLOY" pitr-backup weekly
    [ "$status" -eq 1 ] && [[ $output == *"full, diff or incr"* ]]
    run "$DEPLOY" logs mysql
    [ "$status" -eq 1 ] && [[ $output == *"proxy, notifier, postgresql, nginx, backup, pitr, all"* ]]
    [ ! -e "$TA_ETC" ]
}

@test "pgBackRest's timers: a full backup on Sundays, a differential one the other days; valid units" {
    run deploy eval 'PITR_REPO=/var/lib/pgbackrest/ta PITR_DIR=/var/lib/pgbackrest/ta-state render_pitr_units'
    [ "$status" -eq 0 ]
    grep -qx 'OnCalendar=Sun \*-\*-\* 02:30:00' "$SYSTEMD_DIR/therapyassistance-pitr-full.timer"
    grep -qx 'OnCalendar=Mon..Sat \*-\*-\* 02:30:00' "$SYSTEMD_DIR/therapyassistance-pitr-diff.timer"
    grep -qx "ExecStart=$ROOT/deploy-mikrus.sh pitr-backup full" "$SYSTEMD_DIR/therapyassistance-pitr-full.service"
    grep -qx "ExecStart=$ROOT/deploy-mikrus.sh pitr-backup diff" "$SYSTEMD_DIR/therapyassistance-pitr-diff.service"
    grep -qx 'ReadWritePaths=/var/lib/pgbackrest/ta /var/lib/pgbackrest/ta-state' \
        "$SYSTEMD_DIR/therapyassistance-pitr-full.service"
    run grep -c '@[A-Z_]*@' "$SYSTEMD_DIR"/*
    [ "$status" -ne 0 ]
    command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
    run systemd-analyze verify "$SYSTEMD_DIR"/therapyassistance-pitr-*
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "the settings carry pgBackRest's repository and retention; load_pitr takes them" {
    BACKREST_RETENTION_FULL=4 run deploy write_settings
    [ "$status" -eq 0 ]
    grep -qx 'BACKREST_RETENTION_FULL=4' "$TA_ETC/.env"
    grep -qx 'BACKREST_RETENTION_DIFF=7' "$TA_ETC/.env"
    grep -qx 'BACKREST_REPO=/var/lib/pgbackrest/therapyassistance' "$TA_ETC/.env"
    # The repository's passphrase: generated, and kept by init; settings written before it get one, once.
    pass=$(sed -n 's/^BACKREST_CIPHER_PASS=//p' "$TA_ETC/.env")
    [ ${#pass} -ge 40 ]
    run deploy eval 'load_settings && add_backrest_passphrase'
    [ "$status" -eq 0 ] && [ "$(sed -n 's/^BACKREST_CIPHER_PASS=//p' "$TA_ETC/.env")" = "$pass" ]
    sed -i '/^BACKREST_CIPHER_PASS=/d' "$TA_ETC/.env"
    run deploy eval 'load_settings && add_backrest_passphrase && add_backrest_passphrase'
    [ "$status" -eq 0 ] && [[ $output == *"added BACKREST_CIPHER_PASS"* ]]
    [ "$(grep -c '^BACKREST_CIPHER_PASS=' "$TA_ETC/.env")" = 1 ]
    [ "$(sed -n 's/^BACKREST_CIPHER_PASS=//p' "$TA_ETC/.env")" != "$pass" ]
    [ "$(stat -c %a "$TA_ETC/.env")" = 600 ]
    mkdir -p "$BATS_TEST_TMPDIR/pg/15/main"
    PG_ETC=$BATS_TEST_TMPDIR/pg run deploy eval \
        'load_settings && load_pitr && echo "$PITR_RETENTION_FULL $PITR_REPO $PG_SERVICE $PITR_START_OPTS"' 
    [ "$status" -eq 0 ]
    [ "$output" = "4 /var/lib/pgbackrest/therapyassistance postgresql@15-main -c config_file=$BATS_TEST_TMPDIR/pg/15/main/postgresql.conf" ]
}

# A fresh database of the test owner, installed the way init does on a shared PostgreSQL: DB
# (dropped first) with settings in $TA_ETC; extra NAME=VALUE settings go to write_settings.
shared_install() {
    local db=$1; shift
    psql_super -d postgres >/dev/null <<SQL
SET client_min_messages = warning;
DROP DATABASE IF EXISTS $db WITH (FORCE);
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', '$OPS_OWNER')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$OPS_OWNER') \gexec
CREATE DATABASE $db OWNER $OPS_OWNER;
SQL
    env DB_HOST="$PGSOCK" DB_PORT="$DB_PORT" DB_NAME="$db" DB_USER="$OPS_OWNER" DB_PASSWORD=unused \
        BACKUP_DIR="$BATS_TEST_TMPDIR/backups" "$@" bash -c '. "$1"; write_settings' deploy-test "$DEPLOY"
    deploy eval 'load_settings && install_schema' >/dev/null
}

# start_proxy PORT LOG DATABASE: the real proxy binary on PORT against DATABASE of this cluster,
# its output in LOG; returns once it answers /health at all (a missing database answers 503).
start_proxy() {
    [ -x "$ROOT/proxy/therapyassistance-proxy" ] || make -s -C "$ROOT/proxy" all >/dev/null
    DATABASE_URL="postgresql:///$3?host=$PGSOCK&port=$DB_PORT&user=$OPS_OWNER" \
        JWT_SECRET=$(sed -n 's/^JWT_SECRET=//p' "$TA_ETC/.env") PORT=$1 LISTEN_ADDRESS=127.0.0.1 \
        PROXY_ENV_FILE=/dev/null "$ROOT/proxy/therapyassistance-proxy" >>"$2" 2>&1 &
    echo $! >> "$BATS_TEST_TMPDIR/proxy.pids"
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/health" && return 0; sleep 0.1; done
    return 1
}

@test "backups in the backup space are encrypted with age: not gzip nor SQL, restored with the key, a wrong key changes nothing; no key, no copy" {
    pg_running || skip "PostgreSQL is not running: make up"
    command -v age >/dev/null || skip "age is not installed: apt-get install age"
    local space=$BATS_TEST_TMPDIR/space keys=$BATS_TEST_TMPDIR/keys
    mkdir -p "$keys"
    age-keygen -o "$keys/right" 2>/dev/null
    age-keygen -o "$keys/wrong" 2>/dev/null
    pub=$(age-keygen -y "$keys/right")
    shared_install ops_test_age BACKUP_COPY_DIR="$space" BACKUP_AGE_RECIPIENT="$pub"
    grep -qx "BACKUP_AGE_RECIPIENT=$pub" "$TA_ETC/.env"
    seed_practice ops_test_age terapeuta@example.com
    psql_super -d ops_test_age -c "UPDATE ta.session_notes SET content = 'SEKRET-notatki-' || id" >/dev/null
    before=$(table_checksums ops_test_age)

    run deploy eval 'load_settings && backup_create'
    echo "$output"
    [ "$status" -eq 0 ]
    local_file=${lines[-1]}
    copy=$space/$(basename "$local_file").age
    [ -f "$copy" ] && [ "$(find "$space" -type f | wc -l)" = 1 ]   # only the encrypted one
    [[ $output == *"encrypted with age"* ]]
    # Not gzip, not a pg_dump archive, no SQL nor any patient's text: age's header and ciphertext.
    [ "$(head -n 1 "$copy")" = age-encryption.org/v1 ]
    [ "$(head -c 2 "$copy" | od -An -tx1 | tr -d ' ')" != 1f8b ]
    ! gzip -t "$copy" 2>/dev/null
    ! pg_restore --list "$copy" >/dev/null 2>&1
    ! grep -aq -e 'SEKRET-notatki' -e 'terapeuta@example.com' -e 'CREATE TABLE' -e PGDMP "$copy"
    # It decrypts with the key to exactly the local backup.
    age -d -i "$keys/right" "$copy" | cmp - "$local_file"

    psql_super -d ops_test_age -c "UPDATE ta.patients SET name = 'Zmieniony'" >/dev/null
    changed=$(table_checksums ops_test_age)
    [ "$changed" != "$before" ]
    files_before=$(find "$BATS_TEST_TMPDIR/backups" "$space" | sort)
    # A wrong key: refused before anything happens (no safety backup, no decrypted leftovers).
    RESTORE_FILE=$copy BACKUP_AGE_IDENTITY=$keys/wrong run deploy eval 'load_settings && YES=1 restore_run "$RESTORE_FILE"'
    echo "$output"
    [ "$status" -ne 0 ] && [[ $output == *"could not decrypt"*"wrong key?"*"nothing was changed"* ]]
    [ "$(table_checksums ops_test_age)" = "$changed" ]
    [ "$(find "$BATS_TEST_TMPDIR/backups" "$space" | sort)" = "$files_before" ]
    # The command line: an encrypted file needs its key; a wrong one fails the same way, before the proxy is stopped.
    run "$DEPLOY" restore "$copy" --yes </dev/null
    [ "$status" -ne 0 ] && [[ $output == *"encrypted with age: give its key file with --identity KEY"* ]]
    run "$DEPLOY" restore "$copy" --identity "$keys/wrong" --yes </dev/null
    [ "$status" -ne 0 ] && [[ $output == *"could not decrypt"*"wrong key?"* ]]
    run "$DEPLOY" restore "$copy" --identity "$keys/missing" --yes </dev/null
    [ "$status" -ne 0 ] && [[ $output == *"cannot read the age identity file"* ]]
    [ "$(table_checksums ops_test_age)" = "$changed" ]
    [ "$(find "$BATS_TEST_TMPDIR/backups" "$space" | sort)" = "$files_before" ]
    # The right key: every row back as it was backed up.
    RESTORE_FILE=$copy BACKUP_AGE_IDENTITY=$keys/right run deploy eval 'load_settings && YES=1 restore_run "$RESTORE_FILE"'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(table_checksums ops_test_age)" = "$before" ]
    [ -z "$(find "$BATS_TEST_TMPDIR/backups" -name '.decrypt.*')" ]

    # Without a key: the daily backup is kept here, nothing goes to the space, and it fails loudly;
    # a safety backup (before a deploy) warns and goes on. status says so too.
    sed -i 's/^BACKUP_AGE_RECIPIENT=.*/BACKUP_AGE_RECIPIENT=/' "$TA_ETC/.env"
    files_before=$(find "$space" -type f | sort)
    run deploy eval 'load_settings && backup_create'
    echo "$output"
    [ "$status" -ne 0 ] && [[ $output == *"BACKUP_AGE_RECIPIENT is not: NOT copying patients' data unencrypted"* ]]
    [ "$(find "$space" -type f | sort)" = "$files_before" ]
    run deploy eval 'load_settings && backup_create pre-deploy'
    [ "$status" -eq 0 ] && [[ $output == *"WARNING: the safety backup"*"stays on this machine only"* ]] && [ -f "${lines[-1]}" ]
    [ "$(find "$space" -type f | sort)" = "$files_before" ]
    run deploy eval 'load_settings && cmd_status'
    [[ $output == *"WARNING: BACKUP_COPY_DIR is set without BACKUP_AGE_RECIPIENT"* ]]
    # A recipient that is not an age public key is refused, not passed to age.
    sed -i 's/^BACKUP_AGE_RECIPIENT=.*/BACKUP_AGE_RECIPIENT=age1nope/' "$TA_ETC/.env"
    run deploy eval 'load_settings && backup_create'
    [ "$status" -ne 0 ] && [[ $output == *"'age1nope' is not an age public key"* ]]
    [ "$(find "$space" -type f | sort)" = "$files_before" ]
    psql_super -d postgres -c "DROP DATABASE ops_test_age WITH (FORCE)" >/dev/null
}

@test "init --demo seeds the demo practice once, and never into a database with accounts" {
    pg_running || skip "PostgreSQL is not running: make up"
    run "$DEPLOY" help
    [[ $output == *"--demo adds the demo practice"* ]]
    run "$DEPLOY" init --demo --colour blue
    [ "$status" -eq 1 ] && [[ $output == *"unknown argument '--colour'"* ]]
    shared_install ops_test_demo
    run deploy eval 'load_settings && seed_demo'
    echo "$output"
    [ "$status" -eq 0 ] && [[ $output == *"seeded the demo practice"* ]]
    [ "$(psql_super -d ops_test_demo -tA -c "SELECT count(*) FROM ta.patients")" = 5 ]
    [ "$(psql_super -d ops_test_demo -tA -c "SELECT count(*) FROM ta.payments")" = 1 ]
    # Its login works through the api, with the secret init stored.
    [ "$(psql_super -d ops_test_demo -tA -c \
        "SELECT api.login('{\"username\": \"terapeuta@example.com\", \"password\": \"haslo123\"}') ->> 'token_type'")" = bearer ]
    before=$(table_checksums ops_test_demo)
    run deploy eval 'load_settings && seed_demo'
    [ "$status" -eq 0 ] && [[ $output == *"keeping the demo practice"* ]]
    [ "$(table_checksums ops_test_demo)" = "$before" ]

    TA_ETC=$TA_ETC/other shared_install ops_test_demo_taken
    psql_super -d ops_test_demo_taken -c \
        "SELECT api.register('{\"email\": \"prawdziwa@example.com\", \"password\": \"haslo-prawdziwe\"}')" >/dev/null
    TA_ETC=$TA_ETC/other run deploy eval 'load_settings && seed_demo'
    [ "$status" -eq 0 ] && [[ $output == *"WARNING: not seeding the demo practice"* ]]
    [ "$(psql_super -d ops_test_demo_taken -tA -c "SELECT string_agg(email, ',') FROM ta.users")" = prawdziwa@example.com ]
    psql_super -d postgres -c "DROP DATABASE ops_test_demo WITH (FORCE)" -c "DROP DATABASE ops_test_demo_taken WITH (FORCE)" >/dev/null
}

@test "status: port, PostgreSQL, settings files, errors in the log, nginx; each warns" {
    pg_running || skip "PostgreSQL is not running: make up"
    port=$(free_port)
    shared_install ops_test_status PORT="$port"
    log=$BATS_TEST_TMPDIR/proxy.log
    # Nothing listens yet.
    run deploy eval 'load_settings && status_port'
    [ "$status" -eq 1 ] && [[ $output == *"nothing listens on port $port"* ]]
    start_proxy "$port" "$log" ops_test_status
    run deploy eval 'load_settings && status_port && status_database'
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"port: $port (127.0.0.1:$port)"* ]]
    [[ $output == *"database ops_test_status answers"* ]]
    # PostgreSQL unreachable (a port where nothing listens): said, not hung.
    sed -i "s/^DB_PORT=.*/DB_PORT=$(free_port)/" "$TA_ETC/.env"
    run deploy eval 'load_settings && status_database'
    [ "$status" -eq 1 ] && [[ $output == *"WARNING: PostgreSQL at"*"does not answer"* ]]
    sed -i "s/^DB_PORT=.*/DB_PORT=$DB_PORT/" "$TA_ETC/.env"

    # Settings: the units and the site are missing until deploy renders them; a file others may read.
    run deploy eval 'load_settings && status_config'
    [ "$status" -eq 1 ] && [[ $output == *"$SYSTEMD_DIR/therapyassistance.service is missing"* ]]
    mkdir -p "$TA_HOME/current" "$NGINX_DIR/sites-enabled"
    cp /bin/true "$TA_HOME/current/therapyassistance-proxy"
    deploy eval 'load_settings && render_units' >/dev/null
    : > "$NGINX_DIR/sites-enabled/therapyassistance"
    run deploy eval 'load_settings && status_config'
    echo "$output"
    [ "$status" -eq 0 ] && [[ $output == *"settings: "*"in place"* ]]
    chmod 644 "$TA_ETC/owner.env"
    run deploy eval 'load_settings && status_config'
    [ "$status" -eq 1 ] && [[ $output == *"$TA_ETC/owner.env may be read by others"* ]]
    chmod 600 "$TA_ETC/owner.env"

    # The log: a healthy proxy's has no errors; one whose database is gone answers 503 and says so,
    # while errors older than 24 hours no longer count.
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null
    TA_LOG_FILE=$log run deploy eval 'load_settings && status_logs'
    echo "$output"
    [ "$status" -eq 0 ] && [[ $output == *"no errors in the last 24 h"* ]]
    broken_port=$(free_port) broken_log=$BATS_TEST_TMPDIR/broken.log
    start_proxy "$broken_port" "$broken_log" ops_test_nowhere
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$broken_port/health")" = 503 ]
    TA_LOG_FILE=$broken_log run deploy eval 'load_settings && status_logs'
    echo "$output"
    [ "$status" -eq 1 ] && [[ $output == *"errors in the proxy's log in the last 24 h"*'"status":503'* ]]
    old=$(date -u -d '2 days ago' +%Y-%m-%dT%H:%M:%S)
    grep '"status":503' "$broken_log" | tail -n 1 | sed "s/\"time\":\"[^\"]*\"/\"time\":\"$old.000Z\"/" > "$BATS_TEST_TMPDIR/old.log"
    [ -s "$BATS_TEST_TMPDIR/old.log" ]
    TA_LOG_FILE=$BATS_TEST_TMPDIR/old.log run deploy eval 'load_settings && status_logs'
    [ "$status" -eq 0 ]

    # nginx: nothing on a free port; make up's nginx (SPA and /api/ to make up's proxy) when it runs.
    sed -i "s/^WEB_PORT=.*/WEB_PORT=$(free_port)/" "$TA_ETC/.env"
    run deploy eval 'load_settings && status_nginx'
    [ "$status" -eq 1 ] && [[ $output == *"nginx does not serve the web interface"* ]]
    curl -fs "http://127.0.0.1:$WEB_PORT/" >/dev/null || skip "make up's nginx does not run on $WEB_PORT"
    sed -i "s/^WEB_PORT=.*/WEB_PORT=$WEB_PORT/" "$TA_ETC/.env"
    run deploy eval 'load_settings && status_nginx'
    echo "$output"
    [ "$status" -eq 0 ] && [[ $output == *"serves the web interface and /api/"* ]]
    psql_super -d postgres -c "DROP DATABASE ops_test_status WITH (FORCE)" >/dev/null
}

# The proxy of the commit that froze schema 1.0 (the build an update from 1.0 leaves behind), built once into
# .work/release-cache/; prints its path, or nothing when this checkout lacks that history.
proxy_of_1_0() {
    local rev dir
    rev=$(git -C "$ROOT" log -n 1 --format=%H --diff-filter=A -- sql/releases/fallback--1.0.sql 2>/dev/null) || return 0
    [ -n "$rev" ] || return 0
    dir=$ROOT/.work/release-cache/$rev
    if [ ! -x "$dir/proxy/therapyassistance-proxy" ]; then
        rm -rf "$dir" && mkdir -p "$dir"
        git -C "$ROOT" archive "$rev" proxy | tar -x -C "$dir"
        make -s -C "$dir/proxy" all >&2
    fi
    echo "$dir/proxy/therapyassistance-proxy"
}

@test "update whose new build fails /health after a schema upgrade: the previous build and the database before it come back, every row at schema 1.0" {
    pg_running || skip "PostgreSQL is not running: make up"
    local old_proxy port previous before rows
    old_proxy=$(proxy_of_1_0)
    [ -n "$old_proxy" ] || skip "this checkout has no history of the 1.0 release to build its proxy from"
    port=$(free_port)
    # A shared PostgreSQL's database at schema 1.0 with a practice's data, served by the 1.0 build.
    psql_super -d postgres >/dev/null <<SQL
SET client_min_messages = warning;
DROP DATABASE IF EXISTS ops_test_rollback WITH (FORCE);
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', '$OPS_OWNER')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$OPS_OWNER') \gexec
CREATE DATABASE ops_test_rollback OWNER $OPS_OWNER;
SQL
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U "$OPS_OWNER" -d ops_test_rollback -1 \
        -f "$ROOT/sql/releases/fallback--1.0.sql" >/dev/null
    DB_HOST=$PGSOCK DB_PORT=$DB_PORT DB_NAME=ops_test_rollback DB_USER=$OPS_OWNER DB_PASSWORD=unused PORT=$port \
        BACKUP_DIR=$BATS_TEST_TMPDIR/backups deploy write_settings
    psql_super -d ops_test_rollback -c "SELECT ta.configure('$(sed -n 's/^JWT_SECRET=//p' "$TA_ETC/.env")')" >/dev/null
    "$PGBIN/psql" -X -q -U "$OPS_OWNER" -d ops_test_rollback -f "$ROOT/regress/upgrade/fill-1.0.sql" >/dev/null
    psql_super -d ops_test_rollback -tA -f "$ROOT/regress/upgrade/row-queries.sql" > "$BATS_TEST_TMPDIR/rows.sql"
    before=$(psql_super -d ops_test_rollback -tA -f "$BATS_TEST_TMPDIR/rows.sql" | grep -v '^settings|')
    [ "$(wc -l <<<"$before")" -ge 5 ]
    previous=$TA_HOME/releases/release-1.0
    mkdir -p "$previous" && cp "$old_proxy" "$previous/therapyassistance-proxy"
    ln -sfn "$previous" "$TA_HOME/current"

    # Without systemd (not running here): the proxy's unit is the proxy of `current` started with the unit's
    # EnvironmentFile, natively; the other units' steps (daemon-reload, enable, the notifier) do nothing. The new
    # build is one whose proxy does not start (the failure deploy must survive); everything else is deploy's own:
    # the backup, the schema upgrade, the switch, the wait for /health, the rollback of both.
    cat > "$BATS_TEST_TMPDIR/native.bash" <<'SHIM'
systemctl() {
    local action=$1 unit=${2:-}
    [ "$unit" = "$SERVICE.service" ] || return 0
    case $action in
        stop|restart) if [ -s "$BATS_TEST_TMPDIR/proxy.pid" ]; then
                          kill "$(cat "$BATS_TEST_TMPDIR/proxy.pid")" 2>/dev/null || true
                          while kill -0 "$(cat "$BATS_TEST_TMPDIR/proxy.pid")" 2>/dev/null; do sleep 0.1; done
                          rm -f "$BATS_TEST_TMPDIR/proxy.pid"
                      fi ;;
    esac
    case $action in
        start|restart) (set -a; . "$TA_ETC/.env"; set +a; PROXY_ENV_FILE=/dev/null
                        exec "$TA_HOME/current/therapyassistance-proxy") >>"$BATS_TEST_TMPDIR/proxy.log" 2>&1 &
                       echo $! > "$BATS_TEST_TMPDIR/proxy.pid"; echo $! >> "$BATS_TEST_TMPDIR/proxy.pids" ;;
    esac
}
build_release() {
    local release=$TA_HOME/releases/broken-build
    mkdir -p "$release"
    printf '#!/bin/sh\necho "therapyassistance-proxy: cannot start (a broken build)" >&2\nexit 1\n' \
        > "$release/therapyassistance-proxy"
    chmod 755 "$release/therapyassistance-proxy"
    echo "$release"
}
SHIM
    export BATS_TEST_TMPDIR
    deploy eval '. "$BATS_TEST_TMPDIR/native.bash"; load_settings; systemctl start "$SERVICE.service"; wait_healthy 30'
    [ "$(curl -fsS "http://127.0.0.1:$port/health")" != "" ]

    run deploy eval '. "$BATS_TEST_TMPDIR/native.bash"; cmd_deploy'
    echo "$output"
    [ "$status" -eq 1 ]
    [[ $output == *"upgrading the schema (fallback) from 1.0 to"* ]]
    [[ $output == *"the new build fails /health: going back to release-1.0 and to the database before the deploy"* ]]
    [[ $output == *"rolled back to release-1.0"* ]]
    [[ $output != *"could not be rolled back"* ]]
    # The previous build runs and answers, on the database as it was: schema 1.0, every row.
    [ "$(readlink -f "$TA_HOME/current")" = "$previous" ]
    curl -fsS "http://127.0.0.1:$port/health" | grep -q healthy
    [ "$(deploy eval 'load_settings && schema_version')" = 1.0 ]
    [ "$(psql_super -d ops_test_rollback -tA -c "SELECT to_regprocedure('api.schema_version()') IS NULL")" = t ]
    rows=$(psql_super -d ops_test_rollback -tA -f "$BATS_TEST_TMPDIR/rows.sql" | grep -v '^settings|')
    [ "$rows" = "$before" ]
    # The upgraded schemas are kept aside, out of the application's reach.
    [ "$(psql_super -d ops_test_rollback -tA -c "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'ta\_pre\_restore\_%'")" = 1 ]
    psql_super -d postgres -c "DROP DATABASE ops_test_rollback WITH (FORCE)" >/dev/null
}
