#!/usr/bin/env bash
# test/demo/demo.sh — `make demo`: installs what is missing, builds and installs
# oms, starts a private throwaway cluster, loads a sample shop and walks through
# what oms keeps, then takes orders as three channels send them, and ends with
# two of the reporting views.  The cluster keeps running for you to explore; `make stop`
# stops it.
. "$(dirname "$0")/../tools/lib.sh"
DEMO=$OMS_ROOT/test/demo

ensure_packages
build_and_install
# Preloaded, so that the oms worker publishes events to LISTENers in oms_demo.
cluster_start demo "${OMS_DEMO_PORT:-5499}" shared_preload_libraries=oms oms.database=oms_demo

step "creating database oms_demo and the extension"
psql_q -c 'CREATE DATABASE oms_demo'
export PGDATABASE=oms_demo
psql_q -c 'CREATE EXTENSION oms'

step "loading the sample shop: 5 channels, 7 locations, 58 SKUs, opening stock through the ledger"
psql_q -f "$DEMO/sample.sql" >/dev/null

psql_q -f "$DEMO/show.sql"
psql_q -f "$DEMO/channels.sql"

# The worker retries its database every 10 s until oms_demo exists.
for _ in $(seq 1 30); do
    [ "$(psql_q -At -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'oms worker'")" = 1 ] && break
    sleep 1
done
psql_q -f "$DEMO/lifecycle.sql"
psql_q -f "$DEMO/returns.sql"
psql_q -f "$DEMO/report.sql"

cat <<EOT

==> the demo cluster is still running
    connect:  psql -h $PGHOST -p $PGPORT -U postgres oms_demo
    stop:     make stop
EOT
