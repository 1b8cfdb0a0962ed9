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

  init [--domain D --email E] [--demo]
                         first installation, safe to run again: packages, system user,
                         PostgreSQL + extension (or the plain-SQL install on a shared
                         PostgreSQL when DB_HOST is another host), database and roles,
                         /etc/therapyassistance/.env with a generated JWT_SECRET, the proxy
                         as a hardened systemd service, nginx, daily backup at 03:00, and
                         TLS (Let's Encrypt) when a domain and an email are given;
                         --demo adds the demo practice (terapeuta@example.com / haslo123)
                         to a database that has no accounts yet
  deploy                 build, back up, upgrade the schema, switch to the new build,
                         restart, and go back to the previous build if /health fails
  update                 git pull --ff-only, then deploy
  restart | stop         the proxy service
  logs [SERVICE] [-f]    the logs of proxy, notifier, postgresql, nginx, backup, pitr or all (default)
  status                 every service, /health, schema version, port, PostgreSQL, settings
                         files, errors in the proxy's log (24 h), nginx, disk use, the newest
                         backup, pgBackRest's check and verify and the window of point-in-time
                         recovery; exits 1 when anything needs attention
  backup                 back up the database now (pg_dump); prints the file's path last
  pitr-backup TYPE       a pgBackRest backup now: full, diff or incr (local PostgreSQL)
  restore [FILE] [--identity KEY] [--yes]
                         without FILE: list the backups; with FILE (.dump, .dump.gz, or
                         .dump.gz.age from the backup space, decrypted with the age key file
                         KEY, asked for when not given): restore it (asks first unless
                         --yes; the current data is kept)
  restore --time T       point-in-time recovery of the local cluster to T ('YYYY-MM-DD
                         HH:MM:SS', Europe/Warsaw) or latest; the current cluster is kept
  help                   this text; COMMAND --help: that command's

First run, local PostgreSQL on the VPS:
  ./deploy-mikrus.sh init --domain gabinet.example.pl --email admin@example.pl
Mikrus' shared PostgreSQL (the credentials from the Mikrus panel):
  DB_HOST=psqlNN.mikr.us DB_NAME=db_xyz DB_USER=xyz DB_PASSWORD=... ./deploy-mikrus.sh init
Settings live in /etc/therapyassistance/.env (read by the proxy) and owner.env; edit them and
run ./deploy-mikrus.sh restart. Backups: BACKUP_DIR (/var/backups/therapyassistance),
BACKUP_KEEP (14), BACKUP_COPY_DIR (e.g. Mikrus' backup space) and BACKUP_AGE_RECIPIENT (the
age public key the copies there are encrypted to: without it nothing is copied), set in .env; with a local
PostgreSQL also pgBackRest: BACKREST_REPO (/var/lib/pgbackrest/therapyassistance),
BACKREST_MOUNT (a mount point the repository must be on), BACKREST_RETENTION_FULL (2) and
BACKREST_RETENTION_DIFF (7); the repository is encrypted with BACKREST_CIPHER_PASS (init
generates it: keep a copy apart from the backups, they cannot be read without it).
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
        # age public key (age1..., from age-keygen on YOUR computer, the key file stays there): the
        # copies in BACKUP_COPY_DIR are encrypted to it; without it nothing is copied there.
        env_line BACKUP_AGE_RECIPIENT "${BACKUP_AGE_RECIPIENT:-}"
        env_line REAL_IP_FROM "${REAL_IP_FROM:-}"
        env_line BACKREST_REPO "${BACKREST_REPO:-/var/lib/pgbackrest/therapyassistance}"
        env_line BACKREST_MOUNT "${BACKREST_MOUNT:-}"
        env_line BACKREST_RETENTION_FULL "${BACKREST_RETENTION_FULL:-2}"
        env_line BACKREST_RETENTION_DIFF "${BACKREST_RETENTION_DIFF:-7}"
        # pgBackRest's repository is encrypted with it (aes-256-cbc): keep a copy apart from the backups.
        if [ $local_db = 1 ]; then env_line BACKREST_CIPHER_PASS "$(random_secret 32)"; fi
    ) || exit 1
    owner_env=$(
        echo "# The role that owns the database and installs the schema (not given to the proxy)."
        if [ $local_db = 1 ]; then env_line DB_OWNER ta_owner; else env_line DB_OWNER "$DB_USER"; fi
        env_line DB_OWNER_PASSWORD "$owner_password"
    ) || exit 1
    write_once "$TA_ETC/.env" <<<"$proxy_env"
    write_once "$TA_ETC/owner.env" <<<"$owner_env"
    # The reminder sender's: its own role (on a shared instance the one role there is) and the
    # delivery settings, which only it reads. Empty SMTP_URL and SMSAPI_TOKEN: it does not run.
    local notifier_env
    notifier_env=$(
        echo "# TherapyAssistance reminders (the notifier's EnvironmentFile). Set SMTP_URL (smtp:// with STARTTLS,"
        echo "# or smtps://) and MAIL_FROM, and/or SMSAPI_TOKEN; then ./deploy-mikrus.sh restart."
        if [ $local_db = 1 ]; then env_line DB_HOST 127.0.0.1; else env_line DB_HOST "$DB_HOST"; fi
        env_line DB_PORT "${DB_PORT:-5432}"
        # TLS to a database on another machine, as the proxy's (the notifier also defaults to require there).
        if [ $local_db = 0 ]; then env_line DB_SSLMODE "${DB_SSLMODE:-require}"; fi
        env_line DB_NAME "${DB_NAME:-therapyassistance}"
        if [ $local_db = 1 ]; then env_line DB_NOTIFIER ta_notifier; else env_line DB_NOTIFIER "$DB_USER"; fi
        if [ $local_db = 1 ]; then env_line DB_NOTIFIER_PASSWORD "$(random_secret 24)"; else env_line DB_NOTIFIER_PASSWORD "$DB_PASSWORD"; fi
        env_line SMTP_URL "${SMTP_URL:-}"
        env_line MAIL_FROM "${MAIL_FROM:-}"
        env_line APP_URL "${APP_URL:-${DOMAIN:+https://$DOMAIN}}"
        env_line SMSAPI_TOKEN "${SMSAPI_TOKEN:-}"
        env_line SMSAPI_URL "${SMSAPI_URL:-}"
        env_line SMSAPI_FROM "${SMSAPI_FROM:-}"
    ) || exit 1
    write_once "$TA_ETC/notifier.env" <<<"$notifier_env"
}

