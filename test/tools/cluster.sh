#!/usr/bin/env bash
# test/tools/cluster.sh stop NAME — stops a throwaway cluster started by the demo or the tests.
. "$(dirname "$0")/lib.sh"
case "${1:-}" in
    stop)
        name=${2:?usage: cluster.sh stop NAME}
        case $name in demo) port=5499 ;; test) port=5498 ;; bench) port=5497 ;; *) port=0 ;; esac
        cluster_env "$name" "$port"
        if [ -f "$PGDATA/postmaster.pid" ]; then
            cluster_stop_quietly
            echo "stopped the $name cluster ($PGDATA)"
        else
            echo "the $name cluster is not running"
        fi
        ;;
    *)
        echo "usage: cluster.sh stop NAME" >&2
        exit 2
        ;;
esac
