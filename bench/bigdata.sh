#!/usr/bin/env bash
# Peak memory and time of one large data migration: a generated script of
# multi-row INSERTs (about SIZE_MB megabytes) applied with `migrate up` on
# SQLite and PostgreSQL, and checked with `migrate validate`. Peak memory is
# /usr/bin/time's "Maximum resident set size". The data is written under
# /tmp, never committed.
#
#   bench/bigdata.sh                   # 500 MB, the current checkout
#   bench/bigdata.sh --size 112        # a smaller file
#   bench/bigdata.sh --rev e086cf7     # also measure that commit, for a before/after
#
# Server: MIGRATE_BENCH_POSTGRES_URL (default the local trust-auth server);
# needs psql to create and drop the benchmark database.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE_MB=500
REVS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--size) SIZE_MB=$2; shift 2 ;;
	--rev) REVS+=("$2"); shift 2 ;;
	-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
PG_URL=${MIGRATE_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}

WORK=$(mktemp -d /tmp/migrate-bigdata.XXXXXX)
DB=migrate_bigdata_$$
cleanup() {
	psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

# 100 rows of about 84 bytes per INSERT, one row a line, with the
# delimiter and quotes inside strings so the splitter does real work.
mkdir -p "$WORK/migrations"
rows=$((SIZE_MB * 1000000 / 84))
awk -v rows="$rows" 'BEGIN {
	print "CREATE TABLE items (id BIGINT PRIMARY KEY, note TEXT NOT NULL);"
	for (i = 1; i <= rows; i++) {
		if (i % 100 == 1) print "INSERT INTO items (id, note) VALUES"
		printf "  (%d, '\''row %d; it'\'''\''s -- not a comment, padding padding padding padding'\'')%s\n", i, i, (i % 100 == 0 || i == rows) ? ";" : ","
	}
}' >"$WORK/migrations/0001_data.up.sql"
echo "DROP TABLE items;" >"$WORK/migrations/0001_data.down.sql"
size=$(du -m "$WORK/migrations/0001_data.up.sql" | cut -f1)
echo "script: ${size} MB, $rows rows"

build() { # rev -> binary path
	local rev=$1 out="$WORK/migrate-$1"
	if [ "$rev" = HEAD ]; then
		(cd "$ROOT" && go build -o "$out" ./cmd/migrate)
	else
		mkdir -p "$WORK/src-$rev"
		git -C "$ROOT" archive "$rev" | tar -x -C "$WORK/src-$rev"
		(cd "$WORK/src-$rev" && go build -o "$out" ./cmd/migrate)
	fi
	echo "$out"
}

measure() { # label, command...
	local label=$1; shift
	local log="$WORK/time.log"
	if ! /usr/bin/time -v "$@" >"$WORK/out.log" 2>"$log"; then
		echo "$label: FAILED"; tail -5 "$WORK/out.log" "$log"; return
	fi
	local rss wall
	rss=$(awk -F': ' '/Maximum resident set size/ {printf "%d", $2 / 1024}' "$log")
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
	printf '%-34s %6s MB peak  %s wall\n' "$label" "$rss" "$wall"
}

for rev in "${REVS[@]}" HEAD; do
	bin=$(build "$rev")
	dir="$WORK/migrations"
	measure "$rev validate sqlite (empty db)" "$bin" --dir "$dir" --database "sqlite:$WORK/v.db" validate
	rm -f "$WORK/v.db"*
	measure "$rev up sqlite" "$bin" --dir "$dir" --database "sqlite:$WORK/up.db" up
	rm -f "$WORK/up.db"*
	PGOPTIONS="-c client_min_messages=warning" psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
	pg_db=$(echo "$PG_URL" | sed -E "s#/[^/?]+(\?|$)#/$DB\1#")
	measure "$rev up postgres" "$bin" --dir "$dir" --database "$pg_db" up
	measure "$rev validate postgres (applied)" "$bin" --dir "$dir" --database "$pg_db" validate
done
