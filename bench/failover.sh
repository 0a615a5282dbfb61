#!/usr/bin/env bash
# Leader failover after SIGKILL, measured on three `sluice server` processes
# on loopback with default settings (docs/benchmarks.md, "Failover").
#
# Each round: find the leader of a 1-partition topic (RF 3,
# min.insync.replicas 2), SIGKILL it, and time until an acks=all produce
# sent to a surviving node succeeds; then restart the killed node and wait
# for the ISR to be whole again. Prints every round and the median and max.
# TARGET=controller kills the node of the active controller instead (an
# in-sync replica, so acks=all stalls until it is fenced through the new
# active controller).
#
#   bench/failover.sh              # 10 rounds
#   ROUNDS=20 BASE=26000 bench/failover.sh
#   TARGET=controller bench/failover.sh
set -euo pipefail
ROUNDS=${ROUNDS:-10}
TARGET=${TARGET:-leader}
BASE=${BASE:-24000}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
declare -A pid
cleanup() {
	for i in "${!pid[@]}"; do kill -9 "${pid[$i]}" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/sluice" ./cmd/sluice
insecure=""
if "$work/sluice" server --help 2>&1 | grep -q -- '--insecure'; then insecure=--insecure; fi

http() { echo "127.0.0.1:$((BASE + $1))"; }
start() { # start NODE JOIN...
	local i=$1; shift
	local joins=()
	for j in "$@"; do joins+=(--join "127.0.0.1:$((BASE + 200 + j))"); done
	"$work/sluice" server $insecure --node-id "$i" --data-dir "$work/n$i" \
		--http-addr "$(http "$i")" --raft-addr "127.0.0.1:$((BASE + 100 + i))" \
		--serf-addr "127.0.0.1:$((BASE + 200 + i))" --bootstrap-expect 3 \
		"${joins[@]}" --log-level warn >>"$work/n$i.log" 2>&1 &
	pid[$i]=$!
}
healthy() { curl -fsS -m 1 "http://$(http "$1")/healthz" >/dev/null 2>&1; }
listening() { [ "$(curl -s -m 1 -o /dev/null -w '%{http_code}' "http://$(http "$1")/healthz")" != 000 ]; }
waitfor() { # waitfor SECONDS CMD...
	local deadline=$(($(date +%s) + $1)); shift
	until "$@"; do
		if (($(date +%s) > deadline)); then echo "timed out: $*" >&2; exit 1; fi
		sleep 0.05
	done
}
describe() { curl -fsS -m 2 "http://$(http "$1")/v1/topics/fo" 2>/dev/null; }
isr_whole() { [ "$(describe "$1" | jq '.partitions[0].isr | length')" = 3 ]; }
produce_ok() { # produce_ok NODE: one acks=all record through NODE
	local out
	out=$(curl -sS -m 2 -XPOST -H 'Content-Type: application/json' \
		"http://$(http "$1")/v1/topics/fo/records?acks=all&timeout_ms=1000" \
		-d '{"records":[{"value":"x"}]}' 2>/dev/null) || return 1
	[ "$(jq -r '.results[0].error // empty | tostring' <<<"$out" 2>/dev/null)" = "" ] &&
		jq -e '.results[0].offset' <<<"$out" >/dev/null 2>&1
}

start 1
waitfor 60 listening 1 # a node whose join target is not up yet exits
start 2 1
start 3 1
for i in 1 2 3; do waitfor 60 healthy "$i"; done
waitfor 30 curl -fsS -m 2 -XPOST -H 'Content-Type: application/json' "http://$(http 1)/v1/topics" \
	-d '{"name":"fo","partitions":1,"replication_factor":3,"config":{"min.insync.replicas":"2"}}' -o /dev/null
waitfor 30 isr_whole 1

times=()
for round in $(seq 1 "$ROUNDS"); do
	leader=$(describe 1 | jq '.partitions[0].leader' 2>/dev/null || describe 2 | jq '.partitions[0].leader')
	active=$(curl -fsS -m 2 "http://$(http 1)/v1/cluster" | jq '.controller.leader')
	if [ "$TARGET" = controller ]; then leader=$active; fi
	survivor=$((leader % 3 + 1))
	waitfor 30 produce_ok "$survivor"
	t0=$(date +%s%N)
	kill -9 "${pid[$leader]}"
	wait "${pid[$leader]}" 2>/dev/null || true
	waitfor 60 produce_ok "$survivor"
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	times+=("$ms")
	what="partition leader"
	[ "$leader" = "$active" ] && what="$what and active controller"
	[ "$TARGET" = controller ] && what="active controller"
	echo "round $round: killed node $leader ($what), acks=all produce through node $survivor succeeded after ${ms} ms"
	others=()
	for j in 1 2 3; do [ "$j" = "$leader" ] || others+=("$j"); done
	start "$leader" "${others[@]}"
	waitfor 60 healthy "$leader"
	waitfor 60 isr_whole "$survivor"
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
n=${#sorted[@]}
echo "failover after SIGKILL ($TARGET) over $n rounds: median ${sorted[$((n / 2))]} ms, min ${sorted[0]} ms, max ${sorted[$((n - 1))]} ms"
