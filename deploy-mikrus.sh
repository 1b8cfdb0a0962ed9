#!/usr/bin/env bash
# deploy-mikrus.sh: installs and runs TherapyAssistance on a small VPS (Mikrus: 1 GB RAM,
# Debian or Ubuntu, root over ssh), from this checkout. `./deploy-mikrus.sh help` explains.
set -euo pipefail

TA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Where things go (overridable, which is how the tests render into a temporary folder).
TA_ETC=${TA_ETC:-/etc/therapyassistance}
TA_HOME=${TA_HOME:-/opt/therapyassistance}
TA_USER=${TA_USER:-therapyassistance}
SYSTEMD_DIR=${SYSTEMD_DIR:-/etc/systemd/system}
NGINX_DIR=${NGINX_DIR:-/etc/nginx}
PG_ETC=${PG_ETC:-/etc/postgresql}
SERVICE=therapyassistance
KEEP_RELEASES=3

# shellcheck source=ops/backup-restore.sh
. "$TA_ROOT/ops/backup-restore.sh"

usage() {
    cat <<'USAGE'
usage: ./deploy-mikrus.sh COMMAND

  init [--domain D --email E]  first installation, safe to run again: packages, system user,
                         PostgreSQL + extension (or the plain-SQL install on a shared
                         PostgreSQL when DB_HOST is another host), database and roles,
                         /etc/therapyassistance/.env with a generated JWT_SECRET, the proxy
                         as a hardened systemd service, nginx, daily backup at 03:00, and
                         TLS (Let's Encrypt) when a domain and an email are given
  deploy                 build, back up, upgrade the schema, switch to the new build,
                         restart, and go back to the previous build if /health fails
  update                 git pull --ff-only, then deploy
  restart | stop         the proxy service
  logs [-f]              the proxy's log (journalctl)
  status                 service, /health, disk use, age of the newest backup
  backup                 back up the database now; prints the file's path last
  restore [FILE] [--yes] without FILE: list the backups; with FILE (.dump or .dump.gz):
                         restore it (asks first unless --yes; the current data is kept)
  help                   this text

First run, local PostgreSQL on the VPS:
  ./deploy-mikrus.sh init --domain gabinet.example.pl --email admin@example.pl
Mikrus' shared PostgreSQL (the credentials from the Mikrus panel):
  DB_HOST=psqlNN.mikr.us DB_NAME=db_xyz DB_USER=xyz DB_PASSWORD=... ./deploy-mikrus.sh init
Settings live in /etc/therapyassistance/.env (read by the proxy) and owner.env; edit them and
run ./deploy-mikrus.sh restart. Backups: BACKUP_DIR (/var/backups/therapyassistance),
BACKUP_KEEP (14), BACKUP_COPY_DIR (e.g. Mikrus' backup space), set in .env.
Behind an HTTPS front (Mikrus' *.wykr.es, a tunnel): REAL_IP_FROM=<the front's addresses> in
.env, then ./deploy-mikrus.sh deploy, so logins are counted per visitor, not per front.
USAGE
}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "run this as root (sudo ./deploy-mikrus.sh $1)"; }

random_secret() { head -c "$1" /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='; }

is_local_db() { case ${DB_HOST:-} in ''|localhost|127.0.0.1|::1) return 0 ;; *) return 1 ;; esac; }

# NAME=VALUE for a settings file that both bash and systemd's EnvironmentFile read alike.
env_line() {
    case $2 in
        *[\'\\]*|*$'\n'*) die "$1 may not contain a quote, a backslash or a newline" ;;
        *[!A-Za-z0-9_./:@,+=-]*) printf "%s='%s'\n" "$1" "$2" ;;
        *) printf '%s=%s\n' "$1" "$2" ;;
    esac
}

# Writes FILE (mode 600) from standard input unless it exists; never overwrites a secret.
write_once() {
    local file=$1
    if [ -e "$file" ]; then
        say "keeping $file"
        cat >/dev/null
        return 0
    fi
    (umask 077 && mkdir -p "$(dirname "$file")" && cat > "$file.tmp" && mv "$file.tmp" "$file")
    say "wrote $file (mode 600)"
}

