#!/usr/bin/env bash
# A RabbitMQ node for the hook sources' suites (test/brokers) and benchmarks, as .ci/run starts it:
# Debian's rabbitmq-server (installed when missing), run as its own node under DIR — its own
# Erlang cookie (HOME=DIR/home), its own epmd on a free port, AMQP and distribution bound to
# 127.0.0.1 on free ports, no plugins — so several instances on one machine never meet. A
# generated user and password (guest only works from loopback, and we never want it).
#
#   eval "$(bash test/tools/start-rabbitmq.sh /tmp/cds-rabbitmq)"
#   kill $(cat /tmp/cds-rabbitmq/pids)
#
# Prints `export RABBITMQ_URL=amqp://user:pass@127.0.0.1:PORT` on stdout; all else on stderr.
set -euo pipefail
DIR=${1:?usage: start-rabbitmq.sh DIR}
exec 3>&1 1>&2

RMQ_BIN=/usr/lib/rabbitmq/bin
if [ ! -x "$RMQ_BIN/rabbitmq-server" ]; then
	echo "installing rabbitmq-server (Debian)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rabbitmq-server >/dev/null
	# Debian's package may start the system node where an init system runs: ours is separate anyway.
fi

# The OpenStack hooks' suite sends with PyPI's oslo.messaging from a venv it builds under the cache
# (test/helpers/openstack-python.ts): Debian's python3 needs python3-venv for that.
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
	echo "installing python3-venv (Debian)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi

if [ -f "$DIR/pids" ]; then kill $(cat "$DIR/pids") 2>/dev/null || true; sleep 1; fi
rm -rf "$DIR"
mkdir -p "$DIR/home" "$DIR/mnesia" "$DIR/log"
chmod 700 "$DIR"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
secret() { python3 -c 'import secrets; print(secrets.token_hex(16))'; }

AMQP_PORT=$(free_port)
DIST_PORT=$(free_port)
EPMD_PORT=$(free_port)
NODE="cds$(secret | cut -c1-8)@localhost"
USER_NAME="cds"
USER_PASSWORD=$(secret)

# The cookie lives in HOME: a private one per instance, so another node's CLI cannot reach ours.
(umask 077 && secret >"$DIR/home/.erlang.cookie")
cat >"$DIR/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
loopback_users.guest = true
log.console = false
log.file.level = warning
EOF
echo "[]." >"$DIR/enabled_plugins"

export HOME="$DIR/home"
export ERL_EPMD_PORT="$EPMD_PORT" ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_NODENAME="$NODE" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$AMQP_PORT"
export RABBITMQ_DIST_PORT="$DIST_PORT"
export RABBITMQ_MNESIA_BASE="$DIR/mnesia" RABBITMQ_LOG_BASE="$DIR/log"
export RABBITMQ_CONFIG_FILE="$DIR/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins"
export RABBITMQ_PID_FILE="$DIR/rabbitmq.pid"
# Distribution (node-to-CLI traffic) on loopback only.
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"

# Our own epmd, in the foreground of its background job, so its pid is known and stoppable.
nohup epmd -port "$EPMD_PORT" -address 127.0.0.1 >"$DIR/epmd.log" 2>&1 3>&- &
echo $! >"$DIR/pids"
nohup "$RMQ_BIN/rabbitmq-server" >"$DIR/server.log" 2>&1 3>&- &
echo $! >>"$DIR/pids"

# `await_startup` waits for the boot to finish (or fails when the node dies on the way).
ctl() { "$RMQ_BIN/rabbitmqctl" -n "$NODE" "$@"; }
ok=""
for _ in $(seq 1 120); do
	if ctl await_startup --timeout 5 >/dev/null 2>&1; then ok=1 && break; fi
	sleep 0.5
done
if [ -z "$ok" ]; then
	echo "rabbitmq did not start:"
	tail -30 "$DIR/server.log" "$DIR"/log/*.log 2>/dev/null || true
	exit 1
fi
# The Erlang VM itself (the script above may have exec'd into it, or kept it as a child).
if [ -f "$DIR/rabbitmq.pid" ]; then cat "$DIR/rabbitmq.pid" >>"$DIR/pids"; fi

ctl add_user "$USER_NAME" "$USER_PASSWORD" >/dev/null
ctl set_user_tags "$USER_NAME" administrator >/dev/null
ctl set_permissions -p / "$USER_NAME" ".*" ".*" ".*" >/dev/null
ctl delete_user guest >/dev/null 2>&1 || true

for _ in $(seq 1 100); do (exec 4<>"/dev/tcp/127.0.0.1/$AMQP_PORT") 2>/dev/null && break; sleep 0.1; done
echo "rabbitmq node $NODE: AMQP on 127.0.0.1:$AMQP_PORT, epmd on $EPMD_PORT, logs in $DIR/log"
echo "export RABBITMQ_URL=amqp://$USER_NAME:$USER_PASSWORD@127.0.0.1:$AMQP_PORT" >&3
