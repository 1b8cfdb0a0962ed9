#!/usr/bin/env bats
# make up where newcomers clone (issue 19): root in /root (mode 700, out of the postgres user's reach), a normal
# user in their $HOME, and a path with spaces. Each is a real clone of this checkout (its uncommitted changes laid
# over it), started with make up on ports of its own, used through nginx, stopped with make down and started again.

setup_file() {
    load helpers
    # Ports of their own, next to the stack's (DB_PORT+1 is its replica's).
    export CLONE_DB_PORT=$((DB_PORT + 3)) CLONE_PORT=$((PORT + 3)) CLONE_WEB_PORT=$((WEB_PORT + 3))
    # A user of its own per run: another checkout's make test may run this file at the same time.
    export CLONE_USER=ta_newcomer_$$
}

setup() {
    load helpers
    CLONE=
}

# Whatever a test left running or on disk goes, even when it failed.
teardown() {
    [ -n "$CLONE" ] || return 0
    if [ -f "$CLONE/Makefile" ]; then as_owner make -s -C "$CLONE" down >/dev/null 2>&1 || true; fi
    local state
    state=$(readlink "$CLONE/.work/pgdata" 2>/dev/null) && rm -rf -- "$(dirname "$state")"
    rm -rf -- "$CLONE_TOP"
}

teardown_file() {
    load helpers
    if [ "$(id -u)" = 0 ] && id "$CLONE_USER" >/dev/null 2>&1; then userdel -r "$CLONE_USER" 2>/dev/null || true; fi
}

# as_owner CMD...: CMD as the clone's owner (OWNER), with the clone's ports.
as_owner() {
    local env=(-u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u JWT_SECRET -C "$CLONE" HOME="$(home_of "$OWNER")"
               DB_PORT="$CLONE_DB_PORT" PORT="$CLONE_PORT" WEB_PORT="$CLONE_WEB_PORT")
    if [ "$OWNER" = "$(id -un)" ]; then
        env "${env[@]}" "$@"
    else
        (cd / && runuser -u "$OWNER" -- env "${env[@]}" "$@")
    fi
}

# clone_into DIR OWNER: git clone of this checkout into DIR, with the working tree's changes, owned by OWNER.
# CLONE_TOP is the first folder it had to make (removed afterwards).
clone_into() {
    CLONE=$1 OWNER=$2
    local top=$CLONE
    while [ ! -e "$(dirname "$top")" ]; do top=$(dirname "$top"); done
    CLONE_TOP=$top
    mkdir -p "$(dirname "$CLONE")"
    git clone -q "$ROOT" "$CLONE"
    (cd "$ROOT" && git ls-files -z -co --exclude-standard | tar --null -T - -c) | tar -x -C "$CLONE"
    [ "$OWNER" = "$(id -un)" ] || chown -R "$OWNER:" "$CLONE_TOP"
}

# A normal user: a new one when we are root, else ourselves.
normal_user() {
    if [ "$(id -u)" != 0 ]; then id -un; return; fi
    id "$CLONE_USER" >/dev/null 2>&1 || useradd -m -s /bin/bash "$CLONE_USER"
    echo "$CLONE_USER"
}

home_of() { getent passwd "$1" | cut -d: -f6; }

api() { curl -sS --max-time 10 "$@"; }

