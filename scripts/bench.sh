#!/bin/sh
# Runs BenchmarkClearVsManual (cmd/reauth/bench_test.go): reauth clear against the manual way
# (pg_dump + psql DELETE, mariadb-dump + mariadb DELETE) on the test harness's private servers.
#
#   scripts/bench.sh                       1,000,000 rows, default batch size, 5 runs of each way
#   ROWS="100000 1000000" BATCHES="10000 50000 100000" RUNS=1 scripts/bench.sh
#
# ROWS: row counts (REAUTH_BENCH_ROWS); BATCHES: --batch-size values ("default" for reauth's
# own); RUNS: runs of each way, alternating which goes first (-benchtime RUNSx; with more than
# one, the medians and their ratio are reported too: one run can be far off on a shared
# machine); COUNT: go test -count; BENCH: -bench pattern (e.g. ClearVsManual/postgres).
# Extra arguments go to go test (e.g. -v). Pipe the output to benchstat to compare runs.
set -eu
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
BATCHES=${BATCHES:-default}
RUNS=${RUNS:-5}
COUNT=${COUNT:-1}
BENCH=${BENCH:-ClearVsManual}
for rows in $ROWS; do
	for batch in $BATCHES; do
		if [ "$batch" = default ]; then
			unset REAUTH_BENCH_BATCH_SIZE
		else
			REAUTH_BENCH_BATCH_SIZE=$batch
			export REAUTH_BENCH_BATCH_SIZE
		fi
		echo "== rows=$rows batch-size=$batch runs=$RUNS count=$COUNT"
		REAUTH_BENCH_ROWS=$rows go test ./cmd/reauth -run XXX -bench "$BENCH" -benchtime "${RUNS}x" \
			-count "$COUNT" -timeout 60m "$@"
	done
done
