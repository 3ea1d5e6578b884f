#!/usr/bin/env bash
# Measures `migrate up` and `migrate down` against the raw lower bound: the
# same SQL plus the same state and history writes, one transaction per
# migration, fed to the database's own command-line client. Every run gets a
# fresh database. Also times `status` and `validate` on 10000 applied
# migrations, and `verify` on 300 against plain up + down + up. Prints one
# table at the end.
#
#   bench/run.sh                      # N = 100 and 1000 on every driver found
#   bench/run.sh --big                # also N = 10000
#   bench/run.sh -n "100 500" --drivers "sqlite postgres" --reps 3
#   bench/run.sh -n "" --status-n 0 --verify-n 300   # verify only
#   bench/run.sh --peers /tmp/peers   # also goose and golang-migrate, same databases
#
# Servers: MIGRATE_BENCH_POSTGRES_URL (default the local trust-auth server)
# and MIGRATE_BENCH_MYSQL_URL (default the local MariaDB root). Needs psql,
# sqlite3 (apt-get install -y sqlite3) and mariadb/mysql clients for the raw
# bound of their driver; a driver whose client or server is missing is
# skipped with a note.
#
# --peers DIR (or MIGRATE_BENCH_PEERS) names a folder holding the peer
# tools' binaries, `goose` and `golang-migrate`; either may be missing.
# They time up and down of the same migrations on fresh databases, and on
# PostgreSQL every tool's round trips and commits per migration are counted
# on the wire (bench/pgcount) at --count-n migrations (default 100; 0: off).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZES="100 1000"
DRIVERS="sqlite postgres mysql"
REPS=1
STATUS_N=10000
VERIFY_N=300
PEERS=${MIGRATE_BENCH_PEERS:-}
COUNT_N=100
while [ $# -gt 0 ]; do
	case "$1" in
	-n) SIZES=$2; shift 2 ;;
	--big) SIZES="$SIZES 10000"; shift ;;
	--drivers) DRIVERS=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	--status-n) STATUS_N=$2; shift 2 ;;
	--verify-n) VERIFY_N=$2; shift 2 ;;
	--peers) PEERS=$2; shift 2 ;;
	--count-n) COUNT_N=$2; shift 2 ;;
	-h | --help) sed -n '2,27p' "$0"; exit 0 ;;
	*) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

PG_URL=${MIGRATE_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
MY_URL=${MIGRATE_BENCH_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}

WORK=$(mktemp -d /tmp/migrate-bench.XXXXXX)
CREATED_DBS=()
cleanup() {
	for db in "${CREATED_DBS[@]+"${CREATED_DBS[@]}"}"; do drop_db "$db" >/dev/null 2>&1 || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

echo "building the CLI..." >&2
(cd "$ROOT" && go build -o "$WORK/migrate" ./cmd/migrate && go build -o "$WORK/pgcount" ./bench/pgcount)
MIGRATE=$WORK/migrate

PEER_TOOLS=()
if [ -n "$PEERS" ]; then
	for peer in goose golang-migrate; do
		if [ -x "$PEERS/$peer" ]; then PEER_TOOLS+=("$peer"); else echo "no $PEERS/$peer: leaving $peer out" >&2; fi
	done
fi

now_ns() { date +%s%N; }
ms_since() { echo $(( ($(now_ns) - $1) / 1000000 )); }

# --- databases -------------------------------------------------------------

pg_admin() { psql -X -q -v ON_ERROR_STOP=1 -d "$PG_URL" "$@"; }
# url_with_db URL NAME: URL naming database NAME instead.
url_with_db() {
	local base=${1%%\?*}
	echo "${base%/*}/$2${1#"$base"}"
}
db_of() { local p=${1##*/}; echo "${p%%\?*}"; }
my_client() {
	[[ $MY_URL =~ ^mysql://([^:@/]*)(:([^@/]*))?@([^:/]*)(:([0-9]+))?/ ]] || { echo "cannot parse $MY_URL" >&2; return 1; }
	MYSQL_PWD=${BASH_REMATCH[3]} mariadb -h "${BASH_REMATCH[4]}" -P "${BASH_REMATCH[6]:-3306}" -u "${BASH_REMATCH[1]}" "$@"
}

SEQ=0
# new_db DRIVER: sets DB_URL to a fresh, empty database. Not called in a
# subshell, so the counter and the cleanup list stay in this shell.
new_db() {
	SEQ=$((SEQ + 1))
	local name="bench_$$_$SEQ"
	case "$1" in
	sqlite) DB_URL="sqlite:$WORK/$name.db" ;;
	postgres)
		pg_admin -c "CREATE DATABASE $name" >/dev/null
		CREATED_DBS+=("postgres:$name")
		DB_URL=$(url_with_db "$PG_URL" "$name") ;;
	mysql)
		my_client -e "CREATE DATABASE $name" >/dev/null
		CREATED_DBS+=("mysql:$name")
		DB_URL=$(url_with_db "$MY_URL" "$name") ;;
	esac
}

drop_db() {
	case "$1" in
	postgres:*) pg_admin -c "DROP DATABASE IF EXISTS ${1#postgres:} WITH (FORCE)" ;;
	mysql:*) my_client -e "DROP DATABASE IF EXISTS ${1#mysql:}" ;;
	esac
}

# raw_client DRIVER URL < file: the database's own CLI, one process.
raw_client() {
	case "$1" in
	sqlite) sqlite3 -bail "${2#sqlite:}" >/dev/null ;;
	postgres) psql -X -q -v ON_ERROR_STOP=1 -d "$2" >/dev/null ;;
	mysql) my_client --batch "$(db_of "$2")" >/dev/null ;;
	esac
}

