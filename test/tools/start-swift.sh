#!/usr/bin/env bash
# A single-node Swift all-in-one for the OpenStack hook suite (test/brokers/openstack.test.ts) and
# the Swift storage of issue #16, as .ci/run starts it: Debian's swift-proxy, swift-account,
# swift-container and swift-object (installed when missing, with memcached for TempAuth's tokens),
# rings built with swift-ring-builder (one replica, one device on a plain directory under DIR,
# mount_check = false), the four servers and memcached on 127.0.0.1 free ports, all as the current
# user, configs under DIR with a generated hash path prefix/suffix (test/tools/swift/serve.py makes
# the servers read DIR/swift.conf instead of /etc/swift/swift.conf). The proxy pipeline has TempAuth
# (one user, generated key), tempurl, copy and slo (the artifact store's segmented blobs).
#
# With SWIFT_NOTIFY_TRANSPORT_URL (rabbit://… or amqp://…, converted) the proxy also runs PyPI's
# ceilometermiddleware (`filter:ceilometer`), publishing an oslo.messaging notification per request
# on the `swift` exchange: the proxy then runs from a venv over Debian's python3
# (--system-site-packages, so Debian's swift is importable) holding ceilometermiddleware and
# oslo.messaging, built once under ${CDS_CI_CACHE:-~/.cache/cds-ts}.
#
#   eval "$(bash test/tools/start-swift.sh /tmp/cds-swift)"
#   kill $(cat /tmp/cds-swift/pids)
#
# Prints `export SWIFT_URL=http://127.0.0.1:PORT` (TempAuth at $SWIFT_URL/auth/v1.0),
# `export SWIFT_USER=test:tester`, `export SWIFT_KEY=…` and `export SWIFT_DIR=DIR` (for
# test/tools/start-keystone.sh) on stdout; all else on stderr.
set -euo pipefail
DIR=${1:?usage: start-swift.sh DIR}
exec 3>&1 1>&2
TOOLS=$(cd "$(dirname "$0")" && pwd)
CACHE=${CDS_CI_CACHE:-$HOME/.cache/cds-ts}
# Pinned as in test/helpers/openstack-python.ts (the suite's other senders).
CEILOMETER_REQUIREMENTS=(oslo.messaging==18.3.1 ceilometermiddleware==3.13.0)
# Debian's swift is a python3 package of the system interpreter, whatever python3 PATH finds first.
PY=/usr/bin/python3

if [ ! -x /usr/bin/swift-proxy-server ] || [ ! -x /usr/bin/swift-object-server ] ||
	[ ! -x /usr/bin/swift-container-server ] || [ ! -x /usr/bin/swift-account-server ] ||
	! command -v memcached >/dev/null 2>&1; then
	echo "installing swift-proxy swift-account swift-container swift-object memcached (Debian)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		swift-proxy swift-account swift-container swift-object memcached >/dev/null
fi

NOTIFY=${SWIFT_NOTIFY_TRANSPORT_URL:-}
if [ -n "$NOTIFY" ]; then
	NOTIFY=$(printf '%s' "$NOTIFY" | sed -E 's#^amqps?://#rabbit://#')
	tag=$(echo "${CEILOMETER_REQUIREMENTS[*]}" | sed 's/==/-/g; s/ /_/g')
	VENV="$CACHE/swift-proxy-venv-$tag"
	# Built in place (a venv cannot move) and marked complete last: a half-built one is redone.
	if [ ! -f "$VENV/.complete" ]; then
		if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
			apt-get update -qq
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
		fi
		echo "building $VENV (ceilometermiddleware for Debian's swift-proxy)"
		rm -rf "$VENV"
		mkdir -p "$CACHE"
		"$PY" -m venv --system-site-packages "$VENV"
		"$VENV/bin/pip" install -q --disable-pip-version-check --no-input "${CEILOMETER_REQUIREMENTS[@]}"
		touch "$VENV/.complete"
	fi
	PROXY_PY="$VENV/bin/python"
else
	PROXY_PY=$PY
fi

if [ -f "$DIR/pids" ]; then kill $(cat "$DIR/pids") 2>/dev/null || true; sleep 1; fi
rm -rf "$DIR"
mkdir -p "$DIR/srv/d1" "$DIR/run" "$DIR/log"
chmod 700 "$DIR"

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
secret() { "$PY" -c 'import secrets; print(secrets.token_hex(16))'; }

MEMCACHED_PORT=$(free_port)
ACCOUNT_PORT=$(free_port)
CONTAINER_PORT=$(free_port)
OBJECT_PORT=$(free_port)
PROXY_PORT=$(free_port)
KEY=$(secret)
ME=$(id -un)

(umask 077 && cat >"$DIR/swift.conf" <<-EOC
	[swift-hash]
	swift_hash_path_prefix = $(secret)
	swift_hash_path_suffix = $(secret)

	[storage-policy:0]
	name = Policy-0
	default = yes
EOC
)

