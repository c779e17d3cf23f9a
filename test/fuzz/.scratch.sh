. test/tools/lib.sh
cluster_start scratch 5493 shared_preload_libraries=oms
trap cluster_stop_quietly EXIT
psql_q -c 'CREATE EXTENSION oms' -f test/demo/sample.sql >/dev/null
"$PGBIN/psql" -X -f test/fuzz/.replay.sql 2>&1 | cut -c1-250