# Settings written before pgBackRest's repository was encrypted get its passphrase (never replaced: the repository
# can only be read with the one it was encrypted with).
add_backrest_passphrase() {
    is_local_db || return 0
    [ -z "${BACKREST_CIPHER_PASS:-}" ] || return 0
    BACKREST_CIPHER_PASS=$(random_secret 32)
    env_line BACKREST_CIPHER_PASS "$BACKREST_CIPHER_PASS" >> "$TA_ETC/.env"
    say "added BACKREST_CIPHER_PASS (the passphrase of pgBackRest's repository) to $TA_ETC/.env: keep a copy elsewhere"
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
    for name in TA_USER TA_ETC TA_HOME TA_ROOT PORT WEB_PORT WEB_ROOT WEB_LISTEN WEB_LISTEN6 BACKUP_PATHS PITR_PATHS DOMAIN; do
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
    render therapyassistance-notifier.service "$SYSTEMD_DIR/$SERVICE-notifier.service"
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
    # shellcheck disable=SC2034  # WEB_LISTEN and WEB_LISTEN6 are read by render (${!name})
    if [ -n "$local_front" ]; then
        WEB_LISTEN=127.0.0.1: WEB_LISTEN6='[::1]:'
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
    [ -d "$TA_ROOT/notifier" ] && wanted+=" $("$TA_ROOT/ops/build.sh" packages notifier-build)"
    [ -d "$TA_ROOT/frontend" ] && wanted+=" $("$TA_ROOT/ops/build.sh" packages spa-build)"
    is_local_db && wanted+=" postgresql pgbackrest jq $("$TA_ROOT/ops/build.sh" packages extension-build)"
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
    # The notifier's role: it may call only the notifier functions (ta.grant_notifier in install_schema).
    notifier_settings
    admin_psql postgres -v role="$DB_NOTIFIER" -v pw="$DB_NOTIFIER_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS PASSWORD %L', :'role', :'pw') \gexec
SQL
}

# The notifier's role and password (notifier.env), for the role and the grant.
notifier_settings() {
    DB_NOTIFIER=$DB_USER DB_NOTIFIER_PASSWORD=$DB_PASSWORD
    if [ -r "$TA_ETC/notifier.env" ]; then
        DB_NOTIFIER=$(sed -n 's/^DB_NOTIFIER=//p' "$TA_ETC/notifier.env")
        DB_NOTIFIER_PASSWORD=$(sed -n 's/^DB_NOTIFIER_PASSWORD=//p' "$TA_ETC/notifier.env")
    fi
}

