#!/usr/bin/env bash
# Replicated produce on three `sluice server` processes on loopback, over
# the mutually authenticated cluster listeners (docs/benchmarks.md,
# "Replication"). Creates a topic of replication factor 3,
# min.insync.replicas 2, durability replicated (by default), and runs
# `sluice bench produce --acks all` against it: once as fast as the tool
# goes, and once at a fixed rate for the latency percentiles.
#
#   bench/replication.sh                       # 1 and 6 partitions
#   PARTITIONS="6" RECORDS=300000 bench/replication.sh
#   PROTOCOL=request bench/replication.sh      # followers on the JSON request route
#   SRC=/path/to/other/tree bench/replication.sh   # build sluice from another tree (a before/after)
#   DURABILITY=fsync RATE=0 bench/replication.sh   # fsync class; no fixed-rate run
#   RATE_FLAGS='--in-flight 16' bench/replication.sh   # extra flags of the fixed-rate run
#   PARTITIONER=sticky bench/replication.sh    # topics with the sticky partitioner (default auto)
#   TO_LEADER=1 PARTITIONS=1 bench/replication.sh   # send to partition 0's leader: no forwarding
#   INSECURE=1 bench/replication.sh            # plain HTTP everywhere (--insecure: no TLS, no authentication)
set -euo pipefail
PARTITIONS=${PARTITIONS:-"1 6"}
RECORDS=${RECORDS:-200000}
SIZE=${SIZE:-1024}
RATE=${RATE:-10000}
DURABILITY=${DURABILITY:-replicated}
PARTITIONER=${PARTITIONER:-auto}
BASE=${BASE:-25000}
cd "$(dirname "$0")/.."
SRC=${SRC:-$PWD}
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
(cd "$SRC" && go build -o "$work/sluice" ./cmd/sluice)
S="$work/sluice"
"$S" cert ca --dir "$work/tls" >/dev/null
for i in 1 2 3; do "$S" cert node --dir "$work/tls" --id "$i" >/dev/null; done
"$S" cert gossip-key --dir "$work/tls" >/dev/null
proto=()
if [ -n "${PROTOCOL:-}" ]; then proto=(--replication-protocol "$PROTOCOL"); fi
# Secure by default: mTLS between nodes, authentication on, and https on
# the HTTP listener with the node certificates (sluice server refuses a
# multi-node cluster without TLS and authentication unless --insecure).
scheme=https
if [ -n "${INSECURE:-}" ]; then scheme=http; fi
http() { echo "127.0.0.1:$((BASE + $1))"; }
for i in 1 2 3; do
	joins=()
	[ "$i" = 1 ] || joins=(--join "127.0.0.1:$((BASE + 201))")
	sec=(--tls-dir "$work/tls" --tls-cert "$work/tls/node-$i.crt" --tls-key "$work/tls/node-$i.key" --bootstrap-admin-token-file "$work/admin-token")
	if [ -n "${INSECURE:-}" ]; then sec=(--insecure); fi
	"$S" server --node-id "$i" --data-dir "$work/n$i" "${sec[@]}" \
		--http-addr "$(http "$i")" --raft-addr "127.0.0.1:$((BASE + 100 + i))" \
		--serf-addr "127.0.0.1:$((BASE + 200 + i))" --cluster-addr "127.0.0.1:$((BASE + 300 + i))" \
		--bootstrap-expect 3 "${joins[@]}" "${proto[@]}" --log-level "${LOG_LEVEL:-warn}" >>"$work/n$i.log" 2>&1 &
	pids+=($!)
	if [ "$i" = 1 ]; then
		until curl -s -m 1 -o /dev/null --cacert "$work/tls/ca.crt" "$scheme://$(http 1)/healthz"; do sleep 0.1; done
	fi
done
waitfor() { # waitfor SECONDS CMD...
	local deadline=$(($(date +%s) + $1)); shift
	until "$@" >/dev/null 2>&1; do
		if (($(date +%s) > deadline)); then echo "timed out: $*" >&2; tail -5 "$work"/n*.log >&2; exit 1; fi
		sleep 0.1
	done
}
for i in 1 2 3; do waitfor 90 curl -fsS -m 1 --cacert "$work/tls/ca.crt" "$scheme://$(http "$i")/healthz"; done
auth=() cli=()
if [ -z "${INSECURE:-}" ]; then
	waitfor 30 test -s "$work/admin-token"
	auth=(--cacert "$work/tls/ca.crt" -H "Authorization: Bearer $(cat "$work/admin-token")")
	cli=(--ca-file "$work/tls/ca.crt" --token "$(cat "$work/admin-token")")
fi
isr_whole() { # isr_whole TOPIC: every partition has 3 in-sync replicas
	curl -fsS -m 2 "${auth[@]}" "$scheme://$(http 1)/v1/topics/$1" | jq -e '[.partitions[].isr | length] | all(. == 3)'
}
echo "sluice from $SRC ($(cd "$SRC" && git rev-parse --short HEAD 2>/dev/null || echo tree)), protocol ${PROTOCOL:-default}, $SIZE-byte records, durability $DURABILITY, partitioner $PARTITIONER, RF 3, acks=all, min.insync.replicas 2"
for p in $PARTITIONS; do
	t="repl-$p"
	waitfor 30 curl -fsS -m 5 "${auth[@]}" -XPOST -H 'Content-Type: application/json' "$scheme://$(http 1)/v1/topics" \
		-d "{\"name\":\"$t\",\"partitions\":$p,\"partitioner\":\"$PARTITIONER\",\"replication_factor\":3,\"config\":{\"min.insync.replicas\":\"2\",\"durability\":\"$DURABILITY\"}}"
	waitfor 60 isr_whole "$t"
	leaders=$(curl -fsS -m 2 "${auth[@]}" "$scheme://$(http 1)/v1/topics/$t" | jq -r '[.partitions[].leader] | map(tostring) | join(" ")')
	# The node the bench sends to: node 1, or with TO_LEADER=1 the leader
	# of partition 0 (for one partition: no forwarded produce at all).
	to=1
	if [ -n "${TO_LEADER:-}" ]; then to=${leaders%% *}; fi
	echo "== $p partition(s), leaders by partition: $leaders; the bench sends to node $to"
	echo "== $p partition(s), as fast as it goes"
	"$S" "${cli[@]}" --server "$scheme://$(http "$to")" bench produce "$t" --records "$RECORDS" --size "$SIZE" --acks all
	if [ "$RATE" != 0 ]; then
		echo "== $p partition(s), fixed rate $RATE rec/s"
		"$S" "${cli[@]}" --server "$scheme://$(http "$to")" bench produce "$t" --records $((RATE * 10)) --size "$SIZE" --acks all --rate "$RATE" ${RATE_FLAGS:-}
	fi
done
