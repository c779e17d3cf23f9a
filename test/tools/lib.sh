# test/tools/lib.sh — shared by demo.sh, test.sh, cluster.sh and the benchmarks.
#
# Installs what oms needs (Debian packages), builds and installs oms, and runs
# private throwaway PostgreSQL clusters: one data directory per name under
# .cluster/ in the checkout, its own port and socket, owned by a non-root user
# (PostgreSQL refuses to run as root; as root we use the "postgres" account).

set -euo pipefail

OMS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

step() { printf '\n==> %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# The PostgreSQL major the system packages: the one Debian's "postgresql"
# metapackage depends on in the package lists (15 on Debian 12, 17 on 13, 18
# on testing as of now).  Prints nothing when the lists name none.
packaged_major() {
    local deps
    deps=$(apt-cache depends postgresql 2>/dev/null) || return 0
    sed -n 's/^ *Depends: postgresql-\([0-9][0-9]*\)$/\1/p' <<<"$deps" | sed -n 1p
}

# The majors installed here with server and client (Debian's layout,
# /usr/lib/postgresql/N/bin), oldest first.
installed_majors() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/postgres" ] && [ -x "$dir/psql" ]; then
            basename "$(dirname "$dir")"
        fi
    done | sort -n
}

# Sets PG_MAJOR, the major to build and test against, unless it is set
# (PG_MAJOR=17 make test): the major the system packages, if it is installed
# or none is; else the newest one installed.  On a fresh machine whose
# package lists were never fetched (apt-get update), they are fetched first.
# The scripts of the suites source this file too; test.sh exports what it
# chose, so they run the same binaries.
detect_pg_major() {
    local installed packaged
    [ -n "${PG_MAJOR:-}" ] && return 0
    installed=$(installed_majors)
    packaged=$(packaged_major)
    if [ -z "$packaged" ] && [ -z "$installed" ] && command -v apt-get >/dev/null; then
        step "reading the package lists, to find the PostgreSQL this system packages" >&2
        as_root apt-get update -qq >&2
        packaged=$(packaged_major)
    fi
    if [ -n "$packaged" ] && { [ -z "$installed" ] || grep -qx "$packaged" <<<"$installed"; }; then
        PG_MAJOR=$packaged
    elif [ -n "$installed" ]; then
        PG_MAJOR=$(tail -n 1 <<<"$installed")
    else
        echo "found no PostgreSQL installed and no postgresql-N package: set PG_MAJOR (PG_MAJOR=17 make test)" >&2
        exit 1
    fi
}

detect_pg_major
case $PG_MAJOR in
    *[!0-9]*|'') echo "PG_MAJOR must be a major version number such as 17, not '$PG_MAJOR'" >&2; exit 1 ;;
esac
PGBIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PGBIN/pg_config
export PG_MAJOR PGBIN
PACKAGES="gcc libc6-dev make postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR
          postgresql-$PG_MAJOR-pgtap libtap-parser-sourcehandler-pgtap-perl"

# Installs the Debian packages that are missing.
ensure_packages() {
    local missing="" p
    for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    step "installing Debian packages:$missing"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Builds oms and installs it into the server of $PG_CONFIG.
build_and_install() {
    step "building and installing oms"
    make -s -C "$OMS_ROOT" PG_CONFIG="$PG_CONFIG" WERROR=1 >/dev/null
    as_root make -s -C "$OMS_ROOT" PG_CONFIG="$PG_CONFIG" install >/dev/null
}

# The account that runs the clusters.
run_user() {
    if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi
}

as_run_user() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Sets PGDATA, PGHOST, PGPORT and PGUSER for cluster $1 on port $2.  The data
# directory lives in the checkout when the run user can reach it there, else
# under /tmp; the socket sits in the data directory unless its path is too long.
cluster_env() {
    local name=$1 port=$2
    export PGPORT=$port PGUSER=postgres PGDATABASE=postgres
    if as_run_user test -x "$OMS_ROOT" && [ ${#OMS_ROOT} -lt 70 ]; then
        PGDATA=$OMS_ROOT/.cluster/$name
    else
        PGDATA=/tmp/oms-cluster-$(run_user)-$name
    fi
    export PGDATA PGHOST=$PGDATA
}

# Starts a fresh cluster $1 on port $2, removing whatever an earlier run left;
# further arguments are postgres -c settings.
cluster_start() {
    local name=$1 port=$2
    shift 2
    cluster_env "$name" "$port"
    cluster_stop_quietly
    step "starting a throwaway PostgreSQL $PG_MAJOR cluster ($PGDATA, port $PGPORT)"
    as_root rm -rf "$PGDATA"
    mkdir -p "$(dirname "$PGDATA")"
    as_root install -d -o "$(run_user)" -m 700 "$PGDATA"
    as_run_user "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --no-locale --no-sync >/dev/null
    local opts="-p $PGPORT -k $PGDATA -c listen_addresses='' -c max_connections=150"
    local setting
    for setting in "$@"; do opts="$opts -c $setting"; done
    as_run_user "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -o "$opts" -w start >/dev/null
}

cluster_stop_quietly() {
    if [ -f "$PGDATA/postmaster.pid" ]; then
        as_run_user "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
    fi
}

psql_q() {
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}
