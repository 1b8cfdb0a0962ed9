#!/usr/bin/env bash
# ops/test.sh [SUITE...]: the operations tests (make test runs them; the stack must be up).
#   scripts   shellcheck of every shell script of the project
#   restore   backup/restore round trips on the real local PostgreSQL (ops/tests/restore.bats)
#   logic     argument handling, confirmation, rotation (ops/tests/*-logic.bats)
#   deploy    deploy-mikrus.sh: arguments, rendered files, idempotent steps (ops/tests/deploy.bats)
#   logs      nothing secret in the server log with the configuration we ship (ops/tests/logs.bats)
#   docker    docker/: docker-compose config and the Dockerfiles' steps against the native ones
#   pitr      point-in-time recovery drill with pgBackRest on a cluster of its own, and on full disks
#             (ops/tests/pitr.bats, pitr-disk.bats)
#   clones    make up in fresh clones: root in /root, a normal user in $HOME, a path with spaces, another DB_PORT (ops/tests/clones.bats)
# Without arguments: all of them. Exits non-zero when any fails.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

need() {
    command -v "$1" >/dev/null ||
        { echo "ops/test.sh needs $1: apt-get install $2" >&2; exit 1; }
}

run_suite() {
    case $1 in
        scripts)
            need shellcheck shellcheck
            mapfile -t scripts < <(git ls-files -co --exclude-standard -- ops docker stack regress bench \
                                       deploy-mikrus.sh .ci/run | grep -E '\.(sh|bash)$|^deploy-mikrus\.sh$|^\.ci/run$')
            shellcheck -x -P "$ROOT" "${scripts[@]}" ;;
        restore|logic|deploy|logs|clones|pitr)
            need bats bats
            local files=()
            case $1 in
                restore) files=(ops/tests/restore.bats) ;;
                logic) mapfile -t files < <(ls ops/tests/*-logic.bats) ;;
                deploy) files=(ops/tests/deploy.bats) ;;
                logs) files=(ops/tests/logs.bats) ;;
                clones) files=(ops/tests/clones.bats) ;;
                pitr) files=(ops/tests/pitr.bats ops/tests/pitr-disk.bats) ;;
            esac
            bats "${files[@]}" ;;
        docker)
            need docker-compose docker-compose
            bats ops/tests/docker.bats ;;
        *) echo "ops/test.sh: unknown suite '$1'" >&2; return 2 ;;
    esac
}

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(scripts logic restore deploy logs docker pitr clones)
failed=()
for s in "${suites[@]}"; do
    echo "--- ops: $s" >&2
    run_suite "$s" || failed+=("$s")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "ops: failed: ${failed[*]}" >&2
    exit 1
fi