# The settings files: .env for the proxy (the original's names), owner.env for the owner
# role, which the proxy never sees. Created on the first init from the environment.
write_settings() {
    local local_db=0 app_password owner_password
    is_local_db && local_db=1
    if [ $local_db = 1 ]; then
        app_password=$(random_secret 24)
        owner_password=$(random_secret 24)
    else
        if [ -z "${DB_NAME:-}" ] || [ -z "${DB_USER:-}" ] || [ -z "${DB_PASSWORD:-}" ]; then
            die "a shared PostgreSQL needs DB_NAME, DB_USER and DB_PASSWORD (from the Mikrus panel)"
        fi
        app_password=$DB_PASSWORD owner_password=$DB_PASSWORD
    fi
    local proxy_env owner_env
    proxy_env=$(
        echo "# TherapyAssistance settings, read by the proxy (systemd EnvironmentFile). Written by"
        echo "# deploy-mikrus.sh init; after editing: ./deploy-mikrus.sh restart. Never commit this file."
        if [ $local_db = 1 ]; then env_line DB_HOST 127.0.0.1; else env_line DB_HOST "$DB_HOST"; fi
        env_line DB_PORT "${DB_PORT:-5432}"
        # TLS to a database on another machine (Mikrus' shared PostgreSQL); libpq's sslmode values.
        if [ $local_db = 0 ]; then env_line DB_SSLMODE "${DB_SSLMODE:-require}"; fi
        env_line DB_NAME "${DB_NAME:-therapyassistance}"
        if [ $local_db = 1 ]; then env_line DB_USER ta_app; else env_line DB_USER "$DB_USER"; fi
        env_line DB_PASSWORD "$app_password"
        env_line DB_POOL_SIZE "${DB_POOL_SIZE:-8}"
        env_line JWT_SECRET "$(random_secret 48)"
        env_line JWT_EXPIRATION_HOURS "${JWT_EXPIRATION_HOURS:-24}"
        env_line ALLOWED_ORIGINS "${ALLOWED_ORIGINS:-${DOMAIN:+https://$DOMAIN}}"
        env_line PORT "${PORT:-8000}"
        env_line LISTEN_ADDRESS 127.0.0.1
        env_line DOMAIN "${DOMAIN:-}"
        env_line WEB_PORT "${WEB_PORT:-80}"
        env_line BACKUP_DIR "${BACKUP_DIR:-/var/backups/therapyassistance}"
        env_line BACKUP_KEEP "${BACKUP_KEEP:-14}"
        env_line BACKUP_COPY_DIR "${BACKUP_COPY_DIR:-}"
        env_line REAL_IP_FROM "${REAL_IP_FROM:-}"
    ) || exit 1
    owner_env=$(
        echo "# The role that owns the database and installs the schema (not given to the proxy)."
        if [ $local_db = 1 ]; then env_line DB_OWNER ta_owner; else env_line DB_OWNER "$DB_USER"; fi
        env_line DB_OWNER_PASSWORD "$owner_password"
    ) || exit 1
    write_once "$TA_ETC/.env" <<<"$proxy_env"
    write_once "$TA_ETC/owner.env" <<<"$owner_env"
}

# Loads the settings and points ops/backup-restore.sh and psql at the database.
load_settings() {
    if [ ! -r "$TA_ETC/.env" ] || [ ! -r "$TA_ETC/owner.env" ]; then
        die "no settings in $TA_ETC: run ./deploy-mikrus.sh init first"
    fi
    set -a
    # shellcheck source=/dev/null
    . "$TA_ETC/.env"
    # shellcheck source=/dev/null
    . "$TA_ETC/owner.env"
    set +a
    export PGHOST=$DB_HOST PGPORT=$DB_PORT PGPASSWORD=$DB_OWNER_PASSWORD PGCONNECT_TIMEOUT=10
    # psql, pg_dump and pg_restore speak TLS to another machine, as the proxy does (DB_SSLMODE).
    if ! is_local_db; then export PGSSLMODE=${DB_SSLMODE:-require}; fi
    TA_DB=$DB_NAME TA_OWNER=${DB_OWNER:?owner.env sets DB_OWNER} TA_APP=$DB_USER
    if is_local_db; then
        # The local cluster's superuser, by peer authentication over the socket.
        TA_ADMIN=postgres TA_ADMIN_RUNAS=postgres TA_ADMIN_HOST=/var/run/postgresql
        INSTALL=extension
    else
        TA_ADMIN='' INSTALL=fallback
    fi
    export TA_ADMIN_HOST
}

