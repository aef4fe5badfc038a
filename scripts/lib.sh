#!/usr/bin/env bash
# Shared helpers for building and running carcosa-edge locally.
#
# Source it from a script that runs with `set -euo pipefail`:
#     source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# or run one function directly:
#     bash scripts/lib.sh ensure_toolchain
#
# Functions (all idempotent; quiet when there is nothing to do; loud on failure):
#   ensure_toolchain              install everything below that is missing or at the wrong version
#                                 (and ensure_browser_tools, scripts/lib-uppy.sh)
#     ensure_rust_tools           wasm32 target, worker-build, wasm-bindgen-cli (Cargo.lock version), s3s-fs
#     ensure_fuzz_tools           a nightly toolchain and cargo-fuzz, for scripts/fuzz
#     ensure_node_tools           `npm ci` when node_modules is missing or older than package-lock.json
#     ensure_system_packages      PostgreSQL server binaries and curl, from Debian packages
#   ensure_bench_tools            bench/node_modules (the JavaScript reference Worker's packages)
#   pg_start DIR PORT             throwaway PostgreSQL cluster for DIR; prints and exports DATABASE_URL
#   pg_stop DIR
#   pg_destroy DIR                stop it and delete its data
#   pg_data_dir DIR               where the cluster for DIR keeps its data and socket
#   pg_url PORT [DB]              the password URL for a cluster started by pg_start
#   pg_createdb URL NAME          create database NAME if missing; prints its URL
#   pg_start_tls DIR PORT         as pg_start, but TLS-only (hostssl) with a generated CA in DIR/tls
#   s3_start DIR PORT ACCESS SECRET   s3s-fs on 127.0.0.1:PORT storing buckets under DIR/data
#   s3_stop DIR
#   dev_secrets                   exports CREDENTIALS_ENCRYPTION_KEY and UPLOAD_TOKEN_SECRET
#   worker_build [--force]        build/index.js + build/index_bg.wasm, skipped when fresh
#   worker_build_mark / worker_rebuilt WHAT   note build/'s time; later, fail saying WHAT if it changed
#   wrangler_start PORT LOGFILE   `wrangler dev` on 127.0.0.1:PORT, waits for /v1/health
#   wrangler_stop [PORT]          stops one (or every) wrangler_start instance
#   worker_socket_port PORT       the Worker's own socket behind that wrangler's dev proxy
#   js_worker_start PORT LOG URL DIR   the JavaScript reference Worker (bench/js-worker) the same way
#                                 (JS_SCOPE_STATEMENT: joins, the default, or subqueries)
#   wrangler_dry_run [OUTDIR]     bundle as `wrangler deploy` would (offline); prints the upload size
#   dev_down                      stop what scripts/dev started (the default ports below)
#
# Everything stateful lives under .dev/ in the repository (git-ignored), except PostgreSQL's data
# when run as root (see pg_data_dir).

CARCOSA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARCOSA_DEV="$CARCOSA_ROOT/.dev"

# worker-build must understand the `worker` crate in Cargo.lock (0.8.x) and, at 0.8.7, expects
# esbuild 0.28.2 and wasm-opt 132 (see package.json). Bump these together.
WORKER_BUILD_VERSION="0.8.7"
# 0.14.1 is the newest s3s-fs that builds with Rust 1.95 (0.17 needs 1.96).
S3S_FS_VERSION="0.14.1"
# Fuzzing (scripts/fuzz): cargo-fuzz drives libFuzzer, which needs a nightly compiler (sanitizer
# flags). FUZZ_TOOLCHAIN may name a dated nightly (nightly-YYYY-MM-DD) to pin it.
CARGO_FUZZ_VERSION="0.13.1"
: "${FUZZ_TOOLCHAIN:=nightly}"
NODE_MAJOR="22"

# Defaults for scripts/dev; each can be overridden from the environment.
: "${CARCOSA_PG_PORT:=54320}"
: "${CARCOSA_S3_PORT:=9100}"
: "${CARCOSA_S3_ACCESS_KEY:=carcosa-dev}"
: "${CARCOSA_S3_SECRET_KEY:=carcosa-dev-secret-key}"
: "${CARCOSA_WORKER_PORT:=8787}"

# cargo-installed tools live here on rustup machines even when the login profile was not read.
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$CARGO_BIN:"*) ;; *) PATH="$CARGO_BIN:$PATH" ;; esac

# --- messages ---------------------------------------------------------------------------------

# Progress goes to stderr so that functions can print a result (a URL) on stdout.
say() { printf '==> %s\n' "$*" >&2; }

# Prints the message (and optional log tail) and returns 1, so callers write `... || return 1`.
fail() {
    printf '\nERROR: %s\n' "$1" >&2
    if [[ -n "${2:-}" && -f "$2" ]]; then
        printf -- '--- last lines of %s ---\n' "$2" >&2
        tail -n "${3:-40}" "$2" >&2
        printf -- '--- end of %s ---\n' "$2" >&2
    fi
    return 1
}

_log_dir() { mkdir -p "$CARCOSA_DEV/logs" && printf '%s' "$CARCOSA_DEV/logs"; }

# Makes DIR absolute, because the functions below hand paths to processes with other cwds.
_abspath() { mkdir -p "$1" && (cd "$1" && pwd); }

# Runs a long install with its output in a log, so the terminal gets one line per tool.
_install_step() {
    local what="$1" log
    shift
    local name="${what%% *}"
    log="$(_log_dir)/install-${name//\//-}.log"
    printf '==> installing %s ... ' "$what" >&2
    local start=$SECONDS
    if "$@" >"$log" 2>&1; then
        printf 'done (%ds)\n' $((SECONDS - start)) >&2
    else
        printf 'FAILED\n' >&2
        fail "could not install $what (command: $*)" "$log" 60
    fi
}

# --- toolchain --------------------------------------------------------------------------------

ensure_toolchain() {
    _with_lock toolchain _ensure_toolchain_locked
}

_ensure_toolchain_locked() {
    ensure_system_packages || return 1
    ensure_rust_tools || return 1
    ensure_fuzz_tools || return 1
    ensure_node_tools || return 1
    ensure_browser_tools || return 1
}

# Two scripts bootstrapping at once would run the same cargo/npm/apt installs concurrently.
_with_lock() {
    local name="$1" lock
    shift
    mkdir -p "$CARCOSA_DEV"
    lock="$CARCOSA_DEV/$name.lock"
    (
        flock -w 3600 9 || { fail "timed out waiting for $lock"; exit 1; }
        "$@"
    ) 9>"$lock"
}