available() {
	case "$1" in
	sqlite) command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing: apt-get install -y sqlite3" >&2; return 1; } ;;
	postgres)
		command -v psql >/dev/null || { echo "psql missing" >&2; return 1; }
		pg_admin -c "SELECT 1" >/dev/null 2>&1 || { echo "no PostgreSQL at $PG_URL" >&2; return 1; } ;;
	mysql)
		command -v mariadb >/dev/null || { echo "mariadb client missing" >&2; return 1; }
		my_client -e "SELECT 1" >/dev/null 2>&1 || { echo "no MariaDB/MySQL at $MY_URL" >&2; return 1; }
		new_db mysql
		if "$MIGRATE" --database "$DB_URL" --dir "$WORK" status 2>&1 | grep -q "unknown scheme"; then
			echo "this build of migrate has no mysql driver" >&2
			return 1
		fi ;;
	esac
}

# --- generated SQL ---------------------------------------------------------

# The bookkeeping tables exactly as the drivers create them, for the raw run.
bookkeeping_ddl() {
	case "$1" in
	sqlite) cat <<'EOF'
CREATE TABLE migrate_state (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, status TEXT NOT NULL, applied_at DATETIME NOT NULL, failed_statement INTEGER, error TEXT);
CREATE TABLE migrate_history (id INTEGER PRIMARY KEY AUTOINCREMENT, version INTEGER NOT NULL, name TEXT NOT NULL, direction TEXT NOT NULL, checksum TEXT NOT NULL, started_at DATETIME NOT NULL, duration_ms REAL NOT NULL, success BOOLEAN NOT NULL, error TEXT, db_user TEXT NOT NULL, os_user TEXT NOT NULL, host TEXT NOT NULL, tool_version TEXT NOT NULL);
EOF
	;;
	postgres) cat <<'EOF'
CREATE TABLE migrate_state (version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, status TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL, failed_statement INTEGER, error TEXT);
CREATE TABLE migrate_history (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, version BIGINT NOT NULL, name TEXT NOT NULL, direction TEXT NOT NULL, checksum TEXT NOT NULL, started_at TIMESTAMPTZ NOT NULL, duration_ms DOUBLE PRECISION NOT NULL, success BOOLEAN NOT NULL, error TEXT, db_user TEXT NOT NULL, os_user TEXT NOT NULL, host TEXT NOT NULL, tool_version TEXT NOT NULL);
EOF
	;;
	mysql) cat <<'EOF'
