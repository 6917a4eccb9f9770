#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, offline, for `make e2e`:
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubelet from bin/k8s (built from
#   the Go module proxy by hack/envtest-binaries.sh --node); containerd, runc and the CNI plugins from
#   Debian's packages; a pause image built locally (no registry is reachable); a bridge network for pods.
#
#   hack/node.sh up            start everything in the background, print the KUBECONFIG
#   hack/node.sh down          stop exactly what `up` started and remove its state
#   hack/node.sh run CMD...    up, run CMD with KUBECONFIG set, down (whatever CMD returns)
#   hack/node.sh status        the node and its pods
#   hack/node.sh load TAR      import an OCI image archive into the node's containerd
#
# What this sandbox needs (and a normal machine tolerates):
#   - the CRI plugin's restrict_oom_score_adj (no CAP_SYS_RESOURCE here: without it every sandbox fails
#     with "can't get final child's PID from pipe");
#   - the kubelet on cgroupfs with failCgroupV1: false (cgroup v1 controllers, PID 1 is not systemd);
#     its pods live under their own cgroup root (/ltv-node), never in the host's cgroups;
#   - containerd's sandbox image is the locally built pause image.
# Pods reach only what this script creates: the bridge ltvbr0 (10.77.0.0/24, the host is 10.77.0.1) and the
# API server through the `kubernetes` Service address 10.77.1.1:443, translated to the bridge address by
# one iptables rule. Forwarding from the bridge anywhere else is dropped. `down` removes the rules, the
# bridge, the mounts and cgroups under the state directory, and restores the sysctls the kubelet changed.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/bin"
K8S="$BIN/k8s"
STATE="${NODE_STATE_DIR:-/tmp/ltv-node}"
PKI="$STATE/pki"
LOGS="$STATE/logs"
NODE_NAME="${NODE_NAME:-ltv-node}"
BRIDGE=ltvbr0
BRIDGE_IP=10.77.0.1
POD_CIDR=10.77.0.0/24
SERVICE_CIDR=10.77.1.0/24
KUBERNETES_SVC_IP=10.77.1.1
APISERVER_PORT="${APISERVER_PORT:-16443}"
ETCD_PORT=12379
ETCD_PEER_PORT=12380
CGROUP_ROOT=/ltv-node
PAUSE_IMAGE="registry.k8s.io/pause:3.10"
CHAIN=LTV-NODE
SYSCTLS=(net.ipv4.ip_forward vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
export KUBECONFIG="$STATE/admin.kubeconfig"
KUBECTL="$K8S/kubectl"
CTR=(ctr --address "$STATE/containerd/containerd.sock" -n k8s.io)

log() { printf '>> %s\n' "$*" >&2; }
die() { printf 'node.sh: %s\n' "$*" >&2; exit 1; }

require() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (containerd, runc and the kubelet need it)"
  local missing=()
  for b in containerd runc ctr iptables ip openssl; do command -v "$b" >/dev/null || missing+=("$b"); done
  [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] || missing+=(containernetworking-plugins)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing from Debian: containerd runc containernetworking-plugins iptables iproute2 openssl"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends containerd runc containernetworking-plugins iptables iproute2 openssl >/dev/null
  fi
  "$ROOT/hack/envtest-binaries.sh" --node >/dev/null
}

# ---------------------------------------------------------------------------------------------------
# certificates: one CA; serving certificates for the API server and the kubelet; client certificates
# with the identities the components have in any cluster; the service-account signing key.
cert() { # name CN O [SANs]
  local name=$1 cn=$2 org=$3 sans=${4:-} subj="/CN=$2"
  [ -n "$org" ] && subj="/O=$org/CN=$cn"
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$sans" ]; then echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$sans"
    else echo "extendedKeyUsage=clientAuth"; fi
  } > "$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
}

kubeconfig() { # file cert-name
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ltv-node
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $2
  user:
    client-certificate: $PKI/$2.crt
    client-key: $PKI/$2.key
contexts:
- name: ltv-node
  context: {cluster: ltv-node, user: $2}
current-context: ltv-node
EOF
}

make_pki() {
  mkdir -p "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 30 \
    -subj "/CN=ltv-node-ca" 2>/dev/null
  cert apiserver kube-apiserver "" "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$BRIDGE_IP,IP:$KUBERNETES_SVC_IP"
  cert kubelet "system:node:$NODE_NAME" "" "DNS:$NODE_NAME,DNS:localhost,IP:127.0.0.1,IP:$BRIDGE_IP"
  cert admin ltv-admin system:masters
  cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  cert controller-manager system:kube-controller-manager ""
  cert scheduler system:kube-scheduler ""
  cert node "system:node:$NODE_NAME" system:nodes
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  kubeconfig "$STATE/admin.kubeconfig" admin
  kubeconfig "$STATE/controller-manager.kubeconfig" controller-manager
  kubeconfig "$STATE/scheduler.kubeconfig" scheduler
  kubeconfig "$STATE/kubelet.kubeconfig" node
}