# The schema version the database holds (1.0 recorded none), and the one this code needs.
schema_version() {
    owner_psql "$DB_NAME" -tA -c "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'therapyassistance'),
                                                 CASE WHEN to_regprocedure('api.schema_version()') IS NULL THEN '1.0' END)" |
        { read -r v; if [ -n "$v" ]; then echo "$v"; else owner_psql "$DB_NAME" -tA -c 'SELECT api.schema_version()'; fi; }
}

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
        if version_newer "$have" "$need"; then
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
    notifier_settings
    if [ "$DB_NOTIFIER" != "$DB_OWNER" ]; then
        owner_psql "$DB_NAME" -c "SELECT ta.grant_notifier($(sql_literal "$DB_NOTIFIER"))" >/dev/null
    else
        # one role for everything (a shared instance): it owns the notifier functions already
        owner_psql "$DB_NAME" -c "INSERT INTO ta.senders (role_name) VALUES ($(sql_literal "$DB_NOTIFIER")) ON CONFLICT DO NOTHING" >/dev/null
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
    if [ -d "$TA_ROOT/notifier" ]; then "$TA_ROOT/ops/build.sh" notifier "$release.new" >&2; fi
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
# Point-in-time recovery (pgBackRest, ops/pitr.sh) for the local cluster, every service in logs and status, each
# command's --help, and the schema's rollback when a deploy fails /health. A shared PostgreSQL gives no access to
# its WAL: it keeps the pg_dump backups alone.

# shellcheck source=ops/pitr.sh
. "$TA_ROOT/ops/pitr.sh"

pg_version() { find "$PG_ETC" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -n | tail -n 1; }

# Points ops/pitr.sh at Debian's cluster and the repository .env names (after load_settings).
load_pitr() {
    local version
    version=$(pg_version)
    [ -n "$version" ] || die "no PostgreSQL cluster in $PG_ETC"
    local cluster=${PG_CLUSTER:-main}
    PG_SERVICE=postgresql@$version-$cluster
    PITR_DIR=${BACKREST_STATE:-/var/lib/pgbackrest/therapyassistance-state}
    PITR_CONF=$PITR_DIR/pgbackrest.conf
    PITR_REPO=${BACKREST_REPO:-/var/lib/pgbackrest/therapyassistance}
    PITR_REPO_MOUNT=${BACKREST_MOUNT:-}
    PITR_RETENTION_FULL=${BACKREST_RETENTION_FULL:-2} PITR_RETENTION_DIFF=${BACKREST_RETENTION_DIFF:-7}
    PITR_CIPHER_PASS=${BACKREST_CIPHER_PASS:-}
    PITR_DATA=${PG_DATA_DIR:-/var/lib/postgresql/$version/$cluster}
    PITR_SOCK=/var/run/postgresql PITR_PORT=$DB_PORT PITR_BIN=/usr/lib/postgresql/$version/bin PITR_RUNAS=postgres
    PITR_START_OPTS="-c config_file=$PG_ETC/$version/$cluster/postgresql.conf"
}
pitr_cluster_stop() { systemctl stop "$PG_SERVICE"; }
pitr_cluster_start() { systemctl start "$PG_SERVICE"; }

render_pitr_units() {
    # shellcheck disable=SC2034  # render reads it by name
    local PITR_PATHS="$PITR_REPO $PITR_DIR"
    render therapyassistance-pitr-full.service "$SYSTEMD_DIR/$SERVICE-pitr-full.service"
    render therapyassistance-pitr-full.timer "$SYSTEMD_DIR/$SERVICE-pitr-full.timer"
    render therapyassistance-pitr-diff.service "$SYSTEMD_DIR/$SERVICE-pitr-diff.service"
    render therapyassistance-pitr-diff.timer "$SYSTEMD_DIR/$SERVICE-pitr-diff.timer"
}

# init's step: WAL archiving on (PostgreSQL restarts once for it), the stanza, a first full backup, the timers.
init_pitr() {
    is_local_db || { say "shared PostgreSQL: pg_dump backups only (no WAL access for point-in-time recovery)"; return 0; }
    load_pitr
    { pitr_write_config && pitr_repo_ready --create; } || die "cannot prepare pgBackRest's folders"
    local rc=0
    pitr_enable_archiving || rc=$?
    if [ $rc = 3 ]; then
        say "restarting PostgreSQL to turn WAL archiving on"
        systemctl restart "$PG_SERVICE"
    elif [ $rc != 0 ]; then
        die "could not turn WAL archiving on"
    fi
    rc=0; pitr_stanza || rc=$?
    if [ $rc = 5 ]; then
        # A repository from before its encryption: its backups stay readable beside the new, encrypted one.
        local aside
        aside=$PITR_REPO.unencrypted-$(date +%Y%m%d-%H%M%S)
        mv -- "$PITR_REPO" "$aside"
        say "a new, encrypted repository in $PITR_REPO; the earlier unencrypted one is kept as $aside"
        rc=0; pitr_stanza || rc=$?
    fi
    [ $rc = 0 ] || die "pgbackrest stanza-create failed"
    if [ -z "$(pitr_info | jq -r '.[0].backup[0].label // empty')" ]; then pitr_backup full || die "the first full backup failed"; fi
    render_pitr_units
    systemctl daemon-reload
    systemctl enable -q --now "$SERVICE-pitr-full.timer" "$SERVICE-pitr-diff.timer"
    say "point-in-time recovery: WAL archived into $PITR_REPO, full backups on Sundays, differential ones daily"
}

