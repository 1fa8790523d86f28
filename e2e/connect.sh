#!/usr/bin/env bash
# Resolves and runs Apache Kafka Connect (standalone) with Debezium's Postgres and
# MariaDB source connectors and Debezium's JDBC sink (which carries the PostgreSQL
# JDBC driver), all from Maven Central.
# Nothing is fetched until you ask (fetch, or run on an empty cache). See e2e/README.md.
#
#   e2e/connect.sh fetch                          resolve the jars into the cache (idempotent)
#   e2e/connect.sh path                           print the cache dir (exit 1 if not fetched)
#   e2e/connect.sh versions                       print the resolved versions (exit 1 if not fetched)
#   e2e/connect.sh run WORKDIR [A.properties ...] run Connect standalone in the foreground
#                                                 (connectors from the files, or later via REST)
set -euo pipefail

CACHE_DIR=${CDC_CACHE_DIR:-${HOME:-/root}/.cache/cdc}

CONNECT_VERSION=${CDC_CONNECT_VERSION:-4.1.1}
DEBEZIUM_VERSION=${CDC_DEBEZIUM_VERSION:-3.6.1.Final}
# Tried, in order, for a Debezium artifact that DEBEZIUM_VERSION does not resolve for.
DEBEZIUM_FALLBACK=${CDC_DEBEZIUM_FALLBACK:-3.5.0.Final}
LOG4J_VERSION=${CDC_LOG4J_VERSION:-2.24.3}
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

CONNECT_HEAP=${CDC_CONNECT_HEAP:--Xms128m -Xmx768m}
CONNECT_SCHEMAS=${CDC_CONNECT_SCHEMAS:-true}
CONNECT_LOG_LEVEL=${CDC_CONNECT_LOG_LEVEL:-INFO}
HOST=127.0.0.1

log() { printf '[connect] %s\n' "$*" >&2; }
die() { printf '[connect] ERROR: %s\n' "$*" >&2; exit 1; }

connect_home() { printf '%s\n' "$CACHE_DIR/connect-$CONNECT_VERSION-debezium-$DEBEZIUM_VERSION"; }

# pom FILE ARTIFACT_ID DEPENDENCY_XML...: a pom-packaged project that only declares dependencies.
pom() {
	local file=$1 id=$2
	shift 2
	{
		cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>cdc.e2e</groupId>
  <artifactId>$id</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
EOF
		printf '%s\n' "$@"
		cat <<EOF
  </dependencies>
</project>
EOF
	} >"$file"
}

# dep GROUP ARTIFACT VERSION [EXCLUSION_XML]: one <dependency> element.
dep() {
	printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version>%s</dependency>' \
		"$1" "$2" "$3" "${4:-}"
}

# copy_deps WORKDIR OUTDIR POM_ARGS...: write a pom and copy its runtime dependencies into OUTDIR.
# Returns non-zero (with Maven's log in WORKDIR/mvn.log) when something does not resolve.
copy_deps() {
	local work=$1 out=$2
	shift 2
	rm -rf "$work"
	mkdir -p "$work"
	pom "$work/pom.xml" "$@"
	(cd "$work" && mvn -B -q "$DEP_PLUGIN:copy-dependencies" -DincludeScope=runtime \
		-DoutputDirectory="$out" >"$work/mvn.log" 2>&1)
}