# ---------------------------------------------------------------------------------------
# Rendering (pure: no root needed, the tests call these into a temporary folder)

# render TEMPLATE DEST: copies an ops/templates file with @NAME@ replaced by $NAME.
render() {
    local template=$1 dest=$2 name value content
    content=$(cat "$TA_ROOT/ops/templates/$template")
    for name in TA_USER TA_ETC TA_HOME TA_ROOT PORT WEB_PORT WEB_ROOT WEB_LISTEN WEB_LISTEN6 BACKUP_PATHS DOMAIN; do
        value=${!name:-}
        content=${content//@$name@/$value}
    done
    [[ $content != *@[A-Z_]*@* ]] || die "unrendered placeholder in $template"
    mkdir -p "$(dirname "$dest")"
    printf '%s\n' "$content" > "$dest.tmp" && mv "$dest.tmp" "$dest"
}

render_units() {
    # shellcheck disable=SC2034  # render reads it by name
    local BACKUP_PATHS="$BACKUP_DIR${BACKUP_COPY_DIR:+ $BACKUP_COPY_DIR}"
    render therapyassistance.service "$SYSTEMD_DIR/$SERVICE.service"
    render therapyassistance-backup.service "$SYSTEMD_DIR/$SERVICE-backup.service"
    render therapyassistance-backup.timer "$SYSTEMD_DIR/$SERVICE-backup.timer"
}

# nginx: the SPA's files from nginx/ under $NGINX_DIR/therapyassistance/, and a site that is
# either nginx/therapyassistance.conf for the domain (once its certificate exists) or plain HTTP.
render_nginx() {
    local conf=$NGINX_DIR/therapyassistance site=$NGINX_DIR/sites-available/therapyassistance real_ip
    [ -f "$TA_ROOT/nginx/site.conf" ] || die "nginx/ is not in this checkout"
    real_ip=$(real_ip_lines) || exit 1
    mkdir -p "$conf" "$NGINX_DIR/sites-available"
    cp "$TA_ROOT/nginx/site.conf" "$TA_ROOT/nginx/security-headers.conf" "$conf/"
    WEB_ROOT=$TA_HOME/current/web
    if [ -n "${DOMAIN:-}" ] && [ -s "${LETSENCRYPT_DIR:-/etc/letsencrypt}/live/$DOMAIN/fullchain.pem" ]; then
        sed -e "s/therapyassistance\.example/$DOMAIN/g" \
            -e "s|server 127\.0\.0\.1:8000;|server 127.0.0.1:$PORT;|" \
            -e "s|root /var/www/therapyassistance;|root $WEB_ROOT;|" \
            "$TA_ROOT/nginx/therapyassistance.conf" > "$site"
        if ! grep -q "root $WEB_ROOT;" "$site" || ! grep -q "127.0.0.1:$PORT;" "$site"; then
            die "nginx/therapyassistance.conf changed shape: update render_nginx"
        fi
    else
        plain_http_listen
        render nginx-http.conf "$site"
    fi
    if [ -n "$real_ip" ]; then printf '%s\n' "$real_ip" >> "$site"; fi
}

# Without a certificate nginx speaks plain HTTP: passwords and patients' data in clear to
# anyone on the way. Behind an HTTPS front on this machine (a tunnel: REAL_IP_FROM lists only
# loopback addresses) it listens on loopback only; otherwise on every address, said loudly.
plain_http_listen() {
    local entry fronts=${REAL_IP_FROM:-} local_front=${REAL_IP_FROM:+1}
    for entry in ${fronts//,/ }; do
        [[ $entry =~ ^(127\.[0-9.]+|::1)(/[0-9]{1,3})?$ ]] || local_front=
    done
    if [ -n "$local_front" ]; then
        WEB_LISTEN=127.0.0.1: WEB_LISTEN6=[::1]:
        say "no DOMAIN: plain HTTP on port $WEB_PORT on loopback only, for the HTTPS front on this machine"
    else
        WEB_LISTEN='' WEB_LISTEN6='[::]:'
        say "WARNING: no DOMAIN: nginx serves PLAIN HTTP on EVERY address, port $WEB_PORT: passwords and"
        say "WARNING: patients' data cross the network unencrypted unless an HTTPS front (Mikrus' *.wykr.es)"
        say "WARNING: is the only way in. Use --domain for TLS, or a front on this machine (REAL_IP_FROM=127.0.0.1)."
    fi
}

# Behind a front that terminates HTTPS for you (Mikrus' *.wykr.es, a tunnel, a load balancer),
# every visitor would seem to come from the front's address, and ten failed logins by anyone
# would lock the address everybody shares. REAL_IP_FROM (in .env: the front's addresses or
# networks, separated by commas or spaces) makes nginx take the visitor's address from the
# front's X-Forwarded-For instead, as it does for no one else.
real_ip_lines() {
    local entry
    [ -n "${REAL_IP_FROM:-}" ] || return 0
    echo "# REAL_IP_FROM: the visitor's address as these fronts report it."
    for entry in ${REAL_IP_FROM//,/ }; do
        [[ $entry =~ ^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$ ]] ||
            die "REAL_IP_FROM: \"$entry\" is not an address or a network (e.g. 10.0.0.1 or 10.0.0.0/8)"
        echo "set_real_ip_from $entry;"
    done
    echo "real_ip_header X-Forwarded-For;"
    echo "real_ip_recursive on;"
}

# ---------------------------------------------------------------------------------------
# Steps of init and deploy (each safe to repeat)

install_packages() {
    local wanted missing=() p
    wanted="$("$TA_ROOT/ops/build.sh" packages server) $("$TA_ROOT/ops/build.sh" packages proxy-build)"
    wanted+=" $("$TA_ROOT/ops/build.sh" packages proxy-runtime)"
    [ -d "$TA_ROOT/frontend" ] && wanted+=" $("$TA_ROOT/ops/build.sh" packages spa-build)"
    is_local_db && wanted+=" postgresql $("$TA_ROOT/ops/build.sh" packages extension-build)"
    [ -n "${DOMAIN:-}" ] && wanted+=" certbot"
    for p in $wanted; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || { say "packages: all installed"; return 0; }
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

create_user() {
    if id -u "$TA_USER" >/dev/null 2>&1; then say "system user $TA_USER exists"; return; fi
    useradd --system --home-dir "$TA_HOME" --no-create-home --shell /usr/sbin/nologin "$TA_USER"
    say "created system user $TA_USER"
}

# The local cluster: the 1 GB configuration, the roles (passwords from the settings) and the
# database owned by the owner role.
setup_local_postgres() {
    local version conf
    version=$(find "$PG_ETC" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -n | tail -n 1)
    [ -n "$version" ] || die "no PostgreSQL cluster in $PG_ETC"
    conf=$PG_ETC/$version/main/conf.d/therapyassistance.conf
    if ! cmp -s "$TA_ROOT/ops/postgresql-1gb.conf" "$conf"; then
        install -D -m 644 "$TA_ROOT/ops/postgresql-1gb.conf" "$conf"
        say "installed $conf; restarting PostgreSQL"
        systemctl restart postgresql
    fi
    admin_psql postgres -v owner="$DB_OWNER" -v owner_pw="$DB_OWNER_PASSWORD" \
        -v app="$DB_USER" -v app_pw="$DB_PASSWORD" -v db="$DB_NAME" < "$TA_ROOT/ops/roles-and-database.sql"
}

# The schema version the database holds (1.0 recorded none), and the one this code needs.
schema_version() {
    owner_psql "$DB_NAME" -tA -c "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'therapyassistance'),
                                                 CASE WHEN to_regprocedure('api.schema_version()') IS NULL THEN '1.0' END)" |
        { read -r v; if [ -n "$v" ]; then echo "$v"; else owner_psql "$DB_NAME" -tA -c 'SELECT api.schema_version()'; fi; }
}
code_schema_version() { sed -n "s/^default_version = '\(.*\)'$/\1/p" "$TA_ROOT/therapyassistance.control"; }

# Installs the schema or upgrades it, then stores the secret and grants the api.
install_schema() {
    local installed
    installed=$(owner_psql "$DB_NAME" -tA -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'api'")
    if [ "$installed" = 0 ]; then
        say "installing the schema ($INSTALL) into $DB_NAME"
        if [ "$INSTALL" = extension ]; then
            owner_psql "$DB_NAME" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION therapyassistance CASCADE'
        else
            owner_psql "$DB_NAME" -1 -f "$TA_ROOT/sql/fallback/therapyassistance.sql" >/dev/null
        fi
    else
        local have need
        have=$(schema_version) need=$(code_schema_version)
        if [ "$have" != "$need" ] && [ "$(printf '%s\n' "$have" "$need" | sort -V | tail -n 1)" = "$have" ]; then
            die "the database has schema $have, newer than this code's $need: nothing was changed"
        fi
        if [ "$have" != "$need" ]; then
            say "upgrading the schema ($INSTALL) from $have to $need, in one transaction"
            if [ "$INSTALL" = extension ]; then
                owner_psql "$DB_NAME" -c "ALTER EXTENSION therapyassistance UPDATE TO '$need'"
            else
                owner_psql "$DB_NAME" -f "$TA_ROOT/sql/fallback/upgrade.sql" >/dev/null
            fi || die "the schema upgrade failed (the error above says why): the database still holds" \
                      "schema $have, unchanged, and the running release was left as it was"
        fi
    fi
    owner_psql "$DB_NAME" >/dev/null <<SQL
SELECT ta.configure($(sql_literal "$JWT_SECRET"), $(sql_literal "$JWT_EXPIRATION_HOURS"))
 WHERE NOT EXISTS (SELECT FROM ta.settings WHERE jwt_secret = $(sql_literal "$JWT_SECRET")
                                              AND jwt_expiration_hours = $(sql_literal "$JWT_EXPIRATION_HOURS"));
SQL
    # On a shared instance the proxy logs in as the owner, which may call the api already.
    if [ "$DB_USER" != "$DB_OWNER" ]; then
        owner_psql "$DB_NAME" -c "SELECT ta.grant_api($(sql_literal "$DB_USER"))" >/dev/null
    fi
}

# Builds a release folder (proxy binary, SPA) named after the commit; prints its path.
build_release() {
    local rev release
    rev=$(git -C "$TA_ROOT" rev-parse --short=12 HEAD 2>/dev/null || date +%Y%m%d%H%M%S)
    release=$TA_HOME/releases/$rev
    say "building release $rev"
    "$TA_ROOT/ops/build.sh" extension >&2
    [ "$INSTALL" = extension ] && env -u MAKEFLAGS make -s -C "$TA_ROOT" install >&2
    rm -rf "$release.new"
    "$TA_ROOT/ops/build.sh" proxy "$release.new" >&2
    if [ -d "$TA_ROOT/frontend" ]; then "$TA_ROOT/ops/build.sh" spa "$release.new" >&2; fi
    chmod -R go-w "$release.new" && chmod 755 "$release.new"
    rm -rf "$release" && mv "$release.new" "$release"
    echo "$release"
}

# Points current at RELEASE (atomically) and keeps the newest KEEP_RELEASES.
switch_release() {
    ln -sfn "$1" "$TA_HOME/current.new" && mv -T "$TA_HOME/current.new" "$TA_HOME/current"
    find "$TA_HOME/releases" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\n' | sort -rn |
        tail -n +$((KEEP_RELEASES + 1)) | cut -d' ' -f2- | while IFS= read -r old; do
            [ "$old" = "$(readlink -f "$TA_HOME/current")" ] || rm -rf -- "$old"
        done
}

health_ok() { curl -fsS --max-time 3 "http://127.0.0.1:$PORT/health" 2>/dev/null | grep -q healthy; }

wait_healthy() {
    local i
    for i in $(seq 1 "${1:-30}"); do
        health_ok && return 0
        sleep 1
    done
    return 1
}

install_tls() {
    [ -n "${DOMAIN:-}" ] || { say "no DOMAIN: serving plain HTTP on port $WEB_PORT"; return 0; }
    [ -s "/etc/letsencrypt/live/$DOMAIN/fullchain.pem" ] && { say "certificate for $DOMAIN exists"; return 0; }
    [ -n "${EMAIL:-}" ] || die "TLS for $DOMAIN needs --email (Let's Encrypt's contact address)"
    mkdir -p /var/www/certbot
    certbot certonly --webroot -w /var/www/certbot -d "$DOMAIN" -m "$EMAIL" \
        --agree-tos --non-interactive --keep-until-expiring
}

# certbot renews the certificate by itself (its timer); without a deploy hook nginx would keep
# serving the old one until it expired. The hook reloads nginx after every renewal.
install_renewal_hook() {
    [ -n "${DOMAIN:-}" ] || return 0
    local hook=${LETSENCRYPT_DIR:-/etc/letsencrypt}/renewal-hooks/deploy/therapyassistance-reload-nginx
    mkdir -p "$(dirname "$hook")"
    printf '#!/bin/sh\n# Installed by deploy-mikrus.sh: serve a renewed certificate at once.\nexec systemctl reload nginx\n' \
        > "$hook.tmp" && chmod 755 "$hook.tmp" && mv "$hook.tmp" "$hook"
    say "certbot renewals reload nginx ($hook)"
}

reload_nginx() {
    render_nginx
    ln -sfn "$NGINX_DIR/sites-available/therapyassistance" "$NGINX_DIR/sites-enabled/therapyassistance"
    rm -f "$NGINX_DIR/sites-enabled/default"
    nginx -t -q || die "nginx refuses the site (nginx -t); the previous configuration still runs"
    systemctl enable -q nginx
    systemctl reload-or-restart nginx
}

# ---------------------------------------------------------------------------------------
# Commands

cmd_init() {
    while [ $# -gt 0 ]; do
        case $1 in
            --domain) [ $# -ge 2 ] || die "--domain needs a value"; DOMAIN=$2; shift 2 ;;
            --email) [ $# -ge 2 ] || die "--email needs a value"; EMAIL=$2; shift 2 ;;
            *) die "init: unknown argument '$1' (see ./deploy-mikrus.sh help)" ;;
        esac
    done
    need_root init
    [ -f "$TA_ROOT/proxy/Makefile" ] || die "this checkout has no proxy/: nothing to run"
    write_settings
    load_settings
    install_packages
    create_user
    [ "$INSTALL" = extension ] && setup_local_postgres
    install -d -m 755 "$TA_HOME" "$TA_HOME/releases"
    (umask 077 && mkdir -p "$BACKUP_DIR")
    local release
    release=$(build_release)
    install_schema
    switch_release "$release"
    render_units
    systemctl daemon-reload
    systemctl enable -q "$SERVICE.service" "$SERVICE-backup.timer"
    systemctl restart "$SERVICE.service"
    systemctl start "$SERVICE-backup.timer"
    reload_nginx
    if install_tls; then reload_nginx; fi
    install_renewal_hook
    wait_healthy 30 || die "the proxy does not answer /health: ./deploy-mikrus.sh logs"
    say "TherapyAssistance runs: ${DOMAIN:+https://$DOMAIN/}${DOMAIN:-http://<this server>:$WEB_PORT/}"
    say "register the first account in the web interface; backups daily at 03:00 in $BACKUP_DIR"
}

cmd_deploy() {
    need_root deploy
    load_settings
    local previous release safety
    previous=$(readlink -f "$TA_HOME/current" 2>/dev/null || true)
    release=$(build_release)
    safety=$(backup_create pre-deploy | tail -n 1) || die "backup before the deploy failed: nothing changed"
    say "backup before the deploy: $safety"
    install_schema
    switch_release "$release"
    render_units
    systemctl daemon-reload
    systemctl restart "$SERVICE.service"
    if wait_healthy 30; then
        reload_nginx
        say "deployed $(basename "$release")"
        return 0
    fi
    if [ -n "$previous" ] && [ -d "$previous" ] && [ "$previous" != "$release" ]; then
        say "the new build fails /health: going back to $(basename "$previous")"
        switch_release "$previous"
        systemctl restart "$SERVICE.service"
        wait_healthy 30 && die "rolled back to $(basename "$previous"); see ./deploy-mikrus.sh logs." \
            "If the schema upgrade is the cause: ./deploy-mikrus.sh restore $safety"
    fi
    die "the proxy does not answer /health: ./deploy-mikrus.sh logs (backup before the deploy: $safety)"
}

cmd_update() {
    need_root update
    git -C "$TA_ROOT" pull --ff-only
    # The script itself may have changed: run the new one.
    exec "$TA_ROOT/deploy-mikrus.sh" deploy
}

cmd_status() {
    load_settings
    local state age use warn=0
    state=$(systemctl is-active "$SERVICE.service" 2>/dev/null || true)
    say "service $SERVICE: ${state:-unknown}"
    if health_ok; then say "health: ok"; else say "WARNING: /health does not answer"; warn=1; fi
    local have need
    have=$(schema_version 2>/dev/null || true) need=$(code_schema_version)
    if [ "$have" = "$need" ]; then say "schema: $have"; else
        say "WARNING: the database holds schema ${have:-?}, this code needs $need: ./deploy-mikrus.sh deploy"; warn=1; fi
    use=$(df --output=pcent "$BACKUP_DIR" / 2>/dev/null | tail -n +2 | tr -dc '0-9\n' | sort -n | tail -n 1)
    say "disk: ${use:-?}% used"
    if [ "${use:-0}" -gt 80 ]; then say "WARNING: the disk is over 80% full"; warn=1; fi
    age=$(backup_newest_age)
    if [ -z "$age" ]; then
        say "WARNING: no backup in $BACKUP_DIR"; warn=1
    else
        say "newest backup: $((age / 3600)) h ago ($(backup_files "$BACKUP_DIR" | head -n 1))"
        if [ "$age" -gt 86400 ]; then say "WARNING: the newest backup is older than a day"; warn=1; fi
    fi
    if [ "$(owner_psql "$DB_NAME" -tA -c "SELECT count(*) FROM pg_policy WHERE polname = '$BACKUP_POLICY'" 2>/dev/null)" != 0 ]; then
        say "WARNING: an interrupted backup left its read policy: ./deploy-mikrus.sh backup removes it"; warn=1
    fi
    return $warn
}

cmd_backup() {
    [ $# = 0 ] || die "backup takes no arguments"
    need_root backup
    load_settings
    backup_create
}

cmd_restore() {
    local file='' arg
    YES=0
    for arg in "$@"; do
        case $arg in
            --yes|-y) YES=1 ;;
            -*) die "restore: unknown option $arg" ;;
            *) [ -z "$file" ] || die "restore takes one FILE"; file=$arg ;;
        esac
    done
    need_root restore
    load_settings
    if [ -z "$file" ]; then
        backup_list
        say "restore one with: ./deploy-mikrus.sh restore FILE"
        return 0
    fi
    backup_check "$file" || exit 1
    # The proxy keeps plans of the old schema in its pooled connections: stop it around the swap.
    systemctl stop "$SERVICE.service"
    trap 'systemctl start "$SERVICE.service"' EXIT
    restore_run "$file"
}

main() {
    local command=${1:-help}
    [ $# -gt 0 ] && shift
    case $command in
        help|-h|--help) usage ;;
        init) cmd_init "$@" ;;
        deploy|update|restart|stop|status)
            [ $# = 0 ] || die "$command takes no arguments"
            case $command in
                deploy) cmd_deploy ;;
                update) cmd_update ;;
                restart) need_root restart; systemctl restart "$SERVICE.service"; wait_healthy 30 ||
                             die "restarted, but /health does not answer: ./deploy-mikrus.sh logs" ;;
                stop) need_root stop; systemctl stop "$SERVICE.service" ;;
                status) cmd_status ;;
            esac ;;
        logs)
            case ${1:-} in
                '') journalctl -u "$SERVICE.service" -n 200 --no-pager ;;
                -f) journalctl -u "$SERVICE.service" -n 50 -f ;;
                *) die "logs takes only -f" ;;
            esac ;;
        backup) cmd_backup "$@" ;;
        restore) cmd_restore "$@" ;;
        *) usage >&2; printf 'error: unknown command %s\n' "$command" >&2; exit 2 ;;
    esac
}

# Sourced by the tests for its functions; run as a command otherwise.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