CREATE TABLE migrate_state (version BIGINT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, checksum VARCHAR(64) NOT NULL, status VARCHAR(16) NOT NULL, applied_at DATETIME(6) NOT NULL, failed_statement INT NULL, error MEDIUMTEXT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE migrate_history (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, version BIGINT NOT NULL, name VARCHAR(255) NOT NULL, direction VARCHAR(16) NOT NULL, checksum VARCHAR(64) NOT NULL, started_at DATETIME(6) NOT NULL, duration_ms DOUBLE NOT NULL, success BOOLEAN NOT NULL, error MEDIUMTEXT NULL, db_user VARCHAR(300) NOT NULL, os_user VARCHAR(255) NOT NULL, host VARCHAR(255) NOT NULL, tool_version VARCHAR(100) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
EOF
	;;
	esac
}

SUM=0000000000000000000000000000000000000000000000000000000000000000

# gen_folder DIR N: N trivial migrations (a table and an index each).
gen_folder() {
	local dir=$1 n=$2 v
	mkdir -p "$dir"
	for ((v = 1; v <= n; v++)); do
		printf 'CREATE TABLE t%d (id INTEGER PRIMARY KEY, name VARCHAR(100));\nCREATE INDEX t%d_name ON t%d (name);\n' $v $v $v >"$dir/$(printf %05d $v)_t$v.up.sql"
		printf 'DROP TABLE t%d;\n' $v >"$dir/$(printf %05d $v)_t$v.down.sql"
	done
}

# gen_raw DRIVER N up|down: the same statements and bookkeeping writes the
# tool sends, one transaction per migration.
gen_raw() {
	local drv=$1 n=$2 dir=$3 v begin now user yes
	case "$drv" in
	sqlite) begin="BEGIN IMMEDIATE"; now="CURRENT_TIMESTAMP"; user="'bench'"; yes=1 ;;
	postgres) begin="BEGIN"; now="clock_timestamp()"; user="current_user"; yes=true ;;
	mysql) begin="START TRANSACTION"; now="NOW(6)"; user="CURRENT_USER()"; yes=1 ;;
	esac
	if [ "$dir" = up ]; then
		for ((v = 1; v <= n; v++)); do
			printf '%s;\nCREATE TABLE t%d (id INTEGER PRIMARY KEY, name VARCHAR(100));\nCREATE INDEX t%d_name ON t%d (name);\nDELETE FROM migrate_state WHERE version = %d;\nINSERT INTO migrate_state (version, name, checksum, status, applied_at) VALUES (%d, '"'"'t%d'"'"', '"'"'%s'"'"', '"'"'applied'"'"', %s);\nINSERT INTO migrate_history (version, name, direction, checksum, started_at, duration_ms, success, db_user, os_user, host, tool_version) VALUES (%d, '"'"'t%d'"'"', '"'"'up'"'"', '"'"'%s'"'"', %s, 0.1, %s, %s, '"'"'bench'"'"', '"'"'bench'"'"', '"'"'raw'"'"');\nCOMMIT;\n' \
				"$begin" $v $v $v $v $v $v $SUM "$now" $v $v $SUM "$now" $yes "$user"
		done
	else
		for ((v = n; v >= 1; v--)); do
			printf '%s;\nDROP TABLE t%d;\nDELETE FROM migrate_state WHERE version = %d;\nINSERT INTO migrate_history (version, name, direction, checksum, started_at, duration_ms, success, db_user, os_user, host, tool_version) VALUES (%d, '"'"'t%d'"'"', '"'"'down'"'"', '"'"'%s'"'"', %s, 0.1, %s, %s, '"'"'bench'"'"', '"'"'bench'"'"', '"'"'raw'"'"');\nCOMMIT;\n' \
				"$begin" $v $v $v $v $SUM "$now" $yes "$user"
		done
	fi
}

# --- peers -----------------------------------------------------------------

