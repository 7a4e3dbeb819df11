#!/usr/bin/env bash
# Starts a real Kubernetes control plane for the Kubernetes suites, under DIR:
#
#   eval "$(bash test/tools/start-kube.sh DIR)"      → export KUBECONFIG=DIR/admin.kubeconfig
#
# etcd (Debian's etcd-server, installed when missing), kube-apiserver (RBAC + Node authorization,
# a service-account key made with openssl, a static token for the admin), kube-controller-manager
# (every controller: ReplicaSets, Deployments, the `default` ServiceAccount, the garbage collector)
# and kube-scheduler, all on 127.0.0.1 free ports — the three from the multi-call binary of
# test/tools/build-kube.sh (built when its cache is empty). No kubelet: the suites start the
# process kubelet (test/standins/process-kubelet). Pids to stop go to DIR/pids; only the export
# line goes to stdout.
set -euo pipefail
DIR=${1:?usage: start-kube.sh DIR}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
: >"$DIR/pids"
# fd 3 is the caller's stdout (often a $(…) capture): the servers must not hold it open.
exec 3>&1 1>&2

if ! command -v etcd >/dev/null 2>&1; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
fi
KUBE=$(bash "$(dirname "$0")/build-kube.sh")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ETCD_CLIENT=$(free_port)
ETCD_PEER=$(free_port)
API_PORT=$(free_port)

# etcd 3.4 (Debian) logs a lot; its data is throwaway.
etcd --name kube-test --data-dir "$DIR/etcd" \
	--listen-client-urls "http://127.0.0.1:$ETCD_CLIENT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT" \
	--listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
	--initial-cluster "kube-test=http://127.0.0.1:$ETCD_PEER" >"$DIR/etcd.log" 2>&1 3>&- &
echo $! >>"$DIR/pids"
for _ in $(seq 1 100); do
	curl -fsS "http://127.0.0.1:$ETCD_CLIENT/health" >/dev/null 2>&1 && break
	sleep 0.2
done

[ -f "$DIR/sa.key" ] || openssl genrsa -out "$DIR/sa.key" 2048 2>/dev/null
openssl rsa -in "$DIR/sa.key" -pubout -out "$DIR/sa.pub" 2>/dev/null
TOKEN=$(openssl rand -hex 24)
# token,user,uid,"groups": the admin of the suites, and the identities of the control plane.
cat >"$DIR/tokens.csv" <<EOF
$TOKEN,admin,admin,"system:masters"
$TOKEN-cm,system:kube-controller-manager,kcm
$TOKEN-sched,system:kube-scheduler,sched
EOF

kubeconfig() { # file token
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$API_PORT
    insecure-skip-tls-verify: true
users:
- name: user
  user:
    token: $2
contexts:
- name: test
  context: {cluster: test, user: user, namespace: default}
current-context: test
EOF
}
kubeconfig "$DIR/admin.kubeconfig" "$TOKEN"
kubeconfig "$DIR/controller-manager.kubeconfig" "$TOKEN-cm"
kubeconfig "$DIR/scheduler.kubeconfig" "$TOKEN-sched"

"$KUBE" apiserver --etcd-servers "http://127.0.0.1:$ETCD_CLIENT" \
	--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" --cert-dir "$DIR/certs" \
	--service-account-key-file "$DIR/sa.pub" --service-account-signing-key-file "$DIR/sa.key" \
	--service-account-issuer https://kubernetes.default.svc --api-audiences https://kubernetes.default.svc \
	--token-auth-file "$DIR/tokens.csv" --authorization-mode Node,RBAC \
	--service-cluster-ip-range 10.96.0.0/16 --allow-privileged=true \
	>"$DIR/apiserver.log" 2>&1 3>&- &
echo $! >>"$DIR/pids"
ready=
for _ in $(seq 1 300); do
	if curl -fsSk -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1; then
		ready=1
		break
	fi
	sleep 0.3
done
[ -n "$ready" ] || {
	tail -20 "$DIR/apiserver.log"
	echo "kube-apiserver did not become ready" >&2
	exit 1
}

"$KUBE" controller-manager --kubeconfig "$DIR/controller-manager.kubeconfig" \
	--authentication-kubeconfig "$DIR/controller-manager.kubeconfig" \
	--authorization-kubeconfig "$DIR/controller-manager.kubeconfig" \
	--service-account-private-key-file "$DIR/sa.key" --use-service-account-credentials \
	--controllers '*' --leader-elect=false --bind-address 127.0.0.1 --secure-port 0 \
	>"$DIR/controller-manager.log" 2>&1 3>&- &
echo $! >>"$DIR/pids"
"$KUBE" scheduler --kubeconfig "$DIR/scheduler.kubeconfig" \
	--authentication-kubeconfig "$DIR/scheduler.kubeconfig" \
	--authorization-kubeconfig "$DIR/scheduler.kubeconfig" \
	--leader-elect=false --bind-address 127.0.0.1 --secure-port 0 \
	>"$DIR/scheduler.log" 2>&1 3>&- &
echo $! >>"$DIR/pids"

# The controller manager makes the `default` ServiceAccount of each namespace: pods need it.
for _ in $(seq 1 200); do
	curl -fsSk -H "Authorization: Bearer $TOKEN" \
		"https://127.0.0.1:$API_PORT/api/v1/namespaces/default/serviceaccounts/default" >/dev/null 2>&1 && break
	sleep 0.3
done
echo "export KUBECONFIG=$DIR/admin.kubeconfig" >&3