# fetch_plugin TMP ARTIFACT: resolve Debezium's own plugin archive for io.debezium:ARTIFACT
# (classifier "plugin", a tar.gz on Maven Central) and unpack it into TMP/plugins/ARTIFACT,
# so Connect loads it with its own class loader. Tries DEBEZIUM_VERSION, then
# DEBEZIUM_FALLBACK, and records the version that resolved.
#
# Why the archive and not the connector's pom tree: Debezium's assembly leaves out Jackson,
# which the Connect worker provides; a plugin directory rebuilt from the pom carries its own
# jackson-databind, and the JDBC sink's Hibernate then fails at start with
# "com.fasterxml.jackson.databind.Module: ...Jdk8Module not a subtype" (the worker's Jackson
# modules, found through the service loader, implement the worker's Module class).
fetch_plugin() {
	local tmp=$1 artifact=$2 v archive
	for v in "$DEBEZIUM_VERSION" $DEBEZIUM_FALLBACK; do
		rm -rf "$tmp/archives/$artifact"
		if copy_deps "$tmp/mvn-$artifact" "$tmp/archives/$artifact" "plugin-$artifact" \
			"$(dep io.debezium "$artifact" "$v" '<classifier>plugin</classifier><type>tar.gz</type><exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions>')"; then
			archive=$tmp/archives/$artifact/$artifact-$v-plugin.tar.gz
			[[ -f $archive ]] || die "$artifact: $archive missing after the Maven run"
			tar -xzf "$archive" -C "$tmp/plugins" || die "$artifact: unpacking $archive failed"
			[[ -f $tmp/plugins/$artifact/$artifact-$v.jar ]] || die "$artifact: $archive has no $artifact/$artifact-$v.jar"
			if [[ $v != "$DEBEZIUM_VERSION" ]]; then
				log "io.debezium:$artifact:$DEBEZIUM_VERSION does not resolve; using $v"
			fi
			printf 'io.debezium:%s=%s\n' "$artifact" "$v" >>"$tmp/versions"
			return 0
		fi
		log "io.debezium:$artifact:$v (plugin archive) did not resolve: $(grep -m1 -E 'ERROR|Could not' "$tmp/mvn-$artifact/mvn.log" | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-200)"
	done
	die "could not resolve io.debezium:$artifact (tried $DEBEZIUM_VERSION $DEBEZIUM_FALLBACK); Maven log: $tmp/mvn-$artifact/mvn.log"
}

cmd_fetch() {
	local home tmp start
	home=$(connect_home)
	if [[ -f $home/.complete ]]; then return 0; fi
	command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
	start=$(date +%s)
	mkdir -p "$CACHE_DIR"
	exec 9>"$CACHE_DIR/.connect-fetch.lock"
	flock -w 1200 9 || die "another connect.sh fetch holds $CACHE_DIR/.connect-fetch.lock"
	if [[ -f $home/.complete ]]; then return 0; fi
	log "resolving Kafka Connect $CONNECT_VERSION and Debezium $DEBEZIUM_VERSION into $home (Maven)"
	tmp=$(mktemp -d "$CACHE_DIR/.connect-fetch.XXXXXX")
	: >"$tmp/versions"

	# The worker: runtime, JSON converter, file offset store, log4j2 behind slf4j 1.7.
	copy_deps "$tmp/mvn-lib" "$tmp/lib" connect-worker \
		"$(dep org.apache.kafka connect-runtime "$CONNECT_VERSION")" \
		"$(dep org.apache.kafka connect-json "$CONNECT_VERSION")" \
		"$(dep org.apache.logging.log4j log4j-slf4j-impl "$LOG4J_VERSION")" \
		"$(dep org.apache.logging.log4j log4j-core "$LOG4J_VERSION")" \
		"$(dep org.apache.logging.log4j log4j-api "$LOG4J_VERSION")" ||
		{ tail -n 40 "$tmp/mvn-lib/mvn.log" >&2; die "could not resolve org.apache.kafka:connect-runtime:$CONNECT_VERSION"; }
	ls "$tmp/lib"/connect-runtime-*.jar >/dev/null 2>&1 || die "connect-runtime jar missing after the Maven run ($tmp)"
	printf 'org.apache.kafka:connect-runtime=%s\n' "$CONNECT_VERSION" >>"$tmp/versions"

	mkdir -p "$tmp/plugins"
	fetch_plugin "$tmp" debezium-connector-postgres
	fetch_plugin "$tmp" debezium-connector-mariadb
	fetch_plugin "$tmp" debezium-connector-jdbc
	local pg
	pg=$(find "$tmp/plugins/debezium-connector-jdbc" -name 'postgresql-*.jar' -printf '%f\n' | sed 's/^postgresql-//; s/\.jar$//' | head -n1)
	[[ -n $pg ]] || die "the JDBC sink plugin carries no PostgreSQL driver"
	printf 'org.postgresql:postgresql (in the JDBC sink plugin)=%s\n' "$pg" >>"$tmp/versions"

	rm -rf "$tmp"/mvn-* "$tmp/archives"
	touch "$tmp/.complete"
	rm -rf "$home"
	mv "$tmp" "$home"
	log "resolved in $(($(date +%s) - start))s: $(find "$home" -name '*.jar' | wc -l) jars, $(du -sh "$home" | cut -f1) in $home"
	sed 's/^/[connect]   /' "$home/versions" >&2
}

cmd_path() {
	local home
	home=$(connect_home)
	[[ -f $home/.complete ]] || die "not fetched yet: run e2e/connect.sh fetch"
	printf '%s\n' "$home"
}

