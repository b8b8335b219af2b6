#!/bin/sh
# scripts/bench-compare.sh [BINARY] — the token-path benchmarks in one go.
#
# Starts `serve --demo` on a fresh data directory, then runs `intelliauth
# bench` twice against it — client credentials, then introspection of one
# token — each as RUNS rounds of load followed by the raw ES256 signing rate
# measured in the same round, and prints for both: throughput, p50/p99,
# the server's CPU µs per operation (from /proc/PID/stat, the figure that
# survives a noisy machine), the signing ceiling and the ratio
# operations/s ÷ signs/s (medians of the rounds). Stops the server at the end.
#
# BINARY defaults to a fresh `go build` of ./cmd/intelliauth into a temporary
# directory. Environment (all optional):
#   RUNS         rounds per benchmark (default 5)
#   DURATION     measuring window per round (default 10s)
#   CONCURRENCY  concurrent keep-alive clients (default 64)
#   ADDR         the server's listen address (default 127.0.0.1:18080)
#   DATABASE     a postgres:// URL to benchmark PostgreSQL (default: SQLite
#                in the data directory, durable audit)
#   OUTPUT       table (default) or json (one JSON object per benchmark)
#
# Linux only (server CPU is read from /proc). The load generator shares the
# machine with the server, as in BENCHMARKS.md.
set -eu

RUNS=${RUNS:-5}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-64}
ADDR=${ADDR:-127.0.0.1:18080}
DATABASE=${DATABASE:-}
OUTPUT=${OUTPUT:-table}

work=$(mktemp -d "${TMPDIR:-/tmp}/intelliauth-bench.XXXXXX")
server=
cleanup() {
	if [ -n "$server" ]; then
		kill -TERM "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

if [ $# -ge 1 ]; then
	bin=$1
else
	bin=$work/intelliauth
	echo "building $bin" >&2
	go build -o "$bin" ./cmd/intelliauth
fi

INTELLIAUTH_DATABASE=$DATABASE "$bin" serve --demo --data-dir "$work/data" --addr "$ADDR" --log-level warn \
	>"$work/serve.out" 2>"$work/serve.err" &
server=$!

# Ready when demo.json is written (after seeding) and /readyz answers.
i=0
until [ -s "$work/data/demo.json" ] && "$bin" healthcheck --url "http://$ADDR/readyz" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 "$server" 2>/dev/null; then
		echo "the server did not start; its log:" >&2
		cat "$work/serve.err" >&2
		exit 1
	fi
	sleep 0.1
done

backend=SQLite
[ -n "$DATABASE" ] && backend=PostgreSQL
echo "backend $backend, $CONCURRENCY clients, $RUNS rounds of $DURATION, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
for mode in token introspect; do
	echo
	echo "== $mode"
	"$bin" bench --demo-file "$work/data/demo.json" --mode "$mode" --server-pid "$server" \
		--concurrency "$CONCURRENCY" --duration "$DURATION" --runs "$RUNS" --output "$OUTPUT"
done