# gen_goose_folder DIR N: the same migrations in goose's one-file format.
gen_goose_folder() {
	local dir=$1 n=$2 v
	mkdir -p "$dir"
	for ((v = 1; v <= n; v++)); do
		printf -- '-- +goose Up\nCREATE TABLE t%d (id INTEGER PRIMARY KEY, name VARCHAR(100));\nCREATE INDEX t%d_name ON t%d (name);\n-- +goose Down\nDROP TABLE t%d;\n' $v $v $v $v >"$dir/$(printf %05d $v)_t$v.sql"
	done
}

# go_mysql_dsn URL: the go-sql-driver DSN (user:pass@tcp(host:port)/db) of
# a mysql:// URL, which goose and golang-migrate take.
go_mysql_dsn() {
	[[ $1 =~ ^mysql://([^@/]*)@([^/]*)/([^?]*) ]] || { echo "cannot parse $1" >&2; return 1; }
	echo "${BASH_REMATCH[1]}@tcp(${BASH_REMATCH[2]})/${BASH_REMATCH[3]}"
}

# peer PEER up|down DRIVER URL N: the peer tool applies, or rolls back all
# of, the N migrations, each in its own transaction (both tools' default).
peer() {
	local tool=$1 direction=$2 drv=$3 url=$4 n=$5 target
	case "$tool" in
	goose)
		[ -d "$WORK/goose_$n" ] || gen_goose_folder "$WORK/goose_$n" "$n"
		case "$drv" in
		sqlite) set -- sqlite3 "${url#sqlite:}" ;;
		postgres) set -- postgres "$url" ;;
		mysql) set -- mysql "$(go_mysql_dsn "$url")" ;;
		esac
		if [ "$direction" = up ]; then
			"$PEERS/goose" -dir "$WORK/goose_$n" "$@" up
		else
			"$PEERS/goose" -dir "$WORK/goose_$n" "$@" down-to 0
		fi ;;
	golang-migrate)
		case "$drv" in
		sqlite) target="sqlite://${url#sqlite:}" ;;
		postgres) target=$url ;;
		mysql) target="mysql://$(go_mysql_dsn "$url")?multiStatements=true" ;;
		esac
		if [ "$direction" = up ]; then
			"$PEERS/golang-migrate" -path "$WORK/mig_$n" -database "$target" up
		else
			"$PEERS/golang-migrate" -path "$WORK/mig_$n" -database "$target" down -all
		fi ;;
	esac
}

# ensure_raw DRIVER N: the raw scripts for N migrations, up (with the
# bookkeeping tables) and down.
ensure_raw() {
	[ -f "$WORK/raw_$1_$2_up.sql" ] && return
	{ bookkeeping_ddl "$1"; gen_raw "$1" "$2" up; } >"$WORK/raw_$1_$2_up.sql"
	gen_raw "$1" "$2" down >"$WORK/raw_$1_$2_down.sql"
}

# run_tool TOOL up|down DRIVER URL N: one run of migrate, the raw client or
# a peer over the N trivial migrations.
run_tool() {
	local tool=$1 direction=$2 drv=$3 url=$4 n=$5
	case "$tool" in
	migrate)
		if [ "$direction" = up ]; then
			"$MIGRATE" --database "$url" --dir "$WORK/mig_$n" up
		else
			"$MIGRATE" --database "$url" --dir "$WORK/mig_$n" down --allow-data-loss "$n"
		fi ;;
	raw) raw_client "$drv" "$url" <"$WORK/raw_${drv}_${n}_${direction}.sql" ;;
	*) peer "$tool" "$direction" "$drv" "$url" "$n" ;;
	esac
}

# --- measurements ----------------------------------------------------------

# timed CMD...: runs CMD, prints its wall time in ms; fails loudly.
timed() {
	local t0
	t0=$(now_ns)
	if ! "$@" >"$WORK/out" 2>&1; then
		echo "FAILED: $*" >&2
		tail -20 "$WORK/out" >&2
		exit 1
	fi
	ms_since "$t0"
}

min() { if [ -z "$1" ] || [ "$2" -lt "$1" ]; then echo "$2"; else echo "$1"; fi; }

