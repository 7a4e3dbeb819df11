#!/usr/bin/env bash
# A real Keystone (v3) in front of a second Swift proxy, for the Swift artifact store's Keystone
# suites (test/openstack/): Debian's python3-keystone (SQLite backend, fernet tokens) served by
# Debian's uWSGI (python3 plugin) on a free 127.0.0.1 port, bootstrapped with keystone-manage
# (one process, one thread: SQLite takes one writer) (db_sync, fernet/credential keys, bootstrap: admin user and project, roles, RegionOne, identity
# endpoints) and test/tools/keystone/register.py (a project, a user with `member` on it, and
# Swift as the object-store service), all before the server starts; and a second Swift proxy on the rings of the all-in-one
# of test/tools/start-swift.sh (SWIFT_DIR, which it prints) with keystonemiddleware's authtoken
# (Debian's python3-keystonemiddleware) and Swift's keystoneauth in its pipeline (plus tempurl,
# copy and slo, as the TempAuth proxy). Packages are installed when missing.
#
#   eval "$(bash test/tools/start-swift.sh /tmp/cds-swift)"
#   eval "$(bash test/tools/start-keystone.sh /tmp/cds-keystone)"
#   kill $(cat /tmp/cds-keystone/pids)
#
# Prints `export KEYSTONE_URL=http://127.0.0.1:PORT/v3`, `export SWIFT_KEYSTONE_URL=…` (the
# Keystone proxy), KEYSTONE_USER, KEYSTONE_PASSWORD, KEYSTONE_PROJECT and KEYSTONE_REGION on
# stdout; all else on stderr.
set -euo pipefail
DIR=${1:?usage: start-keystone.sh DIR}
SWIFT_DIR=${SWIFT_DIR:?start test/tools/start-swift.sh first and export its SWIFT_DIR}
exec 3>&1 1>&2
TOOLS=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
started=$(date +%s)

if ! "$PY" -c 'import keystone.server.wsgi, keystonemiddleware.auth_token' 2>/dev/null ||
	[ ! -x /usr/bin/keystone-manage ] || [ ! -x /usr/bin/uwsgi-core ] ||
	[ ! -f /usr/lib/uwsgi/plugins/python3_plugin.so ]; then
	echo "installing python3-keystone python3-keystonemiddleware uwsgi-core uwsgi-plugin-python3 (Debian)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		python3-keystone python3-keystonemiddleware uwsgi-core uwsgi-plugin-python3 >/dev/null
	echo "installed in $(($(date +%s) - started)) s"
fi

if [ -f "$DIR/pids" ]; then kill $(cat "$DIR/pids") 2>/dev/null || true; sleep 1; fi
rm -rf "$DIR"
mkdir -p "$DIR/log" "$DIR/fernet-keys" "$DIR/credential-keys"
chmod 700 "$DIR"

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
secret() { "$PY" -c 'import secrets; print(secrets.token_hex(16))'; }
KEYSTONE_PORT=$(free_port)
PROXY_PORT=$(free_port)
ADMIN_PASSWORD=$(secret)
USER_PASSWORD=$(secret)
REGION=RegionOne
ME=$(id -un)
GROUP=$(id -gn)
KEYSTONE=http://127.0.0.1:$KEYSTONE_PORT

(umask 077 && cat >"$DIR/keystone.conf" <<-EOC
	[DEFAULT]
	use_stderr = true
	[database]
	connection = sqlite:///$DIR/keystone.db
	[token]
	provider = fernet
	[fernet_tokens]
	key_repository = $DIR/fernet-keys
	[fernet_receipts]
	key_repository = $DIR/fernet-keys
	[credential]
	key_repository = $DIR/credential-keys
	[cache]
	enabled = false
EOC
)
manage() { keystone-manage --config-file "$DIR/keystone.conf" "$@" >>"$DIR/log/manage.log" 2>&1 || { tail -20 "$DIR/log/manage.log"; exit 1; }; }
manage db_sync
manage fernet_setup --keystone-user "$ME" --keystone-group "$GROUP"
manage credential_setup --keystone-user "$ME" --keystone-group "$GROUP"
manage bootstrap --bootstrap-password "$ADMIN_PASSWORD" --bootstrap-region-id "$REGION" \
	--bootstrap-admin-url "$KEYSTONE/v3" --bootstrap-internal-url "$KEYSTONE/v3" --bootstrap-public-url "$KEYSTONE/v3"
"$PY" "$TOOLS/keystone/register.py" "$DIR/keystone.conf" cds cds-tester "$USER_PASSWORD" "$REGION" \
	"http://127.0.0.1:$PROXY_PORT" >"$DIR/project-id" 2>>"$DIR/log/manage.log" || { tail -20 "$DIR/log/manage.log"; exit 1; }

