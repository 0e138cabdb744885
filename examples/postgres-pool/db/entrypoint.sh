#!/bin/sh
# A fresh PostgreSQL for every start: initdb on PGDATA (in /dev/shm: fast, nothing persists;
# Docker makes it writable to all at every start, where a tmpfs's `mode=` is lost on a
# restart), the role lab/lab and database lab, a seeded table, then the server in the
# foreground (PID 1).
# While seeding it listens on its Unix socket only, so `pg_isready -h 127.0.0.1` (the health
# check) answers only once the data is there.
set -eu
: "${PGDATA:=/dev/shm/pgdata}"
: "${SEED_ROWS:=1000}"
: "${MAX_CONNECTIONS:=200}"
sockets=$(dirname "$PGDATA")
[ -w "$sockets" ] || { echo "pool-db: $sockets is not writable (PGDATA=$PGDATA)" >&2; exit 1; }

rm -rf "$PGDATA"
# No password on the socket (the seed below); a password (lab) over TCP, from anywhere.
initdb --pgdata="$PGDATA" --username=postgres --encoding=UTF8 --locale=C.UTF-8 \
  --auth-local=trust --auth-host=scram-sha-256 --no-sync >/dev/null
cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '*'
max_connections = $MAX_CONNECTIONS
unix_socket_directories = '$sockets'
shared_buffers = 32MB
# Nothing here outlives the container: durability would only cost time.
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
cat >>"$PGDATA/pg_hba.conf" <<HBA
host all all 0.0.0.0/0 scram-sha-256
host all all ::/0 scram-sha-256
HBA

pg_ctl --pgdata="$PGDATA" --silent --wait -o "-c listen_addresses=''" start
psql --quiet -v ON_ERROR_STOP=1 -v rows="$SEED_ROWS" -h "$sockets" -U postgres -d postgres <<'SQL'
CREATE ROLE lab LOGIN PASSWORD 'lab';
CREATE DATABASE lab OWNER lab;
\connect lab lab
CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, :rows) AS g;
ANALYZE items;
SQL
pg_ctl --pgdata="$PGDATA" --silent --wait --mode=fast stop
echo "pool-db: seeded items with $SEED_ROWS rows; max_connections $MAX_CONNECTIONS" >&2
exec postgres -D "$PGDATA"