ROWS=()
row() { ROWS+=("$(printf '%-9s %-6s %-24s %10s %10s %7s %14s' "$@")"); }

declare -A peer_up peer_down

bench_driver() {
	local drv=$1 n dir url best_up best_down raw_up raw_down single t tool
	for n in $SIZES; do
		dir=$WORK/mig_$n
		[ -d "$dir" ] || gen_folder "$dir" "$n"
		ensure_raw "$drv" "$n"
		best_up="" best_down="" raw_up="" raw_down="" single=""
		for ((r = 1; r <= REPS; r++)); do
			echo "$drv N=$n rep $r: tool up/down" >&2
			new_db "$drv"; url=$DB_URL
			t=$(timed run_tool migrate up "$drv" "$url" "$n"); best_up=$(min "$best_up" "$t")
			t=$(timed run_tool migrate down "$drv" "$url" "$n"); best_down=$(min "$best_down" "$t")
			echo "$drv N=$n rep $r: raw up/down" >&2
			new_db "$drv"; url=$DB_URL
			t=$(timed run_tool raw up "$drv" "$url" "$n"); raw_up=$(min "$raw_up" "$t")
			t=$(timed run_tool raw down "$drv" "$url" "$n"); raw_down=$(min "$raw_down" "$t")
			# MySQL commits DDL implicitly, so migrate refuses
			# --single-transaction there. PostgreSQL holds a lock per created
			# relation until commit; 10000 tables in one transaction exceed
			# the default max_locks_per_transaction.
			if [ "$drv" = sqlite ] || { [ "$drv" = postgres ] && [ "$n" -le 1000 ]; }; then
				echo "$drv N=$n rep $r: up --single-transaction" >&2
				new_db "$drv"; url=$DB_URL
				t=$(timed "$MIGRATE" --database "$url" --dir "$dir" up --single-transaction); single=$(min "$single" "$t")
			fi
		done
		for tool in "${PEER_TOOLS[@]+"${PEER_TOOLS[@]}"}"; do
			peer_up[$tool]="" peer_down[$tool]=""
			for ((r = 1; r <= REPS; r++)); do
				echo "$drv N=$n rep $r: $tool up/down" >&2
				new_db "$drv"; url=$DB_URL
				t=$(timed run_tool "$tool" up "$drv" "$url" "$n"); peer_up[$tool]=$(min "${peer_up[$tool]}" "$t")
				t=$(timed run_tool "$tool" down "$drv" "$url" "$n"); peer_down[$tool]=$(min "${peer_down[$tool]}" "$t")
			done
		done
		row "$drv" "$n" "up" "$best_up" "$raw_up" "$(ratio "$best_up" "$raw_up")" "$(per "$best_up" "$raw_up" "$n")"
		row "$drv" "$n" "down" "$best_down" "$raw_down" "$(ratio "$best_down" "$raw_down")" "$(per "$best_down" "$raw_down" "$n")"
		if [ -n "$single" ]; then
			row "$drv" "$n" "up --single-transaction" "$single" "$raw_up" "$(ratio "$single" "$raw_up")" "$(per "$single" "$raw_up" "$n")"
		fi
		for tool in "${PEER_TOOLS[@]+"${PEER_TOOLS[@]}"}"; do
			row "$drv" "$n" "$tool up" "${peer_up[$tool]}" "$raw_up" "$(ratio "${peer_up[$tool]}" "$raw_up")" "$(per "${peer_up[$tool]}" "$raw_up" "$n")"
			row "$drv" "$n" "$tool down" "${peer_down[$tool]}" "$raw_down" "$(ratio "${peer_down[$tool]}" "$raw_down")" "$(per "${peer_down[$tool]}" "$raw_down" "$n")"
		done
	done
	bench_status "$drv"
	bench_verify "$drv"
}

# --- round trips and commits on PostgreSQL ---------------------------------