# ---------------------------------------------------------------------------------------------------
# processes: each started with its pid recorded, so `down` stops exactly these.
start() { # name command...
  local name=$1; shift
  "$@" >"$LOGS/$name.log" 2>&1 &
  echo $! > "$STATE/$name.pid"
}

wait_for() { # description seconds command...
  local what=$1 secs=$2; shift 2
  for _ in $(seq 1 $((secs * 2))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  log "timed out waiting for $what; last log lines:"; tail -n 30 "$LOGS"/*.log >&2 || true
  return 1
}

pause_image() {
  local tar="$BIN/node/pause.oci.tar"
  if [ ! -f "$tar" ]; then
    mkdir -p "$BIN/node/pause"
    (cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$BIN/node/pause/pause" ./hack/pause)
    (cd "$ROOT" && go run ./hack/image -pause "$BIN/node/pause/pause" -name "$PAUSE_IMAGE" \
      -source-date-epoch 1 -o "$tar")
  fi
  echo "$tar"
}

network() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$BRIDGE_IP/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  # The kubernetes Service address reaches the API server on the bridge (the one job of kube-proxy here).
  iptables -t nat -N "$CHAIN" 2>/dev/null || iptables -t nat -F "$CHAIN"
  iptables -t nat -A "$CHAIN" -d "$KUBERNETES_SVC_IP/32" -p tcp --dport 443 -j DNAT --to-destination "$BRIDGE_IP:$APISERVER_PORT"
  iptables -t nat -C PREROUTING -i "$BRIDGE" -j "$CHAIN" 2>/dev/null || iptables -t nat -I PREROUTING -i "$BRIDGE" -j "$CHAIN"
  # The bridge plugin turns forwarding on; nothing from the pods may leave the bridge through it.
  iptables -N "$CHAIN" 2>/dev/null || iptables -F "$CHAIN"
  iptables -A "$CHAIN" -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  iptables -A "$CHAIN" -i "$BRIDGE" -j DROP
  iptables -A "$CHAIN" -o "$BRIDGE" -j DROP
  iptables -C FORWARD -j "$CHAIN" 2>/dev/null || iptables -I FORWARD -j "$CHAIN"
  mkdir -p "$STATE/cni/net.d"
  cat > "$STATE/cni/net.d/10-ltv-node.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "ltv-node",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "rangeStart": "10.77.0.10", "gateway": "$BRIDGE_IP"}]],
        "routes": [{"dst": "$SERVICE_CIDR"}, {"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
}

containerd_up() {
  mkdir -p "$STATE/containerd"
  cat > "$STATE/containerd/config.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
[grpc]
  address = "$STATE/containerd/containerd.sock"
[ttrpc]
  address = "$STATE/containerd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
EOF
  start containerd containerd --config "$STATE/containerd/config.toml"
  wait_for containerd 30 "${CTR[@]}" version
  "${CTR[@]}" images import --all-platforms "$(pause_image)" >/dev/null
}

control_plane_up() {
  start etcd "$K8S/etcd" --name ltv-node --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "ltv-node=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync
  start kube-apiserver "$K8S/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 0.0.0.0 --secure-port "$APISERVER_PORT" --advertise-address "$BRIDGE_IP" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --allow-privileged=true --profiling=false
  wait_for kube-apiserver 90 "$KUBECTL" get --raw /readyz
  start kube-controller-manager "$K8S/kube-controller-manager" \
    --kubeconfig "$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --allocate-node-cidrs=false --profiling=false
  start kube-scheduler "$K8S/kube-scheduler" \
    --kubeconfig "$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig "$STATE/scheduler.kubeconfig" --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --profiling=false
}

kubelet_up() {
  local c
  for c in /sys/fs/cgroup/*/; do
    case "$c" in */unified/) continue ;; esac
    [ -d "$c" ] && mkdir -p "$c${CGROUP_ROOT#/}"
  done
  for s in "${SYSCTLS[@]}"; do echo "$s=$(sysctl -n "$s")"; done > "$STATE/sysctls.saved"
  mkdir -p "$STATE/kubelet" "$STATE/pod-logs"
  cat > "$STATE/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
cgroupRoot: $CGROUP_ROOT
containerRuntimeEndpoint: unix://$STATE/containerd/containerd.sock
address: $BRIDGE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $PKI/kubelet.crt
tlsPrivateKeyFile: $PKI/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
podLogsDir: $STATE/pod-logs
failSwapOn: false
rotateCertificates: false
serializeImagePulls: false
resolvConf: /etc/resolv.conf
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
maxPods: 110
EOF
  start kubelet "$K8S/kubelet" --config "$STATE/kubelet-config.yaml" --kubeconfig "$STATE/kubelet.kubeconfig" \
    --root-dir "$STATE/kubelet" --hostname-override "$NODE_NAME" --node-ip "$BRIDGE_IP" -v=1
  wait_for "node $NODE_NAME Ready" 120 bash -c "'$KUBECTL' get node '$NODE_NAME' -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
}

