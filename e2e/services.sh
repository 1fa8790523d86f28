#!/usr/bin/env bash
# Installs and runs the real services the end-to-end tests need -- PostgreSQL,
# MariaDB and Apache Kafka (KRaft, single node) -- natively on loopback, with
# private data directories and ports.  See e2e/README.md.
#
#   e2e/services.sh up [pg|mariadb|kafka ...]   install if missing, start, wait until ready
#   e2e/services.sh down [pg|mariadb|kafka ...] stop (graceful, then kill); data kept
#   e2e/services.sh reset [pg|mariadb|kafka ...] down + wipe data dirs
#   e2e/services.sh status [pg|mariadb|kafka ...]
#   e2e/services.sh env                          print export lines: eval "$(e2e/services.sh env)"
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)

SERVICES_DIR=${CDC_SERVICES_DIR:-$REPO/.services}
CACHE_DIR=${CDC_CACHE_DIR:-${HOME:-/root}/.cache/cdc}

PG_PORT=${CDC_PG_PORT:-55432}
MYSQL_PORT=${CDC_MYSQL_PORT:-53306}
KAFKA_PORT=${CDC_KAFKA_PORT:-59092}
KAFKA_CONTROLLER_PORT=${CDC_KAFKA_CONTROLLER_PORT:-59093}
HOST=127.0.0.1

KAFKA_VERSION=${CDC_KAFKA_VERSION:-4.1.1}
LOG4J_VERSION=${CDC_LOG4J_VERSION:-2.24.3}
KAFKA_HEAP=${CDC_KAFKA_HEAP:--Xmx768m}

PG_WAIT=${CDC_PG_WAIT:-60}
MYSQL_WAIT=${CDC_MYSQL_WAIT:-60}
KAFKA_WAIT=${CDC_KAFKA_WAIT:-90}

ALL_SERVICES=(pg mariadb kafka)

# ---------------------------------------------------------------------------
# helpers

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# fail_with_log MESSAGE LOGFILE...: print the message and the tail of each log, exit 1.
fail_with_log() {
	local msg=$1
	shift
	printf '[services] ERROR: %s\n' "$msg" >&2
	local f
	for f in "$@"; do
		if [[ -s $f ]]; then
			printf '[services] ---- last lines of %s ----\n' "$f" >&2
			tail -n 40 "$f" >&2 || true
		fi
	done
	exit 1
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
	timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
}