# through URL ADDR: URL, reaching its server through ADDR without TLS.
through() {
	[[ $1 =~ ^(postgres(ql)?://)([^@/]*@)?([^/?]*)(.*)$ ]] || { echo "cannot parse $1" >&2; return 1; }
	local rest=${BASH_REMATCH[5]}
	case "$rest" in
	*sslmode=*) rest=$(sed 's/sslmode=[a-z-]*/sslmode=disable/' <<<"$rest") ;;
	*\?*) rest="$rest&sslmode=disable" ;;
	*) rest="$rest?sslmode=disable" ;;
	esac
	echo "${BASH_REMATCH[1]}${BASH_REMATCH[3]}$2$rest"
}

# upstream_of URL: the host:port of URL's server.
upstream_of() {
	[[ $1 =~ ^postgres(ql)?://([^@/]*@)?([^/?]*) ]] || return 1
	local hostport=${BASH_REMATCH[3]}
	[[ $hostport == *:* ]] || hostport="$hostport:5432"
	echo "$hostport"
}

# counted TOOL up|down N: runs the tool on the database in DB_URL through a
# new pgcount proxy and echoes "ROUND_TRIPS COMMITS", liveness pings counted
# as round trips (they are).
counted() {
	local pid addr="" line
	rm -f "$WORK/pgcount.out" # the last proxy's address must not be read as this one's
	"$WORK/pgcount" -upstream "$(upstream_of "$PG_URL")" >"$WORK/pgcount.out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		[ -s "$WORK/pgcount.out" ] && addr=$(awk '/^listening on/ { print $3 }' "$WORK/pgcount.out")
		[ -n "$addr" ] && break
		sleep 0.05
	done
	[ -n "$addr" ] || { echo "pgcount did not start:" >&2; cat "$WORK/pgcount.out" >&2; exit 1; }
	if ! run_tool "$1" "$2" postgres "$(through "$DB_URL" "$addr")" "$3" >"$WORK/out" 2>&1; then
		echo "FAILED through pgcount: $1 $2 $3" >&2
		tail -20 "$WORK/out" >&2
		kill "$pid"
		exit 1
	fi
	kill -TERM "$pid"
	wait "$pid" || true
	line=$(grep '^round_trips=' "$WORK/pgcount.out")
	[[ $line =~ round_trips=([0-9]+)\ pings=([0-9]+)\ commits=([0-9]+) ]] || { echo "pgcount said: $(cat "$WORK/pgcount.out")" >&2; exit 1; }
	echo "$((BASH_REMATCH[1] + BASH_REMATCH[2])) ${BASH_REMATCH[3]}"
}

COUNT_ROWS=()

# bench_counts: every tool's round trips and commits for up and down of
# COUNT_N/2 and COUNT_N migrations; the difference over COUNT_N/2 is the
# cost of one migration, the rest the run's fixed cost.
bench_counts() {
	local half=$((COUNT_N / 2)) tool direction n trips commits
	[ "$half" -gt 0 ] || return 0
	for tool in migrate raw "${PEER_TOOLS[@]+"${PEER_TOOLS[@]}"}"; do
		declare -A c=()
		for n in "$half" "$COUNT_N"; do
			[ -d "$WORK/mig_$n" ] || gen_folder "$WORK/mig_$n" "$n"
			ensure_raw postgres "$n"
			echo "postgres: counting $tool up/down of $n" >&2
			new_db postgres
			for direction in up down; do
				read -r trips commits < <(counted "$tool" "$direction" "$n")
				[ -n "$commits" ] || { echo "counting $tool $direction of $n failed" >&2; exit 1; }
				c[$direction,$n,trips]=$trips c[$direction,$n,commits]=$commits
			done
		done
		for direction in up down; do
			COUNT_ROWS+=("$(printf '%-16s %-5s %10s %10s %12s %12s' "$tool" "$direction" \
				"$(per_migration "${c[$direction,$COUNT_N,trips]}" "${c[$direction,$half,trips]}" "$half")" \
				"$(per_migration "${c[$direction,$COUNT_N,commits]}" "${c[$direction,$half,commits]}" "$half")" \
				"$(fixed "${c[$direction,$COUNT_N,trips]}" "${c[$direction,$half,trips]}")" \
				"$(fixed "${c[$direction,$COUNT_N,commits]}" "${c[$direction,$half,commits]}")")")
		done
	done
}

per_migration() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.2f", (a - b) / n }'; }
fixed() { echo $((2 * $2 - $1)); }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
per() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%+.3f", (a - b) / n }'; }

# seed_state DRIVER URL DIR N: version 1 applied by migrate (which creates
# its tables), versions 2..N written straight into the state table with the
# files' checksums, as if applied: status and validate read only that table.
seed_state() {
	local drv=$1 url=$2 dir=$3 n=$4 now
	timed "$MIGRATE" --database "$url" --dir "$dir" up 1 >/dev/null
	case "$drv" in
	sqlite) now=CURRENT_TIMESTAMP ;;
	postgres) now="clock_timestamp()" ;;
	mysql) now="NOW(6)" ;;
	esac
	(cd "$dir" && sha256sum ./*.up.sql) | awk -v now="$now" -v begin="$([ "$drv" = mysql ] && echo "START TRANSACTION" || echo BEGIN)" '
		{ file = $2; sub(/^\.\//, "", file); split(file, p, "_"); v = p[1] + 0
		  name = substr(file, length(p[1]) + 2); sub(/\.up\.sql$/, "", name)
		  if (v == 1) next
		  if (rows % 1000 == 0) { if (rows) print ";"; print "INSERT INTO migrate_state (version, name, checksum, status, applied_at) VALUES" } else print ","
		  printf "(%d, \x27%s\x27, \x27%s\x27, \x27applied\x27, %s)", v, name, $1, now; rows++ }
		END { print ";" }' | { echo "$([ "$drv" = mysql ] && echo "START TRANSACTION" || echo BEGIN);"; cat; echo "COMMIT;"; } >"$WORK/seed.sql"
	timed raw_client "$drv" "$url" <"$WORK/seed.sql" >/dev/null
}

# status and validate on STATUS_N applied migrations, best of three. Their
# raw lower bound is the work any tool must do: hash every up script
# (sha256sum) and read the state table with the database's own client.
raw_status() {
	local drv=$1 url=$2 dir=$3
	(cd "$dir" && sha256sum ./*.up.sql >/dev/null)
	echo "SELECT version, name, checksum, status, applied_at, failed_statement, error FROM migrate_state ORDER BY version;" | raw_client "$drv" "$url"
}

bench_status() {
	local drv=$1 dir=$WORK/mig_$STATUS_N url t st="" va="" raw=""
	[ "$STATUS_N" -gt 0 ] || return 0
	[ -d "$dir" ] || gen_folder "$dir" "$STATUS_N"
	new_db "$drv"; url=$DB_URL
	echo "$drv: $STATUS_N applied migrations for status/validate" >&2
	seed_state "$drv" "$url" "$dir" "$STATUS_N"
	if ! "$MIGRATE" --database "$url" --dir "$dir" validate >"$WORK/out" 2>&1; then
		echo "the seeded state does not validate:" >&2
		tail -5 "$WORK/out" >&2
		exit 1
	fi
	for r in 1 2 3; do
		t=$(timed "$MIGRATE" --database "$url" --dir "$dir" status); st=$(min "$st" "$t")
		t=$(timed "$MIGRATE" --database "$url" --dir "$dir" validate); va=$(min "$va" "$t")
		t=$(timed raw_status "$drv" "$url" "$dir"); raw=$(min "$raw" "$t")
	done
	row "$drv" "$STATUS_N" "status (all applied)" "$st" "$raw" "$(ratio "$st" "$raw")" "-"
	row "$drv" "$STATUS_N" "validate (all applied)" "$va" "$raw" "$(ratio "$va" "$raw")" "-"
}

# gen_chain DIR N DRIVER: N migrations each creating a table with a foreign
# key to the one before, an index and a check, as integration's
# BenchmarkVerify300 does: the shape of a long-lived project's folder.
gen_chain() {
	local dir=$1 n=$2 drv=$3 v fk on
	mkdir -p "$dir"
	for ((v = 1; v <= n; v++)); do
		fk=""
		[ "$v" -gt 1 ] && fk=$(printf ',\n    parent_id INTEGER REFERENCES t%04d (id) ON DELETE CASCADE' $((v - 1)))
		printf 'CREATE TABLE t%04d (\n    id INTEGER PRIMARY KEY,\n    name VARCHAR(100) NOT NULL DEFAULT %s,\n    qty INTEGER CHECK (qty >= 0),\n    created_at TIMESTAMP%b\n);\nCREATE INDEX t%04d_name_idx ON t%04d (name, created_at DESC);\n' \
			$v "''" "$fk" $v $v >"$dir/$(printf %04d $v)_t$v.up.sql"
		# MySQL names the table of the index it drops.
		on=""
		[ "$drv" = mysql ] && on=$(printf ' ON t%04d' $v)
		printf 'DROP INDEX t%04d_name_idx%s;\nDROP TABLE t%04d;\n' $v "$on" $v >"$dir/$(printf %04d $v)_t$v.down.sql"
	done
}

# verify against plain up, down and up of the same folder, each on a fresh
# database: the issue's measure of what the schema checks cost. The two
# alternate, --reps times, and the best of each is kept, so that a burst of
# load on a shared machine lands on both or is dropped.
bench_verify() {
	local drv=$1 dir=$WORK/chain_${1}_$VERIFY_N url t plain best="" best_plain="" r
	[ "$VERIFY_N" -gt 0 ] || return 0
	[ -d "$dir" ] || gen_chain "$dir" "$VERIFY_N" "$drv"
	echo "$drv: verify of $VERIFY_N migrations" >&2
	for ((r = 1; r <= REPS; r++)); do
		new_db "$drv"; url=$DB_URL
		t=$(timed "$MIGRATE" --database "$url" --dir "$dir" verify --i-know-this-database-is-disposable)
		best=$(min "$best" "$t")
		new_db "$drv"; url=$DB_URL
		plain=$(timed "$MIGRATE" --database "$url" --dir "$dir" up)
		plain=$((plain + $(timed "$MIGRATE" --database "$url" --dir "$dir" down --allow-data-loss "$VERIFY_N")))
		plain=$((plain + $(timed "$MIGRATE" --database "$url" --dir "$dir" up)))
		best_plain=$(min "$best_plain" "$plain")
	done
	row "$drv" "$VERIFY_N" "verify vs up+down+up" "$best" "$best_plain" "$(ratio "$best" "$best_plain")" "-"
}

for drv in $DRIVERS; do
	if available "$drv"; then
		bench_driver "$drv"
		if [ "$drv" = postgres ] && [ "$COUNT_N" -gt 0 ]; then bench_counts; fi
	else
		echo "skipping $drv" >&2
	fi
done

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg); $(go version | cut -d' ' -f3); best of $REPS"
printf '%-9s %-6s %-24s %10s %10s %7s %14s\n' driver N command "tool ms" "raw ms" ratio "ms/migration"
printf '%s\n' "${ROWS[@]}"
echo "ratio = tool / raw; ms/migration = (tool - raw) / N, the overhead over the raw lower bound."
echo "raw = the same SQL plus the state and history writes, one transaction per migration, fed to sqlite3 / psql / mariadb in one process; for status and validate, sha256sum of the up scripts plus the client reading the state table; for verify, migrate's own up, down and up of the same folder (the issue's target: verify at most 2x that)."
if [ ${#COUNT_ROWS[@]} -gt 0 ]; then
	echo
	echo "PostgreSQL, counted on the wire by bench/pgcount: per migration = (count at $COUNT_N - count at $((COUNT_N / 2))) / $((COUNT_N / 2)); fixed = what a run costs besides."
	printf '%-16s %-5s %10s %10s %12s %12s\n' tool run "trips/mig" "commits/mig" "fixed trips" "fixed commits"
	printf '%s\n' "${COUNT_ROWS[@]}"
	echo "a round trip is a simple Query or an extended-protocol Sync (the client waits for the server); a commit is a transaction that wrote and committed (a durable WAL flush)."
fi