: >"$DIR/pids"
OS_KEYSTONE_CONFIG_FILES="$DIR/keystone.conf" nohup uwsgi-core --plugin python3 --http-socket "127.0.0.1:$KEYSTONE_PORT" \
	--wsgi-file /usr/bin/keystone-wsgi-public --processes 1 --master --lazy-apps --die-on-term \
	--need-app --disable-logging >"$DIR/log/keystone.log" 2>&1 3>&- &
echo $! >>"$DIR/pids"
ok=""
for _ in $(seq 1 150); do
	if curl -fsS -o /dev/null "$KEYSTONE/v3" 2>/dev/null; then ok=1 && break; fi
	sleep 0.2
done
if [ -z "$ok" ]; then
	echo "keystone did not start:"
	tail -30 "$DIR/log/keystone.log" || true
	exit 1
fi

# The second proxy: Swift's rings and hash prefix/suffix, its memcached, Keystone's auth.
MEMCACHE=$(sed -n 's/^memcache_servers = //p' "$SWIFT_DIR/proxy-server.conf")
(umask 077 && cat >"$DIR/proxy-server.conf" <<-EOC
	[DEFAULT]
	bind_ip = 127.0.0.1
	bind_port = $PROXY_PORT
	workers = 0
	user = $ME
	swift_dir = $SWIFT_DIR
	log_level = WARNING
	log_address = $DIR/nolog

	[pipeline:main]
	pipeline = catch_errors gatekeeper healthcheck proxy-logging cache tempurl authtoken keystoneauth copy slo dlo proxy-logging proxy-server

	[app:proxy-server]
	use = egg:swift#proxy
	account_autocreate = true

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
	memcache_servers = $MEMCACHE

	[filter:tempurl]
	use = egg:swift#tempurl

	[filter:authtoken]
	paste.filter_factory = keystonemiddleware.auth_token:filter_factory
	www_authenticate_uri = $KEYSTONE
	auth_url = $KEYSTONE
	auth_type = password
	username = admin
	password = $ADMIN_PASSWORD
	project_name = admin
	user_domain_id = default
	project_domain_id = default
	delay_auth_decision = True
	memcached_servers = $MEMCACHE
	service_token_roles_required = False

	[filter:keystoneauth]
	use = egg:swift#keystoneauth
	operator_roles = admin, member

	[filter:copy]
	use = egg:swift#copy

	[filter:slo]
	use = egg:swift#slo

	[filter:dlo]
	use = egg:swift#dlo
EOC
)
nohup "$PY" "$TOOLS/swift/serve.py" proxy-server "$DIR/proxy-server.conf" >"$DIR/log/proxy.log" 2>&1 3>&- &
echo $! >>"$DIR/pids"

# Ready when the user's token opens its account through the Keystone proxy.
ok=""
for _ in $(seq 1 150); do
	if token=$(curl -fsS -o /dev/null -D - -H 'Content-Type: application/json' -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"cds-tester\",\"domain\":{\"id\":\"default\"},\"password\":\"$USER_PASSWORD\"}}},\"scope\":{\"project\":{\"name\":\"cds\",\"domain\":{\"id\":\"default\"}}}}}" \
		"$KEYSTONE/v3/auth/tokens" 2>/dev/null | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p') &&
		[ -n "$token" ] &&
		curl -fsS -o /dev/null -X HEAD -H "X-Auth-Token: $token" "http://127.0.0.1:$PROXY_PORT/v1/AUTH_$(cat "$DIR/project-id")" 2>/dev/null; then
		ok=1 && break
	fi
	sleep 0.2
done
if [ -z "$ok" ]; then
	echo "the Keystone proxy did not start:"
	tail -20 "$DIR"/log/*.log || true
	exit 1
fi
echo "keystone $("$PY" -c 'import pbr.version; print(pbr.version.VersionInfo("keystone").version_string())' 2>/dev/null || echo '?') on $KEYSTONE, Swift proxy with authtoken+keystoneauth on 127.0.0.1:$PROXY_PORT, in $(($(date +%s) - started)) s; logs in $DIR/log"
echo "export KEYSTONE_URL=$KEYSTONE/v3" >&3
echo "export SWIFT_KEYSTONE_URL=http://127.0.0.1:$PROXY_PORT" >&3
echo "export KEYSTONE_USER=cds-tester" >&3
echo "export KEYSTONE_PASSWORD=$USER_PASSWORD" >&3
echo "export KEYSTONE_PROJECT=cds" >&3
echo "export KEYSTONE_REGION=$REGION" >&3