# The wasm-bindgen CLI refuses a library of any other version, so read the one the build uses.
wasm_bindgen_lock_version() {
    local v
    v="$(awk '/^\[\[package\]\]/{n=""} /^name = "wasm-bindgen"$/{n=1} n && /^version = /{gsub(/"/,"",$3); print $3; exit}' \
        "$CARCOSA_ROOT/Cargo.lock")"
    [[ -n "$v" ]] || { fail "no wasm-bindgen package in $CARCOSA_ROOT/Cargo.lock (run: cargo generate-lockfile)"; return 1; }
    printf '%s' "$v"
}

# Prints the version a binary reports (last word of its --version line), or nothing.
_bin_version() {
    [[ -x "$1" ]] || return 0
    "$1" --version 2>/dev/null | head -n1 | awk '{print $NF}' | sed 's/^v//'
}

_cargo_install() {
    local crate="$1" version="$2" bin="$3"
    shift 3
    [[ "$(_bin_version "$CARGO_BIN/$bin")" == "$version" ]] && return 0
    # --force: replaces another version, or a registration whose binary was deleted.
    _install_step "$crate $version (cargo install, several minutes)" \
        cargo install "$crate" --version "$version" --locked --force "$@" || return 1
    [[ "$(_bin_version "$CARGO_BIN/$bin")" == "$version" ]] ||
        fail "$crate was installed but $CARGO_BIN/$bin does not report version $version"
}

ensure_rust_tools() {
    if ! command -v cargo >/dev/null || ! command -v rustup >/dev/null; then
        fail "cargo/rustup not found: install Rust with rustup (https://rustup.rs) first"
        return 1
    fi
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        _install_step "rust target wasm32-unknown-unknown" rustup target add wasm32-unknown-unknown || return 1
    fi
    local bindgen
    bindgen="$(wasm_bindgen_lock_version)" || return 1
    _cargo_install worker-build "$WORKER_BUILD_VERSION" worker-build || return 1
    _cargo_install wasm-bindgen-cli "$bindgen" wasm-bindgen || return 1
    _cargo_install s3s-fs "$S3S_FS_VERSION" s3s-fs --features binary || return 1
}

ensure_fuzz_tools() {
    if ! rustup run "$FUZZ_TOOLCHAIN" rustc --version >/dev/null 2>&1; then
        _install_step "rust toolchain $FUZZ_TOOLCHAIN" \
            rustup toolchain install "$FUZZ_TOOLCHAIN" --profile minimal || return 1
    fi
    _cargo_install cargo-fuzz "$CARGO_FUZZ_VERSION" cargo-fuzz || return 1
}

# npm records what it installed in node_modules/.package-lock.json; older than the lock = stale.
_node_modules_fresh() {
    local stamp="$CARCOSA_ROOT/node_modules/.package-lock.json" bin="$CARCOSA_ROOT/node_modules/.bin"
    [[ -f "$stamp" && ! "$CARCOSA_ROOT/package-lock.json" -nt "$stamp" ]] || return 1
    [[ -x "$bin/esbuild" && -x "$bin/wasm-opt" && -x "$bin/wrangler" && -x "$bin/node" ]] || return 1
    # The second S3 server of the `bucket cors` tests (tests/s3rver.cjs); a library, no bin.
    [[ -f "$CARCOSA_ROOT/node_modules/@20minutes/s3rver/lib/s3rver.js" ]] || return 1
    [[ "$("$bin/node" --version 2>/dev/null)" == "v$NODE_MAJOR."* ]]
}

ensure_node_tools() {
    _node_modules_fresh && return 0
    command -v npm >/dev/null || { fail "npm not found: install Node.js 20+ with npm (it bootstraps Node $NODE_MAJOR from package.json)"; return 1; }
    # Engine warnings are expected: npm runs on the system Node, wrangler later on node_modules' Node 22.
    _install_step "node_modules (npm ci: wrangler, Node $NODE_MAJOR, esbuild, binaryen, s3rver)" \
        npm ci --prefix "$CARCOSA_ROOT" --no-audit --no-fund --loglevel=error || return 1
    _node_modules_fresh ||
        fail "npm ci finished but node_modules lacks node v$NODE_MAJOR, esbuild, wasm-opt, wrangler or @20minutes/s3rver (install scripts blocked? see allowScripts in package.json)"
}

# Newest installed PostgreSQL server bin directory, e.g. /usr/lib/postgresql/15/bin.
pg_bindir() {
    local d
    d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
    [[ -n "$d" && -x "$d/initdb" ]] || return 1
    printf '%s' "$d"
}

_apt_install() {
    [[ $EUID -eq 0 ]] || { fail "need root to apt-get install $*; run as root or install them yourself"; return 1; }
    _install_step "$* (apt-get)" bash -c '
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"' _ "$@"
}

ensure_system_packages() {
    if ! command -v curl >/dev/null; then
        _apt_install curl ca-certificates || return 1
    fi
    if ! pg_bindir >/dev/null; then
        # Debian 12 ships 15; `postgresql` is the same thing on releases that ship another major.
        _apt_install postgresql-15 || _apt_install postgresql || return 1
        pg_bindir >/dev/null || { fail "PostgreSQL installed but no /usr/lib/postgresql/*/bin/initdb"; return 1; }
    fi
}

# --- PostgreSQL -------------------------------------------------------------------------------

pg_url() { printf 'postgres://postgres:postgres@127.0.0.1:%s/%s' "$1" "${2:-postgres}"; }

