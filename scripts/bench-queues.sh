#!/usr/bin/env bash
# The work-queue figures of docs/benchmarks.md, in one run: the HTTP API and the bare store
# (go test -bench) on SQLite and PostgreSQL, and pgbench running the store's SQL.
#
#   ORCH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable scripts/bench-queues.sh
#
# Needs a PostgreSQL server (the URL's) where the user may create databases, and pgbench.
# Output: bench-queues.txt in the current directory.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ORCH_TEST_POSTGRES_URL:?set ORCH_TEST_POSTGRES_URL to a PostgreSQL server (see docs/benchmarks.md)}"
N=${QUEUE_BENCH_N:-4000}          # calls of AddQueueItem and transaction cycles per run
BULK=${QUEUE_BENCH_BULK:-20}      # BulkAddQueueItems calls of 1,000 items
PGBENCH_SECONDS=${PGBENCH_SECONDS:-20}
out=bench-queues.txt
: >"$out"
log() { echo "$@" | tee -a "$out"; }

log "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
log "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
b() { go test -run '^$' -count 1 -bench "$1" -benchtime "$2" ./internal/api/ 2>&1 | grep -E '^Benchmark|FAIL|panic' | tee -a "$out"; }
b 'BenchmarkQueues/engine=.*/op=(AddQueueItem|Transaction)/' "${N}x"
b 'BenchmarkQueues/engine=.*/op=BulkAddQueueItems/' "${BULK}x"
b 'BenchmarkQueues/engine=.*/op=Drain/' 1x

# pgbench: a database of its own, migrated by orch, seeded by setup.sql.
db=orch_pgbench
admin=$(echo "$ORCH_TEST_POSTGRES_URL" | sed -E 's#/[^/?]+(\?|$)#/postgres\1#')
target=$(echo "$ORCH_TEST_POSTGRES_URL" | sed -E "s#/[^/?]+(\?|\$)#/$db\1#")
psql -q "$admin" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
key=$(mktemp); head -c 32 /dev/urandom | base64 >"$key"
go run ./cmd/orch migrate --database-url "$target" --secret-key-file "$key" >/dev/null
rm -f "$key"
dir=internal/store/postgres/testdata/pgbench
psql -q "$target" -v items=$((PGBENCH_SECONDS * 3000)) -f $dir/setup.sql
for script in queue_add queue_cycle queue_cycle_tx; do
  log "# pgbench $script.sql, 16 clients, ${PGBENCH_SECONDS}s"
  logs=$(mktemp -d)
  (cd "$logs" && pgbench -n -c 16 -j 2 -T "$PGBENCH_SECONDS" -l -f "$OLDPWD/$dir/$script.sql" "$target" 2>&1) |
    grep -E 'tps|latency|transactions actually|failed' | tee -a "$out"
  # Per-transaction log: the third field is the latency in microseconds.
  cat "$logs"/pgbench_log.* | awk '{print $3}' | sort -n |
    awk '{a[NR]=$1} END {printf "p50 = %.2f ms, p99 = %.2f ms (%d transactions)\n", a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000, NR}' |
    tee -a "$out"
  rm -rf "$logs"
done
psql -q "$admin" -c "DROP DATABASE IF EXISTS $db"
log "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