# Swift logs to syslog; with no socket at log_address it falls back to UDP syslog on localhost,
# where nobody listens: warnings only, and the servers' stderr goes to DIR/log.
common() {
	cat <<-EOC
		[DEFAULT]
		bind_ip = 127.0.0.1
		bind_port = $1
		workers = 0
		user = $ME
		swift_dir = $DIR
		devices = $DIR/srv
		mount_check = false
		log_level = WARNING
		log_address = $DIR/run/nolog
	EOC
}
for s in account container object; do
	port_var="${s^^}_PORT"
	{
		common "${!port_var}"
		cat <<-EOC

			[pipeline:main]
			pipeline = $s-server

			[app:$s-server]
			use = egg:swift#$s
		EOC
		[ "$s" = container ] && printf '\n[container-sync]\n'
		[ "$s" = object ] && printf '\n[object-replicator]\n'
		true
	} >"$DIR/$s-server.conf"
done
# Partition power 6 (64 partitions), one replica, one device per ring, with swift-ring-builder's
# commands run in one Python process (test/tools/swift/rings.py).
"$PY" "$TOOLS/swift/rings.py" "$DIR" "$ACCOUNT_PORT" "$CONTAINER_PORT" "$OBJECT_PORT" >"$DIR/log/rings.log" 2>&1 ||
	{ cat "$DIR/log/rings.log"; exit 1; }

CEILOMETER=""
if [ -n "$NOTIFY" ]; then CEILOMETER="ceilometer "; fi
(umask 077 && {
	common "$PROXY_PORT"
	cat <<-EOC

		[pipeline:main]
		pipeline = catch_errors gatekeeper healthcheck proxy-logging cache tempurl tempauth ${CEILOMETER}copy slo dlo proxy-logging proxy-server

		[app:proxy-server]
		use = egg:swift#proxy
		account_autocreate = true
		allow_account_management = true

		[filter:catch_errors]
		use = egg:swift#catch_errors

		[filter:gatekeeper]
		use = egg:swift#gatekeeper

		[filter:healthcheck]
		use = egg:swift#healthcheck

		[filter:proxy-logging]
		use = egg:swift#proxy_logging

		[filter:cache]
		use = egg:swift#memcache
		memcache_servers = 127.0.0.1:$MEMCACHED_PORT

		[filter:tempurl]
		use = egg:swift#tempurl

		[filter:tempauth]
		use = egg:swift#tempauth
		user_test_tester = $KEY .admin

		[filter:copy]
		use = egg:swift#copy

		[filter:slo]
		use = egg:swift#slo

		[filter:dlo]
		use = egg:swift#dlo
	EOC
	if [ -n "$NOTIFY" ]; then
		cat <<-EOC

			[filter:ceilometer]
			paste.filter_factory = ceilometermiddleware.swift:filter_factory
			url = $NOTIFY
			driver = messagingv2
			topic = notifications
			control_exchange = swift
			reseller_prefix = AUTH_
			swift_conf_file = $DIR/swift.conf
			log_level = WARNING
		EOC
	fi
} >"$DIR/proxy-server.conf")

: >"$DIR/pids"
nohup memcached -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 16 -u "$ME" >"$DIR/log/memcached.log" 2>&1 3>&- &
echo $! >>"$DIR/pids"
for s in account container object; do
	nohup "$PY" "$TOOLS/swift/serve.py" "$s-server" "$DIR/$s-server.conf" >"$DIR/log/$s.log" 2>&1 3>&- &
	echo $! >>"$DIR/pids"
done
nohup "$PROXY_PY" "$TOOLS/swift/serve.py" proxy-server "$DIR/proxy-server.conf" >"$DIR/log/proxy.log" 2>&1 3>&- &
echo $! >>"$DIR/pids"

# Ready when the proxy hands out a token and the account answers through the whole chain.
ok=""
for _ in $(seq 1 150); do
	if token=$(curl -fsS -o /dev/null -D - -H "X-Auth-User: test:tester" -H "X-Auth-Key: $KEY" \
		"http://127.0.0.1:$PROXY_PORT/auth/v1.0" 2>/dev/null | tr -d '\r' | sed -n 's/^[Xx]-[Aa]uth-[Tt]oken: //p') &&
		[ -n "$token" ] &&
		curl -fsS -o /dev/null -X HEAD -H "X-Auth-Token: $token" "http://127.0.0.1:$PROXY_PORT/v1/AUTH_test" 2>/dev/null; then
		ok=1 && break
	fi
	sleep 0.2
done
if [ -z "$ok" ]; then
	echo "swift did not start:"
	tail -20 "$DIR"/log/*.log || true
	exit 1
fi
echo "swift $("$PY" -c 'import swift; print(swift.__version__)') all-in-one: proxy on 127.0.0.1:$PROXY_PORT${NOTIFY:+ (ceilometermiddleware → swift exchange)}, logs in $DIR/log"
echo "export SWIFT_URL=http://127.0.0.1:$PROXY_PORT" >&3
echo "export SWIFT_USER=test:tester" >&3
echo "export SWIFT_KEY=$KEY" >&3
# For test/tools/start-keystone.sh, whose second proxy serves the same rings.
echo "export SWIFT_DIR=$DIR" >&3