up() {
  require
  if [ -f "$STATE/up" ] && "$KUBECTL" get --raw /readyz >/dev/null 2>&1; then
    log "already up (state in $STATE)"; echo "$KUBECONFIG"; return 0
  fi
  # What an interrupted run left (processes ended with the session, mounts, bridge, rules): gone first.
  [ -d "$STATE" ] && down
  rm -rf "$STATE"; mkdir -p "$STATE" "$LOGS"
  log "certificates"; make_pki
  log "network: bridge $BRIDGE ($POD_CIDR), Service $KUBERNETES_SVC_IP:443 -> $BRIDGE_IP:$APISERVER_PORT"; network
  log "containerd (pause image $PAUSE_IMAGE built locally)"; containerd_up
  log "etcd, kube-apiserver, kube-controller-manager, kube-scheduler"; control_plane_up
  log "kubelet"; kubelet_up
  # The default ServiceAccount appears once the controller manager runs; pods need it.
  wait_for "default ServiceAccount" 60 "$KUBECTL" get serviceaccount default -n default
  touch "$STATE/up"
  log "node $NODE_NAME is Ready: export KUBECONFIG=$KUBECONFIG"
  echo "$KUBECONFIG"
}

stop_pid() { # name
  local f="$STATE/$1.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

down() {
  [ -d "$STATE" ] || return 0
  log "stopping the node in $STATE"
  stop_pid kube-scheduler; stop_pid kube-controller-manager; stop_pid kubelet
  # The pods' containers: killed through containerd, which owns them.
  if [ -S "$STATE/containerd/containerd.sock" ]; then
    local id
    for id in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
    sleep 1
    for id in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks rm -f "$id" >/dev/null 2>&1 || true; done
  fi
  stop_pid containerd
  # Shims of this containerd only (their -address names our socket).
  pkill -9 -f "containerd-shim-runc-v2 .*-address $STATE/containerd/containerd.sock" 2>/dev/null || true
  stop_pid kube-apiserver; stop_pid etcd
  # Mounts under the state directory (overlay snapshots, pod volumes, network namespaces), deepest first.
  local m
  awk -v s="$STATE" '$2 == s || index($2, s "/") == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  # Network namespaces containerd made for our pods (named cni-*, holding an address of our bridge).
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '/^cni-/ {print $1}'); do
    if ip netns exec "$ns" ip -4 -o addr 2>/dev/null | grep -q ' 10\.77\.0\.'; then ip netns delete "$ns" 2>/dev/null || true; fi
  done
  # cgroups under our root, deepest first (only directories; the hierarchies themselves stay untouched).
  local c
  for c in /sys/fs/cgroup/*/"${CGROUP_ROOT#/}"; do
    [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  iptables -t nat -D PREROUTING -i "$BRIDGE" -j "$CHAIN" 2>/dev/null || true
  iptables -t nat -F "$CHAIN" 2>/dev/null || true; iptables -t nat -X "$CHAIN" 2>/dev/null || true
  iptables -D FORWARD -j "$CHAIN" 2>/dev/null || true
  iptables -F "$CHAIN" 2>/dev/null || true; iptables -X "$CHAIN" 2>/dev/null || true
  ip link delete "$BRIDGE" 2>/dev/null || true
  if [ -f "$STATE/sysctls.saved" ]; then
    local kv; while read -r kv; do sysctl -q -w "$kv" >/dev/null 2>&1 || true; done < "$STATE/sysctls.saved"
  fi
  rm -rf /var/lib/cni/results/ltv-node-* 2>/dev/null || true
  if [ -n "${NODE_KEEP_LOGS:-}" ]; then mkdir -p "$NODE_KEEP_LOGS"; cp -r "$LOGS/." "$NODE_KEEP_LOGS/" 2>/dev/null || true; fi
  rm -rf "$STATE"
}

load() {
  [ -f "$STATE/up" ] || die "the node is not up"
  "${CTR[@]}" images import --all-platforms "$1" >&2
}

status() {
  "$KUBECTL" get nodes -o wide
  "$KUBECTL" get pods -A -o wide
}

case "${1:-}" in
  up) trap 'code=$?; [ $code -eq 0 ] || down; exit $code' EXIT; up ;;
  down) down ;;
  status) status ;;
  load) [ $# -eq 2 ] || die "usage: $0 load IMAGE.tar"; load "$2" ;;
  run)
    shift
    [ $# -gt 0 ] || die "usage: $0 run COMMAND..."
    trap 'code=$?; down; exit $code' EXIT INT TERM
    up >/dev/null
    "$@"
    ;;
  *) die "usage: $0 up|down|status|run COMMAND..." ;;
esac