cmd_versions() {
	cat "$(cmd_path)/versions"
}

# java_bin: CDC_CONNECT_JAVA, else $JAVA_HOME/bin/java, else java on PATH; it must be 17+.
java_bin() {
	local j=${CDC_CONNECT_JAVA:-}
	if [[ -z $j && -n ${JAVA_HOME:-} ]]; then j=$JAVA_HOME/bin/java; fi
	if [[ -z $j ]]; then j=$(command -v java || true); fi
	[[ -n $j && -x $j ]] || die "java not found (set CDC_CONNECT_JAVA or JAVA_HOME; Kafka Connect needs Java 17+)"
	local major
	major=$("$j" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
	[[ ${major%%.*} -ge 17 ]] 2>/dev/null || die "$j is Java $major; Kafka Connect $CONNECT_VERSION needs 17+"
	printf '%s\n' "$j"
}

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

# free_port: a port below Linux's ephemeral range that nothing listens on.
free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 12000))
		port_open "$p" || { printf '%s\n' "$p"; return 0; }
	done
	die "no free port found for the REST listener (set CDC_CONNECT_REST_PORT)"
}

cmd_run() {
	(($# >= 1)) || die "usage: e2e/connect.sh run WORKDIR [connector.properties ...]"
	local work=$1 home java port f
	shift
	# shellcheck disable=SC2016 # a command for the user to run, not to expand
	[[ -n ${CDC_KAFKA_BROKERS:-} ]] || die 'CDC_KAFKA_BROKERS is not set; run: eval "$(e2e/services.sh env)"'
	for f in "$@"; do [[ -f $f ]] || die "connector config $f not found"; done
	cmd_fetch
	exec 9>&- # the fetch lock, if fetch took it: the JVM must not hold it
	home=$(cmd_path)
	java=$(java_bin)
	mkdir -p "$work"
	work=$(cd "$work" && pwd)
	port=${CDC_CONNECT_REST_PORT:-$(free_port)}

	cat >"$work/worker.properties" <<EOF
# Written by e2e/connect.sh run; edits are overwritten.
bootstrap.servers=$CDC_KAFKA_BROKERS
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=$CONNECT_SCHEMAS
value.converter.schemas.enable=$CONNECT_SCHEMAS
offset.storage.file.filename=$work/connect.offsets
offset.flush.interval.ms=${CDC_CONNECT_OFFSET_FLUSH_MS:-1000}
plugin.path=$home/plugins
# Every plugin here has ServiceLoader manifests; the reflective scan costs ~20 s.
plugin.discovery=${CDC_CONNECT_PLUGIN_DISCOVERY:-service_load}
listeners=http://$HOST:$port
rest.advertised.host.name=$HOST
rest.advertised.port=$port
EOF
	if [[ -n ${CDC_CONNECT_WORKER_EXTRA:-} ]]; then
		printf '%s\n' "$CDC_CONNECT_WORKER_EXTRA" >>"$work/worker.properties"
	fi
	cat >"$work/log4j2.properties" <<EOF
# Written by e2e/connect.sh run; edits are overwritten.
status = warn
name = cdc-e2e-connect
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $work/connect.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %X{connector.context}%m (%c)%n
rootLogger.level = $CONNECT_LOG_LEVEL
rootLogger.appenderRef.file.ref = FILE
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
EOF
	printf 'http://%s:%s\n' "$HOST" "$port" >"$work/rest.url"
	log "Kafka Connect $CONNECT_VERSION on http://$HOST:$port (log $work/connect.log)"
	# exec: the caller's signals reach the JVM directly.
	# shellcheck disable=SC2086
	exec "$java" $CONNECT_HEAP ${CDC_CONNECT_JVM_OPTS:-} -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
		-Djava.net.preferIPv4Stack=true -Dlog4j2.configurationFile="$work/log4j2.properties" \
		-cp "$home/lib/*" org.apache.kafka.connect.cli.ConnectStandalone "$work/worker.properties" "$@"
}

usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

main() {
	local cmd=${1:-}
	if (($#)); then shift; fi
	case $cmd in
	fetch) cmd_fetch ;;
	path) cmd_path ;;
	versions) cmd_versions ;;
	run) cmd_run "$@" ;;
	-h | --help | help) usage ;;
	*)
		usage >&2
		exit 2
		;;
	esac
}

main "$@"