# initdb/postgres refuse to run as root, so as root they run as the `postgres` system user.
_pg_as_owner() {
    if [[ $EUID -eq 0 ]]; then
        # From /: the caller's folder may be one postgres cannot enter.
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# As root, the server runs as the `postgres` user, which cannot reach a checkout inside a private
# folder (root's 0700 home, a `mktemp -d` folder). Its data and socket then live in /var/tmp
# (kept across reboots, like .dev/), one folder per DIR, keyed by DIR's absolute path so that two
# clones never share or stop each other's cluster. Other users run the server themselves, in DIR.
pg_data_dir() {
    local dir
    [[ $# -eq 1 ]] || { fail "usage: pg_data_dir DIR"; return 1; }
    dir="$(_abspath "$1")" || return 1
    if [[ $EUID -ne 0 ]]; then
        printf '%s' "$dir"
        return 0
    fi
    printf '/var/tmp/carcosa-edge-pg-%s' "$(printf '%s' "$dir" | sha256sum | cut -c1-16)"
}

# Creates the data folder for the postgres user, refusing one someone else planted.
_pg_prepare_dir() {
    local dir="$1"
    [[ $EUID -eq 0 ]] || return 0
    id postgres >/dev/null 2>&1 || { fail "no 'postgres' user to run the server as (install postgresql-common)"; return 1; }
    [[ ! -L "$dir" ]] || { fail "$dir is a symbolic link; remove it"; return 1; }
    if [[ -e "$dir" ]]; then
        local owner
        owner="$(stat -c %U "$dir")"
        [[ -d "$dir" && ( "$owner" == postgres || "$owner" == root ) ]] ||
            { fail "$dir exists and belongs to $owner; remove it"; return 1; }
    fi
    install -d -o postgres -g postgres -m 0700 "$dir" || return 1
    _pg_as_owner test -w "$dir" ||
        { fail "user postgres cannot write $dir (a parent directory is not traversable)"; return 1; }
}

pg_start() {
    local dir port bin data
    [[ $# -eq 2 ]] || { fail "usage: pg_start DIR PORT"; return 1; }
    dir="$(pg_data_dir "$1")" || return 1
    port="$2"
    bin="$(pg_bindir)" || { fail "no PostgreSQL server binaries (run: bash scripts/lib.sh ensure_toolchain)"; return 1; }
    data="$dir/data"
    # The unix socket path must fit in 107 bytes.
    (( ${#dir} < 90 )) || { fail "pg_start: $dir is too long for a unix socket path"; return 1; }
    _pg_prepare_dir "$dir" || return 1
    # Where to look when the cluster lives elsewhere.
    [[ "$dir" == "$(_abspath "$1")" ]] || printf '%s\n' "$dir" >"$1/location"

    [[ -f "$data/PG_VERSION" ]] || _pg_init "$bin" "$dir" || return 1

    if _pg_as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        # Line 4 of postmaster.pid is the port the running server listens on.
        if [[ "$(sed -n 4p "$data/postmaster.pid" 2>/dev/null)" == "$port" ]] &&
            "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
            _pg_export "$port"
            return 0
        fi
        say "PostgreSQL in $dir runs on another port; restarting on $port"
        pg_stop "$1" || return 1
    fi

    # Settings on the command line so a reused data directory can move to another port.
    # fsync and friends are off: the cluster is disposable and tests are I/O bound without it.
    local opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir'"
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if ! _pg_as_owner "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 -o "$opts" start >/dev/null; then
        fail "PostgreSQL did not start in $dir on port $port" "$dir/postgres.log"
        return 1
    fi
    _pg_wait_ready "$port" 60 0.5 ||
        { fail "PostgreSQL in $dir does not accept TCP connections on 127.0.0.1:$port" "$dir/postgres.log"; return 1; }
    say "PostgreSQL running: $(pg_url "$port") (data: $data)"
    _pg_export "$port"
}

# Whether something speaking PostgreSQL's protocol (the server, the pool) accepts connections on
# 127.0.0.1:PORT within TRIES checks DELAY seconds apart.
_pg_wait_ready() {
    local port="$1" tries="$2" delay="$3" bin
    bin="$(pg_bindir)" || return 1
    # As a role both know (the default is the caller's, root, which the pool would log as unknown).
    for _ in $(seq 1 "$tries"); do
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres && return 0
        sleep "$delay"
    done
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres
}

_pg_export() {
    DATABASE_URL="$(pg_url "$1")"
    export DATABASE_URL
    printf '%s\n' "$DATABASE_URL"
}

# Trust on the unix socket (for admin), scram on TCP: Hyperdrive needs a password in its URL
# (and md5 and cleartext for two test roles, below).
_pg_init() {
    local bin="$1" dir="$2" pwfile
    pwfile="$dir/.pwfile"
    printf 'postgres\n' >"$pwfile"
    [[ $EUID -eq 0 ]] && chown postgres: "$pwfile"
    chmod 600 "$pwfile"
    if ! _pg_as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1; then
        rm -f "$pwfile"
        fail "initdb failed in $dir/data" "$dir/initdb.log"
        return 1
    fi
    rm -f "$pwfile"
    # Two roles (which exist only if a test creates them) log in with the server's other password
    # methods, so the tests can check the Worker's start-up handles them (tests/it/handshake.rs).
    local hba="$dir/data/pg_hba.conf"
    { printf '%s\n' "host all carcosa_md5_login 127.0.0.1/32 md5" \
        "host all carcosa_password_login 127.0.0.1/32 password"; cat "$hba"; } >"$hba.new" &&
        cat "$hba.new" >"$hba" && rm -f "$hba.new" ||
        { fail "could not write $hba"; return 1; }
}

pg_stop() {
    local dir bin
    [[ $# -eq 1 ]] || { fail "usage: pg_stop DIR"; return 1; }
    dir="$(pg_data_dir "$1")" || return 1
    [[ -f "$dir/data/PG_VERSION" ]] || return 0
    bin="$(pg_bindir)" || return 0
    _pg_as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 || return 0
    _pg_as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null ||
        { fail "could not stop PostgreSQL in $dir" "$dir/postgres.log"; return 1; }
    say "PostgreSQL in $dir stopped"
}

pg_destroy() {
    local dir
    [[ $# -eq 1 ]] || { fail "usage: pg_destroy DIR"; return 1; }
    pg_stop "$1" || return 1
    dir="$(pg_data_dir "$1")" || return 1
    rm -rf "$dir"
}

# Prints the URL of database NAME on the same server, creating the database when missing.
pg_createdb() {
    local url="$1" name="$2" bin exists
    [[ $# -eq 2 ]] || { fail "usage: pg_createdb URL NAME"; return 1; }
    [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { fail "pg_createdb: bad database name '$name'"; return 1; }
    bin="$(pg_bindir)" || { fail "no PostgreSQL client binaries"; return 1; }
    exists="$("$bin/psql" "$url" -XtAq -v ON_ERROR_STOP=1 -c "SELECT 1 FROM pg_database WHERE datname = '$name'")" ||
        { fail "cannot connect to $url"; return 1; }
    if [[ "$exists" != 1 ]]; then
        "$bin/psql" "$url" -XqA -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$name\"" ||
            { fail "could not create database $name"; return 1; }
    fi
    printf '%s/%s\n' "${url%/*}" "$name"
}

# A cluster that accepts only TLS connections over TCP (hostssl), with a certificate for
# `localhost` signed by a CA generated here: DIR/tls/ca.crt (trust it), DIR/tls/wrong-ca.crt (a
# CA that signed nothing). For testing the command line's sslmode handling. Prints the URL.
pg_start_tls() {
    local dir port bin data tls
    [[ $# -eq 2 ]] || { fail "usage: pg_start_tls DIR PORT"; return 1; }
    port="$2"
    pg_start "$1" "$port" >/dev/null || return 1
    # The certificates stay in DIR; the server's copy of its own goes where its data is.
    tls="$(_abspath "$1")/tls" || return 1
    dir="$(pg_data_dir "$1")" || return 1
    bin="$(pg_bindir)" || return 1
    data="$dir/data"
    if [[ ! -f "$tls/server.crt" ]]; then
        command -v openssl >/dev/null || { fail "pg_start_tls needs openssl"; return 1; }
        mkdir -p "$tls"
        local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
        {
            openssl req -x509 "${ec[@]}" -keyout "$tls/ca.key" -out "$tls/ca.crt" -days 30 \
                -subj "/CN=carcosa-edge test CA" &&
            openssl req -x509 "${ec[@]}" -keyout "$tls/wrong-ca.key" -out "$tls/wrong-ca.crt" -days 30 \
                -subj "/CN=carcosa-edge unrelated CA" &&
            openssl req "${ec[@]}" -keyout "$tls/server.key" -out "$tls/server.csr" -subj "/CN=localhost" &&
            printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$tls/server.ext" &&
            openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" \
                -CAcreateserial -days 30 -extfile "$tls/server.ext" -out "$tls/server.crt"
        } >"$tls/openssl.log" 2>&1 || { fail "could not generate test certificates" "$tls/openssl.log"; return 1; }
    fi
    # The server reads its key as its own user and refuses a key others may read.
    install -m 600 "$tls/server.crt" "$data/server.crt" && install -m 600 "$tls/server.key" "$data/server.key" &&
        printf '%s\n' "local all all trust" \
            "hostssl all all 127.0.0.1/32 scram-sha-256" "hostssl all all ::1/128 scram-sha-256" >"$data/pg_hba.conf" ||
        return 1
    [[ $EUID -eq 0 ]] && chown postgres: "$data/server.crt" "$data/server.key" "$data/pg_hba.conf"
    "$bin/psql" -h "$dir" -p "$port" -U postgres -XqA -v ON_ERROR_STOP=1 \
        -c "ALTER SYSTEM SET ssl = on" -c "SELECT pg_reload_conf()" >/dev/null ||
        { fail "could not turn on TLS in $dir" "$dir/postgres.log"; return 1; }
    for _ in $(seq 1 20); do
        [[ "$("$bin/psql" -h "$dir" -p "$port" -U postgres -XtAq -c 'SHOW ssl')" == on ]] && break
        sleep 0.25
    done
    say "PostgreSQL with TLS only: $(pg_url "$port") (CA: $tls/ca.crt)"
    pg_url "$port"
    printf '\n'
}

# --- a connection pool (pgbouncer, for scripts/test and scripts/bench) --------------------------

ensure_pgbouncer() {
    command -v pgbouncer >/dev/null || _apt_install pgbouncer || return 1
    command -v pgbouncer >/dev/null || { fail "pgbouncer is not installed"; return 1; }
}

# pool_start DIR PORT PG_PORT ADMIN_URL [ROLE...]: pgbouncer on 127.0.0.1:PORT in front of the
# PostgreSQL on 127.0.0.1:PG_PORT, pooling by transaction, as Hyperdrive pools in production: a
# client's connection and login end at the pool, and its statements run on server connections
# opened once. The roles (default: postgres) log in with SCRAM-SHA-256 against their own secrets
# (read through ADMIN_URL), as they would at the server. Like the server it runs as the postgres
# user when started as root, with its files where that user can read them (pg_data_dir).
pool_start() {
    local base dir port pg_port admin role secret
    [[ $# -ge 4 ]] || { fail "usage: pool_start DIR PORT PG_PORT ADMIN_URL [ROLE...]"; return 1; }
    base="$1" port="$2" pg_port="$3" admin="$4"
    shift 4
    [[ $# -gt 0 ]] || set -- postgres
    dir="$(pg_data_dir "$base")" || return 1
    ensure_pgbouncer || return 1
    pool_stop "$base" || return 1
    _pg_prepare_dir "$dir" || return 1
    [[ "$dir" == "$(_abspath "$base")" ]] || printf '%s\n' "$dir" >"$base/location"
    (umask 077 && : >"$dir/userlist.txt") || return 1
    for role in "$@"; do
        secret="$("$(pg_bindir)/psql" "$admin" -XtAq -v ON_ERROR_STOP=1 -v role="$role" \
            <<<"SELECT rolpassword FROM pg_authid WHERE rolname = :'role'")" ||
            { fail "pool_start: could not read the secret of role $role"; return 1; }
        [[ "$secret" == SCRAM-SHA-256\$* ]] || { fail "pool_start: role $role has no SCRAM secret"; return 1; }
        printf '"%s" "%s"\n' "$role" "$secret" >>"$dir/userlist.txt" || return 1
    done
    # A client's start-up may name extra_float_digits (pg does), which pgbouncer does not track.
    # No line per login: at hundreds of logins a second the log would be the pool's main work.
    cat >"$dir/pgbouncer.ini" <<EOF || return 1
[databases]
* = host=127.0.0.1 port=$pg_port
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 8
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
pidfile = $dir/pgbouncer.pid
logfile = $dir/pgbouncer.log
EOF
    [[ $EUID -eq 0 ]] && chown postgres: "$dir/userlist.txt" "$dir/pgbouncer.ini"
    _pg_as_owner pgbouncer -d -q "$dir/pgbouncer.ini" ||
        { fail "pgbouncer did not start on port $port" "$dir/pgbouncer.log"; return 1; }
    _pg_wait_ready "$port" 50 0.1 ||
        { fail "pgbouncer does not accept connections on 127.0.0.1:$port" "$dir/pgbouncer.log"; return 1; }
    say "connection pool running: 127.0.0.1:$port -> 127.0.0.1:$pg_port (pgbouncer, transaction pooling)"
}

# Stops the pgbouncer pool_start started in DIR, if it still runs.
pool_stop() {
    local dir pid
    [[ $# -eq 1 ]] || { fail "usage: pool_stop DIR"; return 1; }
    dir="$(pg_data_dir "$1")" || return 1
    pid="$(cat "$dir/pgbouncer.pid" 2>/dev/null)" || return 0
    if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q pgbouncer; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do [[ -e "/proc/$pid" ]] || break; sleep 0.1; done
    fi
    rm -f "$dir/pgbouncer.pid"
}

# --- S3 (s3s-fs) ------------------------------------------------------------------------------

# Starts a command in a new session (it outlives the calling script, and its process group can
# be stopped as a whole) and writes its pid. setsid forks when called from a process-group
# leader (interactive shells), so the pid is written from inside the new session.
_spawn_detached() {
    local pidfile="$1" log="$2"
    shift 2
    rm -f "$pidfile"
    # shellcheck disable=SC2016 # expanded by the inner bash
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >>"$log" 2>&1 </dev/null &
    for _ in $(seq 1 50); do [[ -s "$pidfile" ]] && return 0; sleep 0.1; done
    fail "could not start $1" "$log"
}

# Running pid from DIR/s3s-fs.pid, only if that pid is still an s3s-fs process.
_s3_pid() {
    local pid
    pid="$(cat "$1/s3s-fs.pid" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 's3s-fs' || return 1
    printf '%s' "$pid"
}

# Any HTTP status means the server is up (without credentials S3 answers 403).
_http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time "${2:-2}" "$1" 2>/dev/null || true; }

s3_start() {
    local dir port access secret bin args pid
    [[ $# -eq 4 ]] || { fail "usage: s3_start DIR PORT ACCESS_KEY SECRET_KEY"; return 1; }
    dir="$(_abspath "$1")" || return 1
    port="$2" access="$3" secret="$4"
    bin="$CARGO_BIN/s3s-fs"
    [[ -x "$bin" ]] || { fail "s3s-fs not installed (run: bash scripts/lib.sh ensure_toolchain)"; return 1; }
    mkdir -p "$dir/data"
    args="$port $access $secret"

    if pid="$(_s3_pid "$dir")"; then
        if [[ "$(cat "$dir/s3s-fs.args" 2>/dev/null)" == "$args" ]]; then
            return 0
        fi
        say "s3s-fs in $dir runs with other settings; restarting"
        s3_stop "$dir" || return 1
    fi
    [[ "$(_http_status "http://127.0.0.1:$port/")" == 000 ]] ||
        { fail "port $port is already taken by another process"; return 1; }

    printf '%s' "$args" >"$dir/s3s-fs.args"
    chmod 600 "$dir/s3s-fs.args"
    RUST_LOG="${S3S_LOG:-s3s_fs=info,s3s=info}" _spawn_detached "$dir/s3s-fs.pid" "$dir/s3s-fs.log" \
        "$bin" --host 127.0.0.1 --port "$port" --access-key "$access" --secret-key "$secret" "$dir/data"

    # Liveness by pid, not _s3_pid: the pid file is written just before `exec`, and reading
    # /proc/PID/cmdline while the exec is under way can come back empty (once a start-up was
    # given up although s3s-fs had logged "server is running", most likely this way).
    local status=000 spawned
    spawned="$(cat "$dir/s3s-fs.pid")"
    for _ in $(seq 1 100); do
        status="$(_http_status "http://127.0.0.1:$port/")"
        [[ "$status" != 000 ]] && break
        kill -0 "$spawned" 2>/dev/null || break
        sleep 0.1
    done
    if [[ "$status" == 000 ]]; then
        s3_stop "$dir" >/dev/null 2>&1 || true
        fail "s3s-fs did not come up on 127.0.0.1:$port" "$dir/s3s-fs.log"
        return 1
    fi
    say "s3s-fs running: http://127.0.0.1:$port (path-style, buckets = directories in $dir/data)"
}

s3_stop() {
    local dir pid
    [[ $# -eq 1 ]] || { fail "usage: s3_stop DIR"; return 1; }
    dir="$1"
    if pid="$(_s3_pid "$dir")"; then
        # SIGINT is its graceful shutdown; SIGTERM/KILL only if it hangs.
        kill -INT "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null && sleep 1
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        say "s3s-fs in $dir stopped"
    fi
    rm -f "$dir/s3s-fs.pid"
}

# --- Worker build -----------------------------------------------------------------------------

# True when build/ is newer than every input of the wasm build.
_worker_build_fresh() {
    local out="$CARCOSA_ROOT/build/index_bg.wasm"
    [[ -f "$out" && -f "$CARCOSA_ROOT/build/index.js" ]] || return 1
    local inputs=(src patches Cargo.toml Cargo.lock)
    [[ -e "$CARCOSA_ROOT/build.rs" ]] && inputs+=(build.rs)
    [[ -z "$(cd "$CARCOSA_ROOT" && find "${inputs[@]}" -newer "$out" -print -quit 2>/dev/null)" ]]
}

# worker-build silently falls back to downloading a tool when a *_BIN path is wrong, which
# fails offline with a confusing error; so check all three first.
_worker_build_env() {
    local bindgen want
    want="$(wasm_bindgen_lock_version)" || return 1
    bindgen="$CARGO_BIN/wasm-bindgen"
    [[ "$(_bin_version "$bindgen")" == "$want" ]] ||
        { fail "$bindgen is not version $want from Cargo.lock (run: bash scripts/lib.sh ensure_toolchain)"; return 1; }
    [[ "$(_bin_version "$CARGO_BIN/worker-build")" == "$WORKER_BUILD_VERSION" ]] ||
        { fail "worker-build $WORKER_BUILD_VERSION not installed (run: bash scripts/lib.sh ensure_toolchain)"; return 1; }
    [[ -x "$CARCOSA_ROOT/node_modules/.bin/esbuild" && -x "$CARCOSA_ROOT/node_modules/.bin/wasm-opt" ]] ||
        { fail "node_modules lacks esbuild/wasm-opt (run: bash scripts/lib.sh ensure_toolchain)"; return 1; }
    export WASM_BINDGEN_BIN="$bindgen"
    export ESBUILD_BIN="$CARCOSA_ROOT/node_modules/.bin/esbuild"
    export WASM_OPT_BIN="$CARCOSA_ROOT/node_modules/.bin/wasm-opt"
}

# wrangler rebuilds and reloads the Worker when src/ or patches/ change (wrangler.toml's
# watch_dir), on a new socket: a run across such a reload fails or mixes two builds.
# worker_build_mark notes the build a run starts with; worker_rebuilt WHAT is true, and says so
# (the build changed: WHAT), when build/ has changed since.
WORKER_BUILT_AT=""
worker_build_mark() {
    WORKER_BUILT_AT="$(stat -c %Y "$CARCOSA_ROOT/build/index_bg.wasm")"
}
worker_rebuilt() {
    [[ -n "$WORKER_BUILT_AT" && "$(stat -c %Y "$CARCOSA_ROOT/build/index_bg.wasm" 2>/dev/null)" != "$WORKER_BUILT_AT" ]] ||
        return 1
    fail "the Worker was rebuilt during the run (src/ or patches/ changed): $1" || true
}

# shellcheck disable=SC2120 # --force is for callers such as build-worker.sh
worker_build() {
    if [[ "${1:-}" != --force ]] && _worker_build_fresh; then
        return 0
    fi
    _worker_build_env || return 1
    # One build at a time: `wrangler dev` may start this same build from its [build] command.
    _with_lock worker-build _worker_build_locked "${1:-}"
}

# worker-build 0.8.7 runs wasm-opt with --debuginfo, which keeps the function-name section: about
# 150 KiB of the wasm and 40 KiB of its gzip, counted against the Worker size limit and parsed on
# every cold start. Names only make panic stack traces readable; CARCOSA_WASM_NAMES=1 keeps them
# (e.g. to analyse the build with twiggy). Names cannot be stripped earlier: wasm-bindgen needs them.
_strip_wasm_names() {
    local node="$CARCOSA_ROOT/node_modules/.bin/node"
    [[ -x "$node" ]] || { fail "node_modules lacks node (run: bash scripts/lib.sh ensure_toolchain)"; return 1; }
    # Copies every section except the custom section "name", byte for byte.
    "$node" -e '
        const fs = require("fs");
        const file = process.argv[1];
        const b = fs.readFileSync(file);
        let i = 8;
        const leb = () => { let r = 0, s = 0, x; do { x = b[i++]; r += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80); return r; };
        const keep = [b.subarray(0, 8)];
        if (b.readUInt32LE(0) !== 0x6d736100) throw new Error(file + " is not a wasm module");
        while (i < b.length) {
            const start = i, id = b[i++], size = leb(), end = i + size;
            let name = "";
            if (id === 0) { const n = leb(); name = b.toString("latin1", i, i + n); }
            if (name !== "name") keep.push(b.subarray(start, end));
            i = end;
        }
        fs.writeFileSync(file, Buffer.concat(keep));
    ' "$1" || { fail "could not strip the name section from $1"; return 1; }
}

_worker_build_locked() {
    if [[ "${1:-}" != --force ]] && _worker_build_fresh; then
        return 0
    fi
    local log start=$SECONDS
    log="$(_log_dir)/worker-build.log"
    say "building the Worker (worker-build --release; cargo output in ${log#"$CARCOSA_ROOT/"})"
    # RUST_LIB_BACKTRACE=0: a failed cargo build is not a worker-build bug; keep its errors in view.
    # Panic locations name their source files: without the remap, the shipped wasm would carry
    # the building machine's cargo home (/home/alice/.cargo/registry/src/index.crates.io-…/…).
    local registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
    if ! (cd "$CARCOSA_ROOT" && RUST_LIB_BACKTRACE=0 \
        CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--remap-path-prefix=$registry=/cargo-registry" \
        worker-build --release) >"$log" 2>&1; then
        fail "worker-build failed" "$log" 80
        return 1
    fi
    _worker_build_fresh || { fail "worker-build succeeded but build/index.js or build/index_bg.wasm is missing" "$log"; return 1; }
    if [[ "${CARCOSA_WASM_NAMES:-0}" != 1 ]]; then
        _strip_wasm_names "$CARCOSA_ROOT/build/index_bg.wasm" || return 1
    fi
    say "built build/index_bg.wasm ($(( $(stat -c %s "$CARCOSA_ROOT/build/index_bg.wasm") / 1024 )) KiB) in $((SECONDS - start))s"
}

# --- secrets for local runs -------------------------------------------------------------------

# Value of KEY in a dotenv file (KEY=value, KEY="value" or KEY='value'), or nothing.
_dotenv_get() {
    [[ -f "$1" ]] || return 0
    sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//p" "$1" | tail -n1 |
        sed -e 's/[[:space:]]*$//' -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/"
}

# Each secret comes from the environment, else .dev.vars, else .dev/secrets.env (generated once
# and kept, so data encrypted in one session still decrypts in the next).
dev_secrets() {
    local generated="$CARCOSA_DEV/secrets.env"
    if [[ ! -f "$generated" ]]; then
        mkdir -p "$CARCOSA_DEV"
        # umask before the redirection opens the file: it holds secrets.
        (
            umask 077
            {
                printf '# Generated for local runs; delete to rotate.\n'
                printf 'CREDENTIALS_ENCRYPTION_KEY="base64:%s"\n' "$(head -c 32 /dev/urandom | base64 -w0)"
                printf 'UPLOAD_TOKEN_SECRET="%s"\n' "$(head -c 48 /dev/urandom | base64 -w0)"
            } >"$generated"
        )
    fi
    local name value
    for name in CREDENTIALS_ENCRYPTION_KEY UPLOAD_TOKEN_SECRET; do
        value="${!name:-}"
        [[ -n "$value" ]] || value="$(_dotenv_get "$CARCOSA_ROOT/.dev.vars" "$name")"
        [[ -n "$value" ]] || value="$(_dotenv_get "$generated" "$name")"
        [[ -n "$value" ]] || { fail "no value for $name"; return 1; }
        export "$name=$value"
    done
}

# --- wrangler dev -----------------------------------------------------------------------------

# The JavaScript reference Worker (bench/js-worker) under the same wrangler and workerd, from its
# own folder, on PORT; its pid file is the one wrangler_stop reads, so it is stopped the same way.
# HYPERDRIVE is its local connection string; its state goes under DIR.
js_worker_start() {
    local port="$1" log="$2" hyperdrive="$3" dir="$4" bin="$CARCOSA_ROOT/node_modules/.bin" pid status start
    wrangler_stop "$port" >/dev/null || return 1
    [[ "$(_http_status "http://127.0.0.1:$port/")" == 000 ]] ||
        { fail "port $port is already taken by another process"; return 1; }
    mkdir -p "$CARCOSA_DEV/wrangler" "$dir"
    : >"$log"
    (
        cd "$CARCOSA_ROOT/bench/js-worker"
        # shellcheck disable=SC2030,SC2031 # only wrangler gets these (Node 22 first on PATH)
        export PATH="$bin:$PATH" WRANGLER_SEND_METRICS=false CI=1 NO_COLOR=1 FORCE_COLOR=0
        # shellcheck disable=SC2031
        export WRANGLER_LOG_PATH="$dir/wrangler-js-logs"
        # shellcheck disable=SC2031
        X_LOCAL_OBSERVABILITY="$(local_observability)"
        export X_LOCAL_OBSERVABILITY
        # shellcheck disable=SC2031
        export CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE="$hyperdrive"
        _spawn_detached "$(_wrangler_pidfile "$port")" "$log" \
            "$bin/node" "$CARCOSA_ROOT/node_modules/wrangler/bin/wrangler.js" dev --config wrangler.toml \
            --ip 127.0.0.1 --port "$port" --inspector-port 0 \
            --env-file "$CARCOSA_DEV/secrets.env" --persist-to "$dir/js-state" \
            --var "SCOPE_STATEMENT:${JS_SCOPE_STATEMENT:-joins}" \
            --show-interactive-dev-session=false
    ) || return 1
    pid="$(cat "$(_wrangler_pidfile "$port")")"
    start=$SECONDS
    while ((SECONDS - start < 90)); do
        status="$(_worker_health "$port")"
        [[ "$status" == 200 ]] && break
        kill -0 "$pid" 2>/dev/null || { fail "the JS Worker's wrangler dev exited during start-up" "$log"; return 1; }
        sleep 0.5
    done
    [[ "$status" == 200 ]] || { fail "JS Worker: GET /v1/health answered $status after 90s" "$log"; return 1; }
    say "JS Worker running: http://127.0.0.1:$port (log: $log)"
}

# bench/node_modules for the JavaScript reference Worker (pinned in bench/package-lock.json).
# wrk, the load generator of the benchmarks (Debian's package), installed when missing.
ensure_wrk() {
    command -v wrk >/dev/null || _apt_install wrk || return 1
    command -v wrk >/dev/null || { fail "wrk is not installed"; return 1; }
}

ensure_bench_tools() {
    if [[ ! -f "$CARCOSA_ROOT/bench/node_modules/.package-lock.json" ||
        "$CARCOSA_ROOT/bench/package-lock.json" -nt "$CARCOSA_ROOT/bench/node_modules/.package-lock.json" ]]; then
        _install_step "bench/node_modules (npm ci: aws4fetch, pg, tweetnacl)" \
            npm ci --prefix "$CARCOSA_ROOT/bench" --no-audit --no-fund --loglevel=error || return 1
    fi
}

# Whether `wrangler dev` keeps its local observability: off unless X_LOCAL_OBSERVABILITY says
# otherwise. When on (wrangler's default), every request's trace is written to a SQLite database
# under the persist folder, kept forever; the database's checkpoints run on the Worker's own
# thread and, once it has grown to hundreds of MB, stop the Worker for 0.1-1 s at a time
# (BENCHMARKS.md, "The warm stalls").
local_observability() { printf '%s' "${X_LOCAL_OBSERVABILITY:-false}"; }

_wrangler_pidfile() { printf '%s/wrangler/%s.pid' "$CARCOSA_DEV" "$1"; }

# Pid of the wrangler started for PORT, only if it is still that process.
_wrangler_pid() {
    local pid
    pid="$(cat "$(_wrangler_pidfile "$1")" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'wrangler' || return 1
    printf '%s' "$pid"
}

# Status of GET /v1/health, 000 while nothing answers.
_worker_health() { _http_status "http://127.0.0.1:$1/v1/health" 3; }

# 200 = healthy; 503 = the Worker runs but a dependency (the database) is down.
_worker_ready() {
    local s
    s="$(_worker_health "$1")"
    [[ "$s" == 200 || "$s" == 503 ]]
}

wrangler_start() {
    local port log bin pid
    [[ $# -eq 2 ]] || { fail "usage: wrangler_start PORT LOGFILE"; return 1; }
    port="$1"
    mkdir -p "$(dirname "$2")"
    log="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
    bin="$CARCOSA_ROOT/node_modules/.bin"

    dev_secrets || return 1
    local hyperdrive="${CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE:-${DATABASE_URL:-}}"
    if [[ -n "$hyperdrive" && ! "$hyperdrive" =~ ^postgres(ql)?://[^:/@]+:[^@]+@ ]]; then
        fail "the Hyperdrive connection string needs user AND password (postgres://user:pass@host:port/db)"
        return 1
    fi

    # Where wrangler keeps the local bindings' state (rate limiter, ...); scripts/bench gives the
    # Worker a fresh one, as it does the JavaScript reference Worker.
    local state="${CARCOSA_WRANGLER_STATE:-$CARCOSA_DEV/wrangler/state}"
    # A running instance is reused only if it got the same database, secrets and settings.
    local settings
    settings="$(printf '%s\n' "$hyperdrive" "$CREDENTIALS_ENCRYPTION_KEY" "$UPLOAD_TOKEN_SECRET" \
        "${SCOPE_CACHE_TTL_SECS:-}" "${MAX_OBJECT_KEY_BYTES:-}" "${MAX_UPLOAD_BYTES:-}" "${RATE_LIMITS:-}" \
        "$state" "$(local_observability)" |
        sha256sum | cut -c1-64)"
    # SCOPE_CACHE_TTL_SECS in the environment overrides wrangler.toml's value (tests use a short one);
    # MAX_OBJECT_KEY_BYTES fits keys to the local S3 server, which stores each key as one file name.
    local vars=()
    [[ -z "${SCOPE_CACHE_TTL_SECS:-}" ]] || vars+=(--var "SCOPE_CACHE_TTL_SECS:$SCOPE_CACHE_TTL_SECS")
    [[ -z "${MAX_OBJECT_KEY_BYTES:-}" ]] || vars+=(--var "MAX_OBJECT_KEY_BYTES:$MAX_OBJECT_KEY_BYTES")
    [[ -z "${MAX_UPLOAD_BYTES:-}" ]] || vars+=(--var "MAX_UPLOAD_BYTES:$MAX_UPLOAD_BYTES")
    # RATE_LIMITS=off: scripts/bench, whose warm runs repeat one key far past any per-key limit.
    [[ -z "${RATE_LIMITS:-}" ]] || vars+=(--var "RATE_LIMITS:$RATE_LIMITS")
    if pid="$(_wrangler_pid "$port")" && _worker_ready "$port" &&
        [[ "$(cat "$CARCOSA_DEV/wrangler/$port.settings" 2>/dev/null)" == "$settings" ]]; then
        return 0
    fi
    wrangler_stop "$port" || return 1
    [[ "$(_http_status "http://127.0.0.1:$port/")" == 000 ]] ||
        { fail "port $port is already taken by another process"; return 1; }
    _node_modules_fresh || { fail "node_modules is missing or stale (run: bash scripts/lib.sh ensure_toolchain)"; return 1; }

    # Build first, so the [build] command wrangler runs on start finds build/ fresh and returns at once.
    # shellcheck disable=SC2119 # no --force: reuse a fresh build
    worker_build || return 1

    # The trace database of an earlier run with wrangler's observability on: nothing reads it,
    # and it only grows (651 MB in one checkout; see local_observability).
    if [[ "$(local_observability)" != true && -d "$state/v3/observability" ]]; then
        say "removing wrangler's trace database left by an earlier run ($(du -sh "$state/v3/observability" | cut -f1))"
        rm -rf "$state/v3/observability"
    fi

    mkdir -p "$CARCOSA_DEV/wrangler"
    printf '%s' "$settings" >"$CARCOSA_DEV/wrangler/$port.settings"
    : >"$log"
    # --env-file replaces .dev.vars, and exported variables override the file: the Worker gets
    # exactly what dev_secrets exported. setsid: wrangler and its workerd form one process group.
    (
        cd "$CARCOSA_ROOT"
        # shellcheck disable=SC2030 # only wrangler gets this PATH (Node 22 first)
        export PATH="$bin:$PATH" WRANGLER_SEND_METRICS=false CI=1 NO_COLOR=1 FORCE_COLOR=0
        export WRANGLER_LOG_PATH="$CARCOSA_DEV/wrangler/logs"
        X_LOCAL_OBSERVABILITY="$(local_observability)"
        export X_LOCAL_OBSERVABILITY
        if [[ -n "$hyperdrive" ]]; then
            export CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE="$hyperdrive"
        fi
        _spawn_detached "$(_wrangler_pidfile "$port")" "$log" \
            "$bin/node" "$CARCOSA_ROOT/node_modules/wrangler/bin/wrangler.js" dev \
            --ip 127.0.0.1 --port "$port" --inspector-port 0 \
            --env-file "$CARCOSA_DEV/secrets.env" \
            --persist-to "$state" \
            --show-interactive-dev-session=false "${vars[@]}"
    ) || return 1
    pid="$(cat "$(_wrangler_pidfile "$port")")"

    # Up to 60s for wrangler to come up; any other answer repeated means the Worker itself
    # is wrong (no /v1/health, a panic), and waiting longer will not change it.
    local start=$SECONDS status wrong=0
    while (( SECONDS - start < 60 )); do
        status="$(_worker_health "$port")"
        [[ "$status" == 200 || "$status" == 503 ]] && break
        if [[ "$status" != 000 ]]; then
            wrong=$((wrong + 1))
            (( wrong < 4 )) || break
        fi
        kill -0 "$pid" 2>/dev/null || { fail "wrangler dev exited during start-up" "$log"; return 1; }
        sleep 0.5
    done
    if [[ "$status" != 200 && "$status" != 503 ]]; then
        local body
        body="$(curl -s --max-time 3 "http://127.0.0.1:$port/v1/health" 2>&1 | head -c 300)"
        wrangler_stop "$port" >/dev/null 2>&1 || true
        grep -v 'GET /v1/health' "$log" | tail -n 40 >&2
        fail "wrangler dev on port $port: GET /v1/health answered ${status/#000/nothing} ${body:+($body) }after $((SECONDS - start))s (log: $log)"
        return 1
    fi
    say "Worker running: http://127.0.0.1:$port (ready in $((SECONDS - start))s, log: $log)"
}

# The port of the Worker's own socket under the `wrangler dev` on PORT. wrangler answers on PORT
# through a proxy Worker in a workerd of its own (so it can reload the Worker without dropping
# requests); the Worker runs in a second workerd, listening on a port picked at start-up. That
# proxy does not exist in production, and it adds ~3 ms to every request here, so scripts/bench
# measures both Workers on their own sockets (and reports what the proxy adds separately).
# The socket is found from /proc (listening TCP sockets of that workerd) and checked with
# GET /v1/health.
worker_socket_port() {
    local port="$1" pgid pid inodes ports p
    pgid="$(cat "$(_wrangler_pidfile "$port")" 2>/dev/null)" || { fail "no wrangler on port $port"; return 1; }
    for pid in $(pgrep -g "$pgid" -x workerd); do
        inodes="$(find "/proc/$pid/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n' | paste -sd' ')"
        [[ -n "$inodes" ]] || continue
        # /proc/net/tcp: local address as hex "ADDR:PORT", state 0A = LISTEN, inode in field 10.
        ports=""
        for p in $(awk -v inodes=" $inodes " 'NR > 1 && $4 == "0A" && index(inodes, " " $10 " ") {
            split($2, a, ":"); print a[2] }' /proc/net/tcp); do
            ports+="$((16#$p))"$'\n'
        done
        # The proxy's workerd is the one listening on PORT.
        grep -qx "$port" <<<"$ports" && continue
        for p in $ports; do
            if [[ "$(curl -s --max-time 2 "http://127.0.0.1:$p/v1/health" 2>/dev/null)" == *'"status":"ok"'* ]]; then
                printf '%s' "$p"
                return 0
            fi
        done
    done
    fail "found no socket of the Worker behind wrangler dev on port $port"
    return 1
}

# CPU time (µs, in /proc's clock ticks) of the workerd processes in the process group of the
# wrangler dev on PORT: `wrangler dev`'s proxy and the Worker. scripts/bench, bench/ab-builds.sh.
workerd_cpu_us() {
    local pgid ticks=0 pid
    pgid="$(cat "$(_wrangler_pidfile "$1")")"
    for pid in $(pgrep -g "$pgid" -x workerd); do
        # Fields 14 and 15 (utime, stime), counted after the ")" that closes the command name.
        ticks=$((ticks + $(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
    done
    ((ticks > 0)) || { fail "no workerd process (with CPU time) under wrangler on port $1"; return 1; }
    printf '%s' $((ticks * 1000000 / $(getconf CLK_TCK)))
}

wrangler_stop() {
    local port pidfile pid
    if [[ $# -eq 0 ]]; then
        for pidfile in "$CARCOSA_DEV"/wrangler/*.pid; do
            [[ -e "$pidfile" ]] || continue
            port="$(basename "$pidfile" .pid)"
            wrangler_stop "$port" || return 1
        done
        return 0
    fi
    port="$1"
    if pid="$(_wrangler_pid "$port")"; then
        # The process group holds wrangler and the workerd it spawned.
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 -- "-$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
        say "wrangler dev on port $port stopped"
    fi
    rm -f "$(_wrangler_pidfile "$port")" "$CARCOSA_DEV/wrangler/$port.settings"
}

# Bundles the Worker exactly as `wrangler deploy` would, without uploading, and prints the
# "Total Upload: … KiB / gzip: … KiB" line (the size Cloudflare's limits apply to).
wrangler_dry_run() {
    local out="${1:-$CARCOSA_DEV/dry-run}" log
    log="$(_log_dir)/wrangler-dry-run.log"
    _node_modules_fresh || { fail "node_modules is missing or stale (run: bash scripts/lib.sh ensure_toolchain)"; return 1; }
    # shellcheck disable=SC2119 # no --force: reuse a fresh build
    worker_build || return 1
    # shellcheck disable=SC2031 # the caller's PATH, plus Node 22 first
    if ! (cd "$CARCOSA_ROOT" && PATH="$CARCOSA_ROOT/node_modules/.bin:$PATH" WRANGLER_SEND_METRICS=false CI=1 NO_COLOR=1 \
        "$CARCOSA_ROOT/node_modules/.bin/node" node_modules/wrangler/bin/wrangler.js deploy --dry-run --outdir "$out") \
        >"$log" 2>&1; then
        fail "wrangler deploy --dry-run failed" "$log"
        return 1
    fi
    grep -m1 'Total Upload' "$log" || { fail "no size in the dry-run output" "$log"; return 1; }
}

# --- everything at once -----------------------------------------------------------------------

# Stops what scripts/dev started.
dev_down() {
    uppy_stop "$CARCOSA_DEV/uppy" || return 1
    wrangler_stop || return 1
    s3_stop "$CARCOSA_DEV/s3" || return 1
    pg_stop "$CARCOSA_DEV/pg" || return 1
}

# The Uppy example: ensure_browser_tools, uppy_start, uppy_stop, uppy_browser_test.
# shellcheck source=scripts/lib-uppy.sh
source "$CARCOSA_ROOT/scripts/lib-uppy.sh"

# `bash scripts/lib.sh FUNCTION [ARGS...]` runs one function; sourcing only defines them.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    [[ $# -ge 1 ]] || { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
    declare -F "$1" >/dev/null || { fail "no function '$1' in $0"; exit 2; }
    "$@"
fi