# What a newcomer does and sees: make up succeeds, the web interface and /api/ answer, the demo login works, a
# patient written through the API is still there after make down and a second make up, and make down stops it all.
newcomer_round() {
    run as_owner make up
    echo "$output" | tail -n 20
    [ "$status" -eq 0 ]
    run api -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CLONE_WEB_PORT/"
    [ "$output" = 200 ]
    local token
    token=$(api --data-urlencode username=terapeuta@example.com --data-urlencode password=haslo123 \
        "http://127.0.0.1:$CLONE_WEB_PORT/api/auth/login" | sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
    [ -n "$token" ]
    run api -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d '{"name":"Nowa Pacjentka Klonu","email":"klon@example.com","phone":"+48 600 100 200"}' \
        "http://127.0.0.1:$CLONE_WEB_PORT/api/patients"
    [ "$output" = 200 ]
    run as_owner make down
    [ "$status" -eq 0 ]
    ! api -o /dev/null "http://127.0.0.1:$CLONE_PORT/health" 2>/dev/null
    ! api -o /dev/null "http://127.0.0.1:$CLONE_WEB_PORT/" 2>/dev/null
    ! cluster_running "$(as_owner bash -c '. stack/env.sh && echo "$PGDATA"')"
    run as_owner make up
    [ "$status" -eq 0 ]
    run api -H "Authorization: Bearer $token" "http://127.0.0.1:$CLONE_WEB_PORT/api/patients"
    [[ $output == *"Nowa Pacjentka Klonu"* ]]
    run as_owner bash -c "echo \"SELECT 'users: ' || count(*) FROM ta.users\" | make -s psql"
    [ "$status" -eq 0 ] && [[ $output == *"users: 1"* ]]
}

@test "root clones into /root (mode 700): the cluster lives in /var/lib/therapyassistance, linked from .work" {
    [ "$(id -u)" = 0 ] || skip "this is root's case: run make test as root to cover it"
    [ "$(stat -c %a /root)" = 700 ] || chmod 700 /root
    clone_into "/root/ta-newcomer-$$/therapyassistance" root
    newcomer_round
    # The data is where postgres reaches it, tied to this checkout by its link and its note.
    local data
    data=$(readlink "$CLONE/.work/pgdata")
    [[ $data == /var/lib/therapyassistance/therapyassistance-*/pgdata ]]
    [ "$(stat -c %U "$data")" = postgres ]
    [ "$(cat "$(dirname "$data")/checkout")" = "$CLONE" ]
}

@test "a normal user clones into \$HOME: everything runs as that user, in the checkout's .work" {
    local user
    user=$(normal_user)
    [ -n "$(home_of "$user")" ] && [ -d "$(home_of "$user")" ] || skip "user $user has no home folder"
    clone_into "$(home_of "$user")/ta-newcomer-$$/therapyassistance" "$user"
    newcomer_round
    [ -d "$CLONE/.work/pgdata" ] && [ ! -L "$CLONE/.work/pgdata" ]
    [ "$(stat -c %U "$CLONE/.work/pgdata")" = "$user" ]
    # No PostgreSQL process of this cluster runs as anyone else.
    [ "$(ps -o user= -p "$(head -1 "$CLONE/.work/pgdata/postmaster.pid")")" = "$user" ]
}

@test "a path with spaces (and Polish letters): make up, down and up again" {
    local user
    user=$(normal_user)
    [ -n "$(home_of "$user")" ] && [ -d "$(home_of "$user")" ] || skip "user $user has no home folder"
    clone_into "$(home_of "$user")/ta newcomer $$/moje projekty/gabinet żółć" "$user"
    newcomer_round
    [ -s "$CLONE/.work/pgdata/PG_VERSION" ]
}

@test "make up with another DB_PORT moves the running cluster to it, every row kept" {
    # As whoever may install the clone's build of the extension (a normal user's make up asks root to).
    clone_into "$(home_of "$(id -un)")/ta-newcomer-port-$$/therapyassistance" "$(id -un)"
    run as_owner make up
    echo "$output" | tail -n 20
    [ "$status" -eq 0 ]
    local first=$CLONE_DB_PORT
    CLONE_DB_PORT=$((DB_PORT + 4))
    run as_owner make up
    echo "$output" | tail -n 20
    [ "$status" -eq 0 ]
    [ "$(sed -n 4p "$CLONE/.work/pgdata/postmaster.pid")" = "$CLONE_DB_PORT" ]
    [ ! -S "$(as_owner bash -c '. stack/env.sh && echo "$PGSOCK"')/.s.PGSQL.$first" ]
    run as_owner bash -c "echo \"SELECT 'users: ' || count(*) FROM ta.users\" | make -s psql"
    [ "$status" -eq 0 ] && [[ $output == *"users: 1"* ]]
}