cmd_pitr_backup() {
    case ${1:-} in full|diff|incr) ;; *) die "pitr-backup takes full, diff or incr" ;; esac
    [ $# = 1 ] || die "pitr-backup takes one argument"
    need_root pitr-backup
    load_settings
    is_local_db || die "point-in-time recovery needs the local PostgreSQL (a shared one: ./deploy-mikrus.sh backup)"
    load_pitr
    pitr_write_config
    pitr_backup "$1"
}

# restore --time: the local cluster as it was then (or latest), the proxy stopped around the swap.
restore_to_time() {
    is_local_db || die "point-in-time recovery needs the local PostgreSQL; a shared one restores a pg_dump backup: ./deploy-mikrus.sh restore FILE"
    load_pitr
    pitr_write_config
    systemctl stop "$SERVICE.service"
    trap 'systemctl start "$SERVICE.service"' EXIT
    pitr_restore "$1"
}

# After a deploy that fails /health: the database as it was before the deploy touched it. The local cluster goes
# back to the moment noted before the schema step (point-in-time recovery, the extension's own catalog included);
# a shared PostgreSQL, or a failed recovery, restores the pg_dump backup the deploy took.
rollback_schema() {
    local safety=$1 noted=${2:-}
    systemctl stop "$SERVICE.service" || true
    if is_local_db && [ -n "$noted" ]; then
        load_pitr
        if YES=1 pitr_restore "$noted"; then return 0; fi
        say "point-in-time recovery to $noted failed: restoring the backup $safety instead"
    fi
    # At the schema version the backup holds, which the previous build speaks (not upgraded to this code's).
    local version
    version=$(backup_schema_version "$safety") || return 1
    RESTORE_SCHEMA_VERSION=$version YES=1 restore_run "$safety"
}

# Every service of the install and its timers; warns about any that is not running.
status_services() {
    local unit state warn=0 units=("$SERVICE.service" nginx.service "$SERVICE-backup.timer")
    if is_local_db; then
        load_pitr
        units+=("$PG_SERVICE.service" "$SERVICE-pitr-full.timer" "$SERVICE-pitr-diff.timer")
    fi
    for unit in "${units[@]}"; do
        state=$(systemctl is-active "$unit" 2>/dev/null || true)
        say "$unit: ${state:-unknown}"
        [ "$state" = active ] || { say "WARNING: $unit is not active"; warn=1; }
    done
    return $warn
}