# pid_alive PIDFILE [STRING]: the pid in PIDFILE is alive and its command line
# contains STRING (a fixed string). Callers pass something that names this
# instance (its data directory or config file), not just the program: after a
# SIGKILL the pid file stays, and its pid may since belong to another process,
# even another helper's server of the same kind.
pid_alive() {
	local pidfile=$1 want=${2:-} pid
	[[ -s $pidfile ]] || return 1
	pid=$(head -n1 "$pidfile" 2>/dev/null | tr -dc '0-9')
	[[ -n $pid ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	if [[ -n $want ]]; then
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$want" || return 1
	fi
	return 0
}

read_pid() { head -n1 "$1" 2>/dev/null | tr -dc '0-9'; }

file_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# bind_failed LOGFILE OFFSET: the log written since OFFSET reports a port already in use.
bind_failed() {
	tail -c +$(($2 + 1)) "$1" 2>/dev/null | grep -q 'Address already in use'
}

# Our ports lie inside Linux's ephemeral range (32768-60999), so an outgoing client
# connection can grab one as its source port while a service is down, and the
# restart then fails to bind.  Reserve them (best effort; root only; per network namespace).
reserve_ports() {
	local f=/proc/sys/net/ipv4/ip_local_reserved_ports cur p missing=() item lo hi found
	is_root || return 0
	[[ -w $f ]] || return 0
	cur=$(cat "$f" 2>/dev/null) || return 0
	for p in "$PG_PORT" "$MYSQL_PORT" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
		found=0
		local IFS=,
		for item in $cur; do
			lo=${item%-*}
			hi=${item#*-}
			if ((p >= lo && p <= hi)); then found=1; fi
		done
		unset IFS
		if ((!found)); then
			missing+=("$p")
			cur=${cur:+$cur,}$p
		fi
	done
	((${#missing[@]})) || return 0
	if printf '%s\n' "$cur" >"$f" 2>/dev/null; then
		log "reserved ports ${missing[*]} (net.ipv4.ip_local_reserved_ports)"
	fi
	return 0
}

# stop_pid PIDFILE PATTERN GRACE_SECONDS NAME: SIGTERM, wait, then SIGKILL.
stop_pid() {
	local pidfile=$1 pattern=$2 grace=$3 name=$4 pid i
	if ! pid_alive "$pidfile" "$pattern"; then
		rm -f "$pidfile"
		return 0
	fi
	pid=$(read_pid "$pidfile")
	log "$name: stopping (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace * 5; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name: still running after ${grace}s, sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -f "$pidfile"
}

# spawn PIDFILE OUTFILE CMD...: start CMD detached (own session, no stdin), pid into PIDFILE.
spawn() {
	local pidfile=$1 out=$2
	shift 2
	# 9>&-: the daemon must not inherit the lock fd (see lock()).
	# shellcheck disable=SC2016 # $$ and $@ expand in the child shell
	setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' spawn "$pidfile" "$@" </dev/null >>"$out" 2>&1 9>&- &
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -s $pidfile ]] && return 0
		sleep 0.1
	done
	die "could not start $3"
}

# A unix socket path must stay under ~107 bytes; fall back to /tmp for deep checkouts.
socket_dir() {
	local svc=$1
	local dir=$SERVICES_DIR/$svc/run
	if ((${#dir} > 80)); then
		dir=/tmp/cdc-sock-$(printf '%s' "$SERVICES_DIR" | md5sum | cut -c1-10)/$svc
	fi
	printf '%s\n' "$dir"
}

# ---------------------------------------------------------------------------
# installation

APT_UPDATED=0
apt_install() {
	is_root || die "need root to install Debian packages: $*"
	command -v apt-get >/dev/null || die "apt-get not found; install $* by hand"
	local lists
	lists=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' 2>/dev/null | head -n1 || true)
	if [[ $APT_UPDATED -eq 0 && -z $lists ]]; then
		log "apt-get update"
		apt-get update -qq >&2
		APT_UPDATED=1
	fi
	# Keep the packages' maintainer scripts from starting system-wide daemons
	# (we run our own instances on private ports).
	local policy=/usr/sbin/policy-rc.d created_policy=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		created_policy=1
	fi
	log "apt-get install $*"
	local rc=0
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 || rc=$?
	if [[ $rc -ne 0 && $APT_UPDATED -eq 0 ]]; then
		log "install failed; apt-get update and retry"
		apt-get update -qq >&2
		APT_UPDATED=1
		rc=0
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 || rc=$?
	fi
	if [[ $created_policy -eq 1 ]]; then rm -f "$policy"; fi
	[[ $rc -eq 0 ]] || die "apt-get install $* failed"
}

pg_bindir() {
	if [[ -n ${CDC_PG_BINDIR:-} ]]; then
		printf '%s\n' "$CDC_PG_BINDIR"
		return
	fi
	local d best=
	# shellcheck disable=SC2012
	while read -r d; do
		if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then best=$d; fi
	done < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V)
	# highest installed major version
	printf '%s\n' "$best"
}

mariadbd_bin() {
	local b
	for b in "$(command -v mariadbd 2>/dev/null || true)" /usr/sbin/mariadbd /usr/sbin/mysqld; do
		if [[ -n $b && -x $b ]]; then
			printf '%s\n' "$b"
			return 0
		fi
	done
	return 0
}

# install_postgis adds PostGIS for the server's major version (Debian's
# postgresql-<major>-postgis-3), for TestPostgresPostGIS; best effort:
# without it that test skips. CDC_POSTGIS=0 leaves it out.
install_postgis() {
	[[ ${CDC_POSTGIS:-1} == 1 ]] || return 0
	local major
	major=$(basename "$(dirname "$(pg_bindir)")")
	# Both halves: the extension's scripts and its library (a removed
	# postgresql-<major>-postgis-3 leaves the scripts package behind).
	[[ -f /usr/share/postgresql/$major/extension/postgis.control && -f /usr/lib/postgresql/$major/lib/postgis-3.so ]] && return 0
	(apt_install "postgresql-$major-postgis-3") || log "pg: PostGIS not installed (postgresql-$major-postgis-3); TestPostgresPostGIS will skip"
}

install_missing() {
	local want=("$@") pkgs=() s
	for s in "${want[@]}"; do
		case $s in
		pg)
			[[ -n $(pg_bindir) ]] || pkgs+=(postgresql)
			command -v psql >/dev/null || pkgs+=(postgresql-client)
			;;
		mariadb)
			[[ -n $(mariadbd_bin) ]] || pkgs+=(mariadb-server)
			command -v mariadb >/dev/null || pkgs+=(mariadb-client)
			command -v mariadb-install-db >/dev/null || pkgs+=(mariadb-server)
			;;
		kafka)
			if [[ ! -f $(kafka_libs)/.complete ]]; then
				command -v java >/dev/null || pkgs+=(default-jre-headless)
				command -v mvn >/dev/null || pkgs+=(maven)
			elif ! command -v java >/dev/null; then
				pkgs+=(default-jre-headless)
			fi
			;;
		esac
	done
	if ((${#pkgs[@]})); then
		# de-duplicate
		mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
		apt_install "${pkgs[@]}"
	fi
	for s in "${want[@]}"; do
		case $s in
		pg)
			[[ -n $(pg_bindir) ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
			install_postgis
			;;
		mariadb) [[ -n $(mariadbd_bin) ]] || die "mariadbd not found" ;;
		kafka) kafka_fetch ;;
		esac
	done
}

# ---------------------------------------------------------------------------
# PostgreSQL

PG_DIR=$SERVICES_DIR/pg
PG_DATA=$PG_DIR/data
PG_LOG=$PG_DIR/postgres.log

as_pg() {
	if is_root; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# The postgres OS user must be able to reach $PG_DIR: add o+x to ancestors that lack it.
pg_make_traversable() {
	is_root || return 0
	if runuser -u postgres -- test -x "$PG_DIR" 2>/dev/null; then return 0; fi
	local d=$PG_DIR
	while [[ $d != / && -n $d ]]; do
		d=$(dirname "$d")
		if [[ -d $d ]] && ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
			log "pg: chmod o+x $d (so the postgres user can reach its data dir)"
			chmod o+x "$d"
		fi
	done
	runuser -u postgres -- test -x "$PG_DIR" || die "postgres user cannot reach $PG_DIR"
}

pg_running() {
	local bindir=$1
	# pg_ctl status trusts any live pid in postmaster.pid.
	pid_alive "$PG_DATA/postmaster.pid" "postgres -D $PG_DATA" || return 1
	as_pg "$bindir/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_write_config() {
	local sock
	sock=$(socket_dir pg)
	cat >"$PG_DATA/cdc.conf" <<EOF
# Written by e2e/services.sh on every 'up'; edits are overwritten.
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$sock'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
wal_sender_timeout = 60s
max_slot_wal_keep_size = 4GB
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = scram-sha-256
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
	grep -q "^include_if_exists = 'cdc.conf'" "$PG_DATA/postgresql.conf" ||
		printf "\ninclude_if_exists = 'cdc.conf'\n" >>"$PG_DATA/postgresql.conf"
	cat >"$PG_DATA/pg_hba.conf" <<'EOF'
# Written by e2e/services.sh on every 'up'; edits are overwritten.
# TYPE  DATABASE     USER  ADDRESS        METHOD
local   all          all                  trust
local   replication  all                  trust
host    all          all   127.0.0.1/32   scram-sha-256
host    replication  all   127.0.0.1/32   scram-sha-256
host    all          all   ::1/128        scram-sha-256
host    replication  all   ::1/128        scram-sha-256
EOF
	chown postgres:postgres "$PG_DATA/cdc.conf" "$PG_DATA/pg_hba.conf" 2>/dev/null || true
	chmod 600 "$PG_DATA/cdc.conf" "$PG_DATA/pg_hba.conf"
}

pg_up() {
	local bindir sock
	bindir=$(pg_bindir)
	sock=$(socket_dir pg)
	mkdir -p "$PG_DIR" "$sock"
	if is_root; then
		chown postgres:postgres "$PG_DIR" "$sock"
		pg_make_traversable
	fi
	chmod 755 "$PG_DIR"
	chmod 755 "$sock"

	if pg_running "$bindir"; then
		if port_open "$PG_PORT"; then
			log "pg: already running on $HOST:$PG_PORT"
			pg_bootstrap "$bindir"
			return 0
		fi
	fi
	if ! pg_running "$bindir" && port_open "$PG_PORT"; then
		die "pg: port $PG_PORT is taken by another process (set CDC_PG_PORT): $(ss -ltnpH "sport = :$PG_PORT" 2>/dev/null || true)"
	fi

	if [[ ! -s $PG_DATA/PG_VERSION ]]; then
		log "pg: initdb in $PG_DATA ($("$bindir/postgres" --version))"
		rm -rf "$PG_DATA"
		as_pg "$bindir/initdb" -D "$PG_DATA" -U postgres -E UTF8 --no-locale \
			--auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 ||
			fail_with_log "pg: initdb failed" "$PG_DIR/initdb.log"
	fi
	pg_write_config

	if ! pg_running "$bindir"; then
		local attempt off
		for attempt in 1 2 3; do
			log "pg: starting on $HOST:$PG_PORT"
			touch "$PG_LOG"
			if is_root; then chown postgres:postgres "$PG_LOG"; fi
			off=$(file_size "$PG_LOG")
			if as_pg "$bindir/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_WAIT" start >/dev/null 2>&1 9>&-; then
				break
			fi
			if ((attempt < 3)) && ! pg_running "$bindir" && bind_failed "$PG_LOG" "$off"; then
				log "pg: port $PG_PORT is briefly in use by another socket; retrying"
				sleep 3
				continue
			fi
			if bind_failed "$PG_LOG" "$off"; then
				fail_with_log "pg: could not bind $HOST:$PG_PORT (address in use)" "$PG_LOG"
			fi
			fail_with_log "pg: server did not start within ${PG_WAIT}s" "$PG_LOG"
		done
	fi
	local i
	for ((i = 0; i < PG_WAIT * 2; i++)); do
		port_open "$PG_PORT" && break
		sleep 0.5
	done
	port_open "$PG_PORT" || fail_with_log "pg: port $PG_PORT not accepting connections after ${PG_WAIT}s" "$PG_LOG"
	pg_bootstrap "$bindir"
	log "pg: ready on $HOST:$PG_PORT"
}

pg_bootstrap() {
	local bindir=$1 sock psql
	sock=$(socket_dir pg)
	psql=$bindir/psql
	[[ -x $psql ]] || psql=$(command -v psql)
	as_pg "$psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$PG_PORT" -U postgres -d postgres >/dev/null <<'SQL' ||
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cdc') THEN
    CREATE ROLE cdc LOGIN REPLICATION SUPERUSER PASSWORD 'cdc';
  ELSE
    ALTER ROLE cdc LOGIN REPLICATION SUPERUSER PASSWORD 'cdc';
  END IF;
END
$$;
SELECT 'CREATE DATABASE cdc OWNER cdc' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'cdc')
\gexec
SQL
		fail_with_log "pg: creating role/database cdc failed" "$PG_LOG"
	# Password login over TCP must work (this is what the tests use).
	PGPASSWORD=cdc PGCONNECT_TIMEOUT=5 "$psql" -X -q -At -h "$HOST" -p "$PG_PORT" -U cdc -d cdc -c 'select 1' >/dev/null ||
		fail_with_log "pg: password login as cdc over TCP failed" "$PG_LOG"
}

pg_down() {
	local bindir
	bindir=$(pg_bindir)
	[[ -n $bindir && -d $PG_DATA ]] || return 0
	if pg_running "$bindir"; then
		log "pg: stopping"
		as_pg "$bindir/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			as_pg "$bindir/pg_ctl" -D "$PG_DATA" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
		if pg_running "$bindir"; then
			local pid
			pid=$(head -n1 "$PG_DATA/postmaster.pid" | tr -dc '0-9')
			if [[ -n $pid ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
		fi
	fi
}

pg_status() {
	local bindir
	bindir=$(pg_bindir)
	if [[ -n $bindir ]] && pg_running "$bindir" && port_open "$PG_PORT"; then
		echo "pg:      running  pid $(head -n1 "$PG_DATA/postmaster.pid")  $HOST:$PG_PORT  ($PG_DATA)"
		return 0
	fi
	echo "pg:      stopped  ($PG_DATA)"
	return 1
}

# ---------------------------------------------------------------------------
# MariaDB

MY_DIR=$SERVICES_DIR/mariadb
MY_DATA=$MY_DIR/data
MY_LOG=$MY_DIR/mariadb.err
MY_PID=$MY_DIR/mariadbd.pid
MY_OUT=$MY_DIR/stdout.log

my_sock() { printf '%s/mysqld.sock\n' "$(socket_dir mariadb)"; }

my_running() { pid_alive "$MY_PID" "--datadir=$MY_DATA "; }

my_root() {
	mariadb --no-defaults --protocol=socket -S "$(my_sock)" -uroot
}

my_up() {
	local bin sock
	bin=$(mariadbd_bin)
	sock=$(my_sock)
	mkdir -p "$MY_DIR" "$(dirname "$sock")"

	if my_running && port_open "$MYSQL_PORT"; then
		log "mariadb: already running on $HOST:$MYSQL_PORT"
		my_bootstrap
		return 0
	fi
	if ! my_running && port_open "$MYSQL_PORT"; then
		die "mariadb: port $MYSQL_PORT is taken by another process (set CDC_MYSQL_PORT): $(ss -ltnpH "sport = :$MYSQL_PORT" 2>/dev/null || true)"
	fi

	if [[ ! -d $MY_DATA/mysql ]]; then
		log "mariadb: mariadb-install-db in $MY_DATA ($("$bin" --version))"
		rm -rf "$MY_DATA"
		mkdir -p "$MY_DATA"
		local user_args=()
		if is_root; then user_args=(--user=root); fi
		mariadb-install-db --no-defaults --datadir="$MY_DATA" "${user_args[@]}" \
			--auth-root-authentication-method=normal --skip-test-db \
			>"$MY_DIR/install-db.log" 2>&1 ||
			fail_with_log "mariadb: mariadb-install-db failed" "$MY_DIR/install-db.log"
	fi

	local attempt off i
	for attempt in 1 2 3; do
		if ! my_running; then
			log "mariadb: starting on $HOST:$MYSQL_PORT"
			off=$(file_size "$MY_LOG")
			my_spawn "$bin" "$sock"
		fi
		for ((i = 0; i < MYSQL_WAIT * 2; i++)); do
			my_running || break
			if port_open "$MYSQL_PORT" &&
				mariadb-admin --no-defaults --protocol=socket -S "$sock" -uroot --connect-timeout=2 ping >/dev/null 2>&1; then
				break
			fi
			sleep 0.5
		done
		my_running && break
		if ((attempt < 3)) && bind_failed "$MY_LOG" "${off:-0}"; then
			log "mariadb: port $MYSQL_PORT is briefly in use by another socket; retrying"
			sleep 3
			continue
		fi
		if bind_failed "$MY_LOG" "${off:-0}"; then
			fail_with_log "mariadb: could not bind $HOST:$MYSQL_PORT (address in use)" "$MY_LOG"
		fi
		fail_with_log "mariadb: mariadbd exited during startup" "$MY_LOG" "$MY_OUT"
	done
	mariadb-admin --no-defaults --protocol=socket -S "$sock" -uroot --connect-timeout=2 ping >/dev/null 2>&1 ||
		fail_with_log "mariadb: not accepting connections after ${MYSQL_WAIT}s" "$MY_LOG" "$MY_OUT"
	my_bootstrap
	log "mariadb: ready on $HOST:$MYSQL_PORT"
}

my_spawn() {
	local bin=$1 sock=$2 user_args=()
	if is_root; then user_args=(--user=root); fi
	spawn "$MY_PID" "$MY_OUT" "$bin" --no-defaults "${user_args[@]}" \
		--datadir="$MY_DATA" \
		--port="$MYSQL_PORT" --bind-address="$HOST" \
		--socket="$sock" --pid-file="$MY_PID" --log-error="$MY_LOG" \
		--tmpdir="$MY_DIR" \
		--log-bin="$MY_DATA/binlog" --log-bin-index="$MY_DATA/binlog.index" \
		--binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL \
		--server-id=1 --gtid-strict-mode=ON --log-slave-updates=ON \
		--max-binlog-size=64M --binlog-expire-logs-seconds=259200 \
		--skip-name-resolve --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 \
		--innodb-buffer-pool-size=256M --max-connections=300 --max-allowed-packet=64M \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
		--default-time-zone=+00:00
}

my_bootstrap() {
	# sql_log_bin=0: keep this housekeeping out of the binlog (and the GTID sequence) the tests read.
	my_root >/dev/null <<'SQL' || fail_with_log "mariadb: creating user/database cdc failed" "$MY_LOG"
SET SESSION sql_log_bin = 0;
DELETE FROM mysql.global_priv WHERE User = '';
FLUSH PRIVILEGES;
CREATE DATABASE IF NOT EXISTS cdc;
CREATE USER IF NOT EXISTS 'cdc'@'%' IDENTIFIED BY 'cdc';
CREATE USER IF NOT EXISTS 'cdc'@'localhost' IDENTIFIED BY 'cdc';
CREATE USER IF NOT EXISTS 'cdc'@'127.0.0.1' IDENTIFIED BY 'cdc';
ALTER USER 'cdc'@'%' IDENTIFIED BY 'cdc';
ALTER USER 'cdc'@'localhost' IDENTIFIED BY 'cdc';
ALTER USER 'cdc'@'127.0.0.1' IDENTIFIED BY 'cdc';
GRANT ALL PRIVILEGES ON *.* TO 'cdc'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'cdc'@'localhost' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'cdc'@'127.0.0.1' WITH GRANT OPTION;
GRANT REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR, REPLICATION SLAVE ADMIN ON *.* TO 'cdc'@'%', 'cdc'@'localhost', 'cdc'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
	mariadb --no-defaults -h"$HOST" -P"$MYSQL_PORT" -ucdc -pcdc --connect-timeout=5 -e 'select 1' cdc >/dev/null ||
		fail_with_log "mariadb: password login as cdc over TCP failed" "$MY_LOG"
}

my_down() {
	if my_running; then
		# mariadb-admin shutdown is the cleanest; fall back to signals.
		mariadb-admin --no-defaults --protocol=socket -S "$(my_sock)" -uroot --connect-timeout=2 shutdown >/dev/null 2>&1 || true
		local i
		for ((i = 0; i < 100; i++)); do
			my_running || break
			sleep 0.2
		done
		stop_pid "$MY_PID" "--datadir=$MY_DATA " 30 mariadb
		log "mariadb: stopped"
	fi
	rm -f "$MY_PID"
}

my_status() {
	if my_running && port_open "$MYSQL_PORT"; then
		echo "mariadb: running  pid $(read_pid "$MY_PID")  $HOST:$MYSQL_PORT  ($MY_DATA)"
		return 0
	fi
	echo "mariadb: stopped  ($MY_DATA)"
	return 1
}

# ---------------------------------------------------------------------------
# Kafka

K_DIR=$SERVICES_DIR/kafka
K_DATA=$K_DIR/data
K_PID=$K_DIR/kafka.pid
K_LOG=$K_DIR/kafka.log
K_OUT=$K_DIR/stdout.log
K_PROPS=$K_DIR/server.properties
K_LOG4J=$K_DIR/log4j2.properties

kafka_libs() { printf '%s\n' "$CACHE_DIR/kafka-$KAFKA_VERSION"; }

# Resolve the broker (and the kafka-tools CLI classes) plus a log4j2 slf4j binding
# from Maven Central into the cache dir, once.
kafka_fetch() {
	local dest tmp
	dest=$(kafka_libs)
	[[ -f $dest/.complete ]] && return 0
	command -v mvn >/dev/null || die "kafka: mvn not found"
	log "kafka: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION into $dest (Maven)"
	mkdir -p "$CACHE_DIR"
	tmp=$(mktemp -d "$CACHE_DIR/.kafka-fetch.XXXXXX")
	cat >"$tmp/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>cdc.e2e</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$KAFKA_VERSION</version>
      <exclusions>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-api</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
	if ! (cd "$tmp" && mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$tmp/libs" >"$tmp/mvn.log" 2>&1); then
		tail -n 40 "$tmp/mvn.log" >&2 || true
		rm -rf "$tmp"
		die "kafka: Maven could not resolve kafka_2.13:$KAFKA_VERSION"
	fi
	ls "$tmp/libs"/kafka_2.13-*.jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "kafka: kafka_2.13 jar missing after Maven run"; }
	touch "$tmp/libs/.complete"
	rm -rf "$dest"
	mv "$tmp/libs" "$dest"
	rm -rf "$tmp"
	log "kafka: $(find "$dest" -name '*.jar' | wc -l) jars in $dest"
}

kafka_java() {
	java -Dlog4j2.configurationFile="$K_LOG4J" -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true "$@"
}

kafka_write_config() {
	cat >"$K_PROPS" <<EOF
# Written by e2e/services.sh on every 'up'; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$K_DATA
num.network.threads=2
num.io.threads=4
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
log.segment.bytes=134217728
EOF
	cat >"$K_LOG4J" <<EOF
# Written by e2e/services.sh on every 'up'; edits are overwritten.
status = warn
name = cdc-e2e-kafka
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = $K_LOG
appender.file.filePattern = $K_LOG.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.zookeeper.name = org.apache.zookeeper
logger.zookeeper.level = WARN
EOF
}

kafka_running() { pid_alive "$K_PID" "kafka.Kafka $K_PROPS"; }

kafka_up() {
	local libs
	libs=$(kafka_libs)
	mkdir -p "$K_DIR"

	if kafka_running && port_open "$KAFKA_PORT" && grep -q "Kafka Server started" "$K_LOG" 2>/dev/null; then
		log "kafka: already running on $HOST:$KAFKA_PORT"
		return 0
	fi
	if ! kafka_running; then
		local p
		for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
			if port_open "$p"; then
				die "kafka: port $p is taken by another process (set CDC_KAFKA_PORT/CDC_KAFKA_CONTROLLER_PORT): $(ss -ltnpH "sport = :$p" 2>/dev/null || true)"
			fi
		done
		kafka_write_config
		if [[ ! -f $K_DATA/meta.properties ]]; then
			local cid
			if [[ ! -s $K_DIR/cluster.id ]]; then
				kafka_java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>"$K_DIR/format.log" | tail -n1 >"$K_DIR/cluster.id" ||
					fail_with_log "kafka: StorageTool random-uuid failed" "$K_DIR/format.log"
			fi
			cid=$(tr -d '[:space:]' <"$K_DIR/cluster.id")
			[[ -n $cid ]] || fail_with_log "kafka: empty cluster id" "$K_DIR/format.log"
			log "kafka: formatting $K_DATA (cluster id $cid)"
			kafka_java -cp "$libs/*" kafka.tools.StorageTool format --standalone -t "$cid" -c "$K_PROPS" --ignore-formatted \
				>>"$K_DIR/format.log" 2>&1 ||
				fail_with_log "kafka: StorageTool format failed" "$K_DIR/format.log"
		fi
	fi

	local attempt i
	for attempt in 1 2 3; do
		if ! kafka_running; then
			kafka_spawn
		fi
		for ((i = 0; i < KAFKA_WAIT * 2; i++)); do
			kafka_running || break
			if port_open "$KAFKA_PORT" && grep -q "Kafka Server started" "$K_LOG" 2>/dev/null; then
				log "kafka: ready on $HOST:$KAFKA_PORT"
				return 0
			fi
			sleep 0.5
		done
		if kafka_running; then
			fail_with_log "kafka: broker not ready after ${KAFKA_WAIT}s" "$K_LOG" "$K_OUT"
		fi
		if ((attempt < 3)) && { bind_failed "$K_LOG" 0 || bind_failed "$K_OUT" 0; }; then
			log "kafka: a port is briefly in use by another socket; retrying"
			sleep 3
			continue
		fi
		if bind_failed "$K_LOG" 0 || bind_failed "$K_OUT" 0; then
			fail_with_log "kafka: could not bind $HOST:$KAFKA_PORT or :$KAFKA_CONTROLLER_PORT (address in use)" "$K_LOG" "$K_OUT"
		fi
		fail_with_log "kafka: broker exited during startup" "$K_LOG" "$K_OUT"
	done
}

kafka_spawn() {
	local libs
	libs=$(kafka_libs)
	# Fresh log per start (keep the previous one) so the readiness check reads only this run.
	if [[ -f $K_LOG ]]; then mv -f "$K_LOG" "$K_DIR/kafka.prev.log"; fi
	rm -f "$K_LOG".[0-9]*
	if [[ -f $K_OUT ]]; then mv -f "$K_OUT" "$K_DIR/stdout.prev.log"; fi
	log "kafka: starting $KAFKA_VERSION on $HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
	# shellcheck disable=SC2086
	spawn "$K_PID" "$K_OUT" java $KAFKA_HEAP -Xms256m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
		-XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true \
		-Dlog4j2.configurationFile="$K_LOG4J" -Dkafka.logs.dir="$K_DIR" \
		-cp "$libs/*" kafka.Kafka "$K_PROPS"
}

kafka_down() {
	stop_pid "$K_PID" "kafka.Kafka $K_PROPS" 60 kafka
}

kafka_status() {
	if kafka_running && port_open "$KAFKA_PORT"; then
		echo "kafka:   running  pid $(read_pid "$K_PID")  $HOST:$KAFKA_PORT  ($K_DATA, jars $(kafka_libs))"
		return 0
	fi
	echo "kafka:   stopped  ($K_DATA)"
	return 1
}

# ---------------------------------------------------------------------------
# commands

services_from_args() {
	if (($# == 0)); then
		printf '%s\n' "${ALL_SERVICES[@]}"
		return
	fi
	local s
	for s in "$@"; do
		case $s in
		pg | postgres | postgresql) echo pg ;;
		mariadb | mysql) echo mariadb ;;
		kafka) echo kafka ;;
		*) die "unknown service '$s' (pg, mariadb, kafka)" ;;
		esac
	done
}

# Serialises concurrent up/down/reset runs. Daemons are started with fd 9 closed so
# they do not keep holding the lock.
lock() {
	mkdir -p "$SERVICES_DIR"
	exec 9>"$SERVICES_DIR/.lock"
	if ! flock -w 600 9; then die "another services.sh holds $SERVICES_DIR/.lock"; fi
}

cmd_up() {
	local svcs s
	mapfile -t svcs < <(services_from_args "$@")
	lock
	reserve_ports
	install_missing "${svcs[@]}"
	for s in "${svcs[@]}"; do
		case $s in
		pg) pg_up ;;
		mariadb) my_up ;;
		kafka) kafka_up ;;
		esac
	done
}

cmd_down() {
	local svcs s
	mapfile -t svcs < <(services_from_args "$@")
	lock
	for s in "${svcs[@]}"; do
		case $s in
		pg) pg_down ;;
		mariadb) my_down ;;
		kafka) kafka_down ;;
		esac
	done
}

