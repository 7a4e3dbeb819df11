#!/usr/bin/env bash
# Servers for running suites and benchmarks by hand, as .ci/run runs them: NATS with JetStream and
# a password, Debian's PostgreSQL (a fresh cluster, default durability) and FerretDB on it, all on
# free 127.0.0.1 ports under one directory. Prints the variables to export:
#
#   eval "$(bash test/tools/start-servers.sh /tmp/cds-servers)"
#   npm run test:integration; npm run test:chaos; npm run bench:runs
#   kill $(cat /tmp/cds-servers/pids)          # stop them
#
# Needs nats-server and postgresql (apt-get install nats-server postgresql) and the FerretDB
# binary .ci/run builds (CDS_FERRETDB_BIN, default ~/.cache/cds-ts/ferretdb-v1.24.2).
set -euo pipefail
DIR=${1:-/tmp/cds-servers}
FERRETDB=${CDS_FERRETDB_BIN:-$HOME/.cache/cds-ts/ferretdb-v1.24.2}
if [ -f "$DIR/pids" ]; then kill $(cat "$DIR/pids") 2>/dev/null || true; sleep 1; fi
rm -rf "$DIR"
mkdir -p "$DIR/nats" "$DIR/ferretdb"
chmod 711 "$DIR"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
password() { python3 -c 'import secrets; print(secrets.token_hex(16))'; }

NP=$(free_port) NPW=$(password)
printf 'listen: 127.0.0.1:%s\njetstream { store_dir: "%s" }\nauthorization { user: cds, password: "%s" }\n' \
	"$NP" "$DIR/nats" "$NPW" >"$DIR/nats.conf"
chmod 600 "$DIR/nats.conf"
nohup nats-server -c "$DIR/nats.conf" >"$DIR/nats.log" 2>&1 &
echo $! >"$DIR/pids"

BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PP=$(free_port) PPW=$(password)
mkdir -p "$DIR/postgres"
(umask 077 && echo "$PPW" >"$DIR/postgres.password")
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$DIR/postgres" "$DIR/postgres.password"; fi
chmod 700 "$DIR/postgres"
# A password on the socket and over TCP: FerretDB, another OS user, reaches it on the socket.
as_postgres "$BIN/initdb" -D "$DIR/postgres/data" -U postgres --auth-local=scram-sha-256 --auth-host=scram-sha-256 \
	--pwfile="$DIR/postgres.password" -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1
rm -f "$DIR/postgres.password"
nohup bash -c "$(declare -f as_postgres); as_postgres '$BIN/postgres' -D '$DIR/postgres/data' -c listen_addresses=127.0.0.1 -p $PP -c unix_socket_directories='$DIR/postgres'" >"$DIR/postgres.log" 2>&1 &
wait_port "$PP"
for _ in $(seq 1 100); do as_postgres "$BIN/pg_isready" -q -h "$DIR/postgres" -p "$PP" && break; sleep 0.1; done
# With the index on FerretDB's reads by _id, as .ci/run and the README set it up.
export PGPASSWORD=$PPW
for db in ferretdb chaos; do
	as_postgres "$BIN/psql" -q -h "$DIR/postgres" -p "$PP" -U postgres -d postgres -c "CREATE DATABASE $db" >/dev/null
	as_postgres "$BIN/psql" -q -h "$DIR/postgres" -p "$PP" -U postgres -d "$db" -v ON_ERROR_STOP=1 -f - \
		<"$(dirname "$0")/../../docs/ferretdb-postgresql-id-index.sql" >/dev/null
done
# The postmaster itself: its runuser parent does not pass a TERM on.
echo "$(head -1 "$DIR/postgres/data/postmaster.pid")" >>"$DIR/pids.postgres"
unset PGPASSWORD
PG="postgres://postgres:$PPW@127.0.0.1:$PP"

MP=$(free_port)
# GOGC=400 as in .ci/run: far less of FerretDB's CPU goes to its garbage collector. PostgreSQL's
# Unix socket, as in .ci/run: less CPU than loopback TCP.
GOGC=400 nohup "$FERRETDB" --handler=postgresql --postgresql-url="postgres://postgres:$PPW@/ferretdb?host=$DIR/postgres&port=$PP" --listen-addr="127.0.0.1:$MP" \
	--telemetry=disable --log-level=warn --state-dir="$DIR/ferretdb" --debug-addr=127.0.0.1:0 >"$DIR/ferretdb.log" 2>&1 &
echo $! >>"$DIR/pids"
wait_port "$NP"
wait_port "$MP"
cat "$DIR/pids.postgres" >>"$DIR/pids"
echo "export NATS_URL=nats://cds:$NPW@127.0.0.1:$NP MONGO_URL=mongodb://127.0.0.1:$MP CDS_CHAOS_POSTGRESQL_URL=$PG/chaos CDS_FERRETDB_BIN=$FERRETDB"