# pgbackrest check and verify, the window one can restore to, and whether PostgreSQL's archiver keeps up.
status_pitr() {
    is_local_db || { say "point-in-time recovery: none on a shared PostgreSQL (pg_dump backups only)"; return 0; }
    load_pitr
    [ -r "$PITR_CONF" ] || { say "WARNING: point-in-time recovery is not set up: ./deploy-mikrus.sh init"; return 1; }
    local warn=0 archiver
    pitr_health || warn=1
    archiver=$(pitr_psql -d postgres -tA -c "SELECT coalesce(extract(epoch FROM now() - last_archived_time)::int::text, 'never')
        || ' ' || (coalesce(last_failed_time > last_archived_time, last_failed_time IS NOT NULL))::text FROM pg_stat_archiver" 2>/dev/null) ||
        archiver='? true'
    say "WAL archived last: ${archiver%% *} s ago"
    if [ "${archiver##* }" = true ]; then say "WARNING: PostgreSQL's archive_command fails: ./deploy-mikrus.sh logs postgresql"; warn=1; fi
    return $warn
}

# logs [SERVICE] [-f]: the journal of the install's units and the files the services write.
cmd_logs() {
    local which=all follow=0 arg units=() files=() version
    # shellcheck source=/dev/null
    if [ -r "$TA_ETC/.env" ]; then set -a; . "$TA_ETC/.env"; set +a; fi   # BACKREST_STATE
    for arg in "$@"; do
        case $arg in
            -f) follow=1 ;;
            proxy|notifier|postgresql|nginx|backup|pitr|all) which=$arg ;;
            *) die "logs takes a service (proxy, notifier, postgresql, nginx, backup, pitr, all) and -f" ;;
        esac
    done
    version=$(pg_version)
    case $which in proxy|all) units+=(-u "$SERVICE.service") ;; esac
    case $which in notifier|all) units+=(-u "$SERVICE-notifier.service") ;; esac
    case $which in backup|all) units+=(-u "$SERVICE-backup.service") ;; esac
    case $which in pitr|all) units+=(-u "$SERVICE-pitr-full.service" -u "$SERVICE-pitr-diff.service")
        files+=("${BACKREST_STATE:-/var/lib/pgbackrest/therapyassistance-state}"/log/*.log) ;; esac
    case $which in nginx|all) units+=(-u nginx.service); files+=(/var/log/nginx/error.log) ;; esac
    case $which in postgresql|all)
        if [ -n "$version" ]; then
            units+=(-u "postgresql@$version-main.service"); files+=("/var/log/postgresql/postgresql-$version-main.log")
        fi ;;
    esac
    local existing=() f
    for f in "${files[@]}"; do [ -r "$f" ] && existing+=("$f"); done
    if [ $follow = 1 ]; then
        if [ ${#existing[@]} -gt 0 ]; then tail -n 20 -F "${existing[@]}" & fi
        journalctl "${units[@]}" -n 50 -f
    else
        journalctl "${units[@]}" -n 200 --no-pager
        if [ ${#existing[@]} -gt 0 ]; then tail -n 50 "${existing[@]}"; fi
    fi
}

# ./deploy-mikrus.sh COMMAND --help
command_help() {
    case $1 in
        init) echo "usage: ./deploy-mikrus.sh init [--domain D --email E] [--demo]
  first installation, safe to run again; with a local PostgreSQL also WAL archiving and pgBackRest's timers;
  --demo: the demo practice (terapeuta@example.com / haslo123) in a database without accounts" ;;
        deploy) echo "usage: ./deploy-mikrus.sh deploy
  build, back up, upgrade the schema, switch, restart; when /health fails: the previous build, and the
  database as it was before (point-in-time recovery locally, else the backup the deploy took)" ;;
        update) echo "usage: ./deploy-mikrus.sh update
  git pull --ff-only, then deploy (rolls back the release and the schema when /health fails)" ;;
        restart|stop) echo "usage: ./deploy-mikrus.sh $1
  $1 the proxy service" ;;
        logs) echo "usage: ./deploy-mikrus.sh logs [proxy|postgresql|nginx|backup|pitr|all] [-f]
  the journal and log files of one service or of all (default); -f follows them" ;;
        status) echo "usage: ./deploy-mikrus.sh status
  every service and timer, /health, the schema, the port, PostgreSQL, the settings files, errors in the
  proxy's log of the last 24 h, nginx serving the SPA and /api/, disk, the newest backup, pgbackrest check
  and verify, the WAL archive; exits 1 when anything needs attention" ;;
        backup) echo "usage: ./deploy-mikrus.sh backup
  a pg_dump backup now into BACKUP_DIR; prints the file's path last" ;;
        pitr-backup) echo "usage: ./deploy-mikrus.sh pitr-backup full|diff|incr
  a pgBackRest backup now (the timers take a full one on Sundays and a differential one the other days)" ;;
        restore) echo "usage: ./deploy-mikrus.sh restore [FILE [--identity KEY] | --time 'YYYY-MM-DD HH:MM:SS' | --time latest] [--yes]
  without arguments: list the pg_dump backups; FILE: restore that pg_dump backup (a .age copy from the
  backup space is decrypted with the age identity file KEY, asked for when not given);
  --time: the local cluster as it was at that moment (Europe/Warsaw) or with every write (latest), restored
  into a new folder and swapped in once it works; the current one is kept. Asks first unless --yes" ;;
        *) usage ;;
    esac
}

# ---------------------------------------------------------------------------------------
# The demo practice (init --demo) and what status checks beyond the service: what the
# original's init and check-status.sh offered (issue 14).

# Seeds stack/seed.sql's demo practice through the api, as the owner, into a database that
# has no accounts: never next to real therapists, whose database would then hold an account
# with a published password. Running it again keeps the demo practice as it is.
seed_demo() {
    local accounts
    accounts=$(owner_psql "$DB_NAME" -tA -c \
        "SELECT count(*) FILTER (WHERE lower(email) = 'terapeuta@example.com') || ' ' || count(*) FROM ta.users") ||
        die "cannot read the accounts of $DB_NAME"
    case $accounts in
        '0 0') owner_psql "$DB_NAME" -f "$TA_ROOT/stack/seed.sql" >/dev/null || die "seeding the demo practice failed"
               say "seeded the demo practice: log in as terapeuta@example.com / haslo123 (a published password:" \
                   "delete the account or change the password before real patients are entered)" ;;
        1\ *) say "keeping the demo practice (terapeuta@example.com exists)" ;;
        *) say "WARNING: not seeding the demo practice: $DB_NAME already has accounts" ;;
    esac
}

# Each check prints one line and returns 1 (after a WARNING line) when the operator should act.
status_runtime() {
    local warn=0
    status_port || warn=1
    status_database || warn=1
    status_config || warn=1
    status_logs || warn=1
    status_nginx || warn=1
    return $warn
}

# The proxy listens on PORT, on loopback only (nginx is the way in).
status_port() {
    local addrs
    addrs=$(ss -ltnH "sport = :$PORT" 2>/dev/null | awk '{ print $4 }' | sort -u | paste -sd ' ')
    if [ -z "$addrs" ]; then
        say "WARNING: nothing listens on port $PORT (PORT in $TA_ETC/.env)"; return 1
    fi
    if grep -qvE '^(127\.[0-9.]+|\[::1\]):' <<<"${addrs// /$'\n'}"; then
        say "WARNING: port $PORT listens beyond loopback ($addrs): set LISTEN_ADDRESS=127.0.0.1 in $TA_ETC/.env"
        return 1
    fi
    say "port: $PORT ($addrs)"
}

# PostgreSQL answers the owner (a refused or missing connection is said, with libpq's reason).
status_database() {
    local answer
    if ! answer=$(owner_psql "$DB_NAME" -tA -c "SELECT 'ok'" 2>&1) || [ "$answer" != ok ]; then
        say "WARNING: PostgreSQL at $PGHOST:$PGPORT, database $DB_NAME, does not answer: ${answer%%$'\n'*}"
        return 1
    fi
    say "PostgreSQL: $PGHOST:$PGPORT, database $DB_NAME answers"
}

# The settings files are the owner's alone, the secret long enough; the units and the site exist.
status_config() {
    local f warn=0
    for f in "$TA_ETC/.env" "$TA_ETC/owner.env"; do
        if [ "$(stat -c %a "$f")" != 600 ]; then say "WARNING: $f may be read by others: chmod 600 $f"; warn=1; fi
    done
    if [ "${#JWT_SECRET}" -lt 32 ]; then say "WARNING: JWT_SECRET in $TA_ETC/.env is shorter than 32 bytes"; warn=1; fi
    for f in "$SYSTEMD_DIR/$SERVICE.service" "$SYSTEMD_DIR/$SERVICE-backup.timer" \
             "$NGINX_DIR/sites-enabled/therapyassistance"; do
        [ -e "$f" ] || { say "WARNING: $f is missing: ./deploy-mikrus.sh deploy writes it"; warn=1; }
    done
    [ $warn = 1 ] || say "settings: $TA_ETC/.env and owner.env (mode 600), systemd units and nginx site in place"
    return $warn
}

# The proxy's output of the last 24 hours (journald's, or TA_LOG_FILE where it runs without
# systemd): answers 500/503 (access-log lines) and the proxy's own complaints (start-up, pool).
status_logs() {
    local since log errors last
    since=$(date -u -d '24 hours ago' +%Y-%m-%dT%H:%M:%S)
    if [ -n "${TA_LOG_FILE:-}" ]; then
        log=$(cat -- "$TA_LOG_FILE" 2>/dev/null) || { say "WARNING: cannot read $TA_LOG_FILE"; return 1; }
    elif command -v journalctl >/dev/null && log=$(journalctl -u "$SERVICE.service" --since '-24h' -o cat -q --no-pager 2>/dev/null); then
        :
    else
        say "WARNING: no log to read (no journal of $SERVICE.service; TA_LOG_FILE names a file)"; return 1
    fi
    errors=$(awk -v since="$since" '
        /"status":5[0-9][0-9]/ { if (match($0, /"time":"[^"]*"/) && substr($0, RSTART + 8, 19) >= since) print; next }
        /^therapyassistance-proxy: / { print }' <<<"$log")
    if [ -z "$errors" ]; then
        say "log: no errors in the last 24 h"
        return 0
    fi
    last=$(tail -n 1 <<<"$errors")
    say "WARNING: $(wc -l <<<"$errors") errors in the proxy's log in the last 24 h; the last: ${last:0:200}"
    return 1
}

# nginx: its configuration passes nginx -t, and it serves the SPA and the API through /api/.
status_nginx() {
    local base warn=0 curl_args=()
    if [ -f "$NGINX_DIR/nginx.conf" ]; then
        if nginx -t -q -c "$NGINX_DIR/nginx.conf" 2>/dev/null; then say "nginx: configuration ok"; else
            say "WARNING: nginx -t refuses $NGINX_DIR/nginx.conf"; warn=1; fi
    fi
    if [ -n "${DOMAIN:-}" ] && [ -s "${LETSENCRYPT_DIR:-/etc/letsencrypt}/live/$DOMAIN/fullchain.pem" ]; then
        base=https://$DOMAIN curl_args=(--resolve "$DOMAIN:443:127.0.0.1")
    else
        base=http://127.0.0.1:$WEB_PORT
    fi
    if ! curl -fsS --max-time 5 "${curl_args[@]}" "$base/" 2>/dev/null | grep -qi '<html'; then
        say "WARNING: nginx does not serve the web interface at $base/"; warn=1
    elif ! curl -fsS --max-time 5 "${curl_args[@]}" "$base/api/health" 2>/dev/null | grep -q healthy; then
        say "WARNING: nginx serves the web interface but not the API at $base/api/health"; warn=1
    else
        say "nginx: $base/ serves the web interface and /api/"
    fi
    return $warn
}

# ---------------------------------------------------------------------------------------
# Commands

cmd_init() {
    while [ $# -gt 0 ]; do
        case $1 in
            --domain) [ $# -ge 2 ] || die "--domain needs a value"; DOMAIN=$2; shift 2 ;;
            --email) [ $# -ge 2 ] || die "--email needs a value"; EMAIL=$2; shift 2 ;;
            --demo) DEMO=1; shift ;;
            *) die "init: unknown argument '$1' (see ./deploy-mikrus.sh help)" ;;
        esac
    done
    need_root init
    [ -f "$TA_ROOT/proxy/Makefile" ] || die "this checkout has no proxy/: nothing to run"
    write_settings
    load_settings
    add_backrest_passphrase
    install_packages
    create_user
    [ "$INSTALL" = extension ] && setup_local_postgres
    install -d -m 755 "$TA_HOME" "$TA_HOME/releases"
    (umask 077 && mkdir -p "$BACKUP_DIR")
    local release
    release=$(build_release)
    install_schema
    if [ "${DEMO:-0}" = 1 ]; then seed_demo; fi
    switch_release "$release"
    render_units
    systemctl daemon-reload
    systemctl enable -q "$SERVICE.service" "$SERVICE-notifier.service" "$SERVICE-backup.timer"
    systemctl restart "$SERVICE.service" "$SERVICE-notifier.service"
    systemctl start "$SERVICE-backup.timer"
    init_pitr
    reload_nginx
    if install_tls; then reload_nginx; fi
    install_renewal_hook
    wait_healthy 30 || die "the proxy does not answer /health: ./deploy-mikrus.sh logs"
    say "TherapyAssistance runs: ${DOMAIN:+https://$DOMAIN/}${DOMAIN:-http://<this server>:$WEB_PORT/}"
    say "register the first account in the web interface; backups daily at 03:00 in $BACKUP_DIR"
    if [ -n "${BACKUP_COPY_DIR:-}" ] && [ -z "${BACKUP_AGE_RECIPIENT:-}" ]; then
        say "WARNING: BACKUP_COPY_DIR is set but BACKUP_AGE_RECIPIENT is not: NO backup is copied to $BACKUP_COPY_DIR until"
        say "WARNING: you put an age public key into $TA_ETC/.env (age-keygen on your own computer; keep the key file there)"
    fi
}

cmd_deploy() {
    need_root deploy
    load_settings
    local previous release safety noted
    previous=$(readlink -f "$TA_HOME/current" 2>/dev/null || true)
    release=$(build_release)
    safety=$(backup_create pre-deploy | tail -n 1) || die "backup before the deploy failed: nothing changed"
    say "backup before the deploy: $safety"
    noted=$(TZ=$TA_TIMEZONE date '+%Y-%m-%d %H:%M:%S') && sleep 1   # the moment a rollback returns to
    install_schema
    switch_release "$release"
    render_units
    systemctl daemon-reload
    systemctl enable -q "$SERVICE-notifier.service"
    systemctl restart "$SERVICE.service" "$SERVICE-notifier.service"
    if wait_healthy 30; then
        reload_nginx
        say "deployed $(basename "$release")"
        return 0
    fi
    if [ -n "$previous" ] && [ -d "$previous" ] && [ "$previous" != "$release" ]; then
        say "the new build fails /health: going back to $(basename "$previous") and to the database before the deploy"
        rollback_schema "$safety" "$noted" || say "WARNING: the database could not be rolled back (backup: $safety)"
        switch_release "$previous"
        systemctl restart "$SERVICE.service"
        wait_healthy 30 && die "rolled back to $(basename "$previous") and to the database as it was at $noted;" \
            "see ./deploy-mikrus.sh logs"
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
    notifier_status || warn=1
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
    if [ -n "${BACKUP_COPY_DIR:-}" ] && [ -z "${BACKUP_AGE_RECIPIENT:-}" ]; then
        say "WARNING: BACKUP_COPY_DIR is set without BACKUP_AGE_RECIPIENT: no backup is copied there (set the age public key in $TA_ETC/.env)"; warn=1
    fi
    if [ "$(owner_psql "$DB_NAME" -tA -c "SELECT count(*) FROM pg_policy WHERE polname = '$BACKUP_POLICY'" 2>/dev/null)" != 0 ]; then
        say "WARNING: an interrupted backup left its read policy: ./deploy-mikrus.sh backup removes it"; warn=1
    fi
    status_services || warn=1
    status_runtime || warn=1
    status_pitr || warn=1
    return $warn
}

# The notifier: running when configured, and what the outbox holds (failed in the last day).
notifier_status() {
    local state failed
    if ! grep -Eq '^(SMTP_URL|SMSAPI_TOKEN)=.+' "$TA_ETC/notifier.env" 2>/dev/null; then
        say "reminders: not configured (SMTP_URL or SMSAPI_TOKEN in $TA_ETC/notifier.env)"
        return 0
    fi
    state=$(systemctl is-active "$SERVICE-notifier.service" 2>/dev/null || true)
    say "service $SERVICE-notifier: ${state:-unknown}"
    failed=$(owner_psql "$DB_NAME" -tA -c "SELECT count(*) FILTER (WHERE status = 'pending' AND send_at < now() - interval '10 minutes') || ' overdue, ' || count(*) FILTER (WHERE status = 'failed' AND updated_at > now() - interval '1 day') || ' failed in the last day' FROM ta.messages()" 2>/dev/null || true)
    say "reminders: ${failed:-?}"
    [ "$state" = active ] || { say "WARNING: the notifier is not running: ./deploy-mikrus.sh logs"; return 1; }
}

cmd_backup() {
    [ $# = 0 ] || die "backup takes no arguments"
    need_root backup
    load_settings
    backup_create
}

cmd_restore() {
    local file='' time='' identity='' plain=''
    YES=0
    while [ $# -gt 0 ]; do
        case $1 in
            --yes|-y) YES=1 ;;
            --identity|-i) [ $# -ge 2 ] || die "--identity needs the age key file"; identity=$2; shift ;;
            --time) [ $# -ge 2 ] || die "--time needs a value: 'YYYY-MM-DD HH:MM:SS' or latest"; time=$2; shift ;;
            -*) die "restore: unknown option $1" ;;
            *) [ -z "$file" ] || die "restore takes one FILE"; file=$1 ;;
        esac
        shift
    done
    [ -z "$file" ] || [ -z "$time" ] || die "restore takes a FILE or --time, not both"
    need_root restore
    load_settings
    if [ -n "$time" ]; then restore_to_time "$time"; return; fi
    if [ -z "$file" ]; then
        backup_list
        say "restore one with: ./deploy-mikrus.sh restore FILE"
        return 0
    fi
    if [[ $file == *.age ]]; then
        # Encrypted to BACKUP_AGE_RECIPIENT: decrypted with its key file (never kept on this machine).
        if [ -z "$identity" ]; then
            [ -t 0 ] || die "$file is encrypted with age: give its key file with --identity KEY"
            read -r -p "age identity (key) file for $file: " identity || die "no key file given: nothing was changed"
        fi
        [ -r "$identity" ] || die "cannot read the age identity file '$identity': nothing was changed"
        plain=$(umask 077 && mkdir -p "$BACKUP_DIR" && mktemp -d "$BACKUP_DIR/.decrypt.XXXXXX") || die "cannot create a folder in $BACKUP_DIR"
        # shellcheck disable=SC2064  # the folder's name now
        trap "rm -rf -- '$plain'" EXIT
        file=$(backup_decrypt "$file" "$identity" "$plain") || exit 1
    fi
    backup_check "$file" || exit 1
    # The proxy keeps plans of the old schema in its pooled connections: stop it around the swap.
    systemctl stop "$SERVICE.service"
    # shellcheck disable=SC2064  # the decrypted folder's name now
    trap "systemctl start '$SERVICE.service'${plain:+; rm -rf -- '$plain'}" EXIT
    restore_run "$file"
}

main() {
    local command=${1:-help} arg
    [ $# -gt 0 ] && shift
    for arg in "$@"; do
        case $arg in -h|--help) command_help "$command"; return 0 ;; esac
    done
    case $command in
        help|-h|--help) usage ;;
        init) cmd_init "$@" ;;
        deploy|update|restart|stop|status)
            [ $# = 0 ] || die "$command takes no arguments"
            case $command in
                deploy) cmd_deploy ;;
                update) cmd_update ;;
                restart) need_root restart; systemctl restart "$SERVICE.service" "$SERVICE-notifier.service"
                         wait_healthy 30 ||
                             die "restarted, but /health does not answer: ./deploy-mikrus.sh logs" ;;
                stop) need_root stop; systemctl stop "$SERVICE-notifier.service" "$SERVICE.service" ;;
                status) cmd_status ;;
            esac ;;
        logs) cmd_logs "$@" ;;
        pitr-backup) cmd_pitr_backup "$@" ;;
        backup) cmd_backup "$@" ;;
        restore) cmd_restore "$@" ;;
        *) usage >&2; printf 'error: unknown command %s\n' "$command" >&2; exit 2 ;;
    esac
}

# Sourced by the tests for its functions; run as a command otherwise.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
