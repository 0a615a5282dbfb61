#!/bin/sh
# make-certs.sh: the certificates, gossip key and bootstrap admin token of
# a 3-node Sluice cluster, made once by the operator with `sluice cert`
# (docs/security.md; docs/operations.md, "Release and deployment").
#
#   deploy/make-certs.sh OUT_DIR            # e.g. deploy/compose/tls
#
# Environment:
#   SLUICE     the sluice binary (default: sluice on PATH)
#   NAMESPACE  Kubernetes namespace of the StatefulSet (default: default)
#   HOSTS_1, HOSTS_2, HOSTS_3
#              extra names/IPs of node N, space-separated (systemd hosts,
#              e.g. HOSTS_1=node1.example.internal)
#   OWNER      chown node-N/ and admin-token to OWNER (needs root), e.g.
#              65532:65532 for the compose containers' user
#
# Node N (N = 1..3; Kubernetes pod sluice-(N-1), whose node id is its
# ordinal + 1) gets one certificate, node-N.crt/.key, whose SANs cover
#   - the names peers dial (its --advertise-addr): compose service sluice-N,
#     pod sluice-(N-1).sluice-headless.NAMESPACE.svc(.cluster.local), HOSTS_N;
#   - the names clients use for the client listener: the Kubernetes client
#     service sluice(.NAMESPACE.svc), plus localhost/127.0.0.1/::1 (always).
# The node presents it on the cluster listener (mutual TLS) and, as
# --tls-cert/--tls-key, on its client (HTTP) listener: one key per node,
# no other node's key on it.
#
# Output (files 0600, directories 0700; sluice cert never overwrites):
#   OUT_DIR/pki/         ca.crt, ca.key (keep offline), gossip.key, all node certs
#   OUT_DIR/node-N/      what node N mounts as its --tls-dir: ca.crt,
#                        node-N.crt, node-N.key, gossip.key
#   OUT_DIR/admin-token  the first admin's token (--bootstrap-admin-token-file)
set -eu

out=${1:?usage: make-certs.sh OUT_DIR}
sluice=${SLUICE:-sluice}
ns=${NAMESPACE:-default}
pki=$out/pki

umask 077
mkdir -p "$pki"
[ -f "$pki/ca.crt" ] || "$sluice" cert ca --dir "$pki"
[ -f "$pki/gossip.key" ] || "$sluice" cert gossip-key --dir "$pki"

for n in 1 2 3; do
	ord=$((n - 1))
	pod=sluice-$ord.sluice-headless
	eval "extra=\${HOSTS_$n:-}"
	set -- --host "sluice-$n" \
		--host "$pod.$ns.svc" --host "$pod.$ns.svc.cluster.local" --host "$pod" \
		--host sluice --host "sluice.$ns.svc" --host "sluice.$ns.svc.cluster.local"
	for h in $extra; do set -- "$@" --host "$h"; done
	[ -f "$pki/node-$n.crt" ] || "$sluice" cert node --dir "$pki" --id "$n" "$@"

	mkdir -p "$out/node-$n"
	for f in ca.crt gossip.key "node-$n.crt" "node-$n.key"; do
		cp "$pki/$f" "$out/node-$n/$f"
	done
done

[ -f "$out/admin-token" ] || "$sluice" user gen-token >"$out/admin-token"
if [ -n "${OWNER:-}" ]; then
	chown -R "$OWNER" "$out/node-1" "$out/node-2" "$out/node-3" "$out/admin-token"
fi

echo "wrote $out: pki/ (keep ca.key offline), node-1..3/ (one per node), admin-token"