cmd_reset() {
	local svcs s sd
	mapfile -t svcs < <(services_from_args "$@")
	cmd_down "${svcs[@]}"
	for s in "${svcs[@]}"; do
		[[ -n $SERVICES_DIR && -n $s ]] || die "refusing to wipe"
		log "$s: wiping $SERVICES_DIR/$s"
		rm -rf "${SERVICES_DIR:?}/$s"
		sd=$(socket_dir "$s")
		rm -rf "$sd"
		rmdir "$(dirname "$sd")" 2>/dev/null || true
	done
}

cmd_status() {
	local svcs s rc=0
	mapfile -t svcs < <(services_from_args "$@")
	for s in "${svcs[@]}"; do
		case $s in
		pg) pg_status || rc=1 ;;
		mariadb) my_status || rc=1 ;;
		kafka) kafka_status || rc=1 ;;
		esac
	done
	return $rc
}

cmd_env() {
	cat <<EOF
export CDC_SERVICES_DIR='$SERVICES_DIR'
export CDC_PG_HOST='$HOST'
export CDC_PG_PORT='$PG_PORT'
export CDC_PG_DSN='postgres://cdc:cdc@$HOST:$PG_PORT/cdc'
export CDC_MYSQL_HOST='$HOST'
export CDC_MYSQL_PORT='$MYSQL_PORT'
export CDC_MYSQL_DSN='cdc:cdc@tcp($HOST:$MYSQL_PORT)/cdc'
export CDC_KAFKA_BROKERS='$HOST:$KAFKA_PORT'
export CDC_KAFKA_LIBS='$(kafka_libs)'
EOF
}

usage() {
	sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main() {
	local cmd=${1:-}
	if (($#)); then shift; fi
	case $cmd in
	up) cmd_up "$@" ;;
	down | stop) cmd_down "$@" ;;
	reset) cmd_reset "$@" ;;
	status) cmd_status "$@" ;;
	env) cmd_env ;;
	-h | --help | help) usage ;;
	*)
		usage >&2
		exit 2
		;;
	esac
}

main "$@"
