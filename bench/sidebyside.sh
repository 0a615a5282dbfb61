#!/usr/bin/env bash
# NATS JetStream and Sluice side by side, in the same run, on this machine
# (docs/benchmarks.md, "Side by side with NATS JetStream"). Installs
# nats-server and the nats CLI from the Go module proxy into a scratch
# folder (NATS_DIR, reused when the binaries are there), then for R1 (one
# server) and R3 (three server processes on loopback) and for two
# durability classes:
#
#   no fsync per write: Sluice durability=replicated   vs JetStream file storage, default sync
#   fsync per write:    Sluice durability=fsync        vs JetStream file storage, sync_interval: always
#
# produces 1 KiB records as fast as each tool goes (`sluice bench produce
# --acks all`, min.insync.replicas 2 at R3; `nats bench js pub async
# --storage file`), and prints records/s and the ratio Sluice/JetStream;
# then (no-fsync class) reads the backlog back (`sluice bench consume`
# from earliest, `nats bench js ordered`).
# Sluice runs with 1 and 6 partitions (PARTITIONS); a JetStream stream is
# one ordered log.
#
#   bench/sidebyside.sh
#   NATS_DIR=/tmp/nats RECORDS=100000 bench/sidebyside.sh
#   CLASSES=replicated bench/sidebyside.sh      # skip the fsync class
set -euo pipefail
RECORDS=${RECORDS:-200000}              # per run, no-fsync class
FSYNC_RECORDS=${FSYNC_RECORDS:-50000}   # per Sluice run, fsync class
JS_FSYNC_MSGS=${JS_FSYNC_MSGS:-5000}    # per JetStream run, fsync class (about 1k msgs/s here)
SIZE=${SIZE:-1024}
PARTITIONS=${PARTITIONS:-"1 6"}
CLASSES=${CLASSES:-"replicated fsync"}
BASE=${BASE:-27000}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
NATS_DIR=${NATS_DIR:-$work/nats}
pids=() api='' auth=() cli=()
stop_all() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}
cleanup() {
	stop_all
	[ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
waitfor() { # waitfor SECONDS CMD...
	local deadline=$(($(date +%s) + $1)); shift
	until "$@" >/dev/null 2>&1; do
		if (($(date +%s) > deadline)); then echo "timed out: $*" >&2; exit 1; fi
		sleep 0.2
	done
}

mkdir -p "$NATS_DIR/bin"
[ -x "$NATS_DIR/bin/nats-server" ] || GOBIN="$NATS_DIR/bin" go install github.com/nats-io/nats-server/v2@latest
[ -x "$NATS_DIR/bin/nats" ] || GOBIN="$NATS_DIR/bin" go install github.com/nats-io/natscli/nats@latest
NS="$NATS_DIR/bin/nats-server" NATS="$NATS_DIR/bin/nats"
go build -o "$work/sluice" ./cmd/sluice
S="$work/sluice"
"$S" cert ca --dir "$work/tls" >/dev/null
for i in 1 2 3; do "$S" cert node --dir "$work/tls" --id "$i" >/dev/null; done
"$S" cert gossip-key --dir "$work/tls" >/dev/null

# jetstream N CLASS: start N clustered nats-servers (N=1: one server).
jetstream() {
	local n=$1 class=$2 sync=""
	[ "$class" = fsync ] && sync="sync_interval: always"
	for i in $(seq 1 "$n"); do
		local dir="$work/js-$class-$n-$i" routes=""
		mkdir -p "$dir"
		if [ "$n" -gt 1 ]; then
			local list=()
			for j in $(seq 1 "$n"); do list+=("nats://127.0.0.1:$((BASE + 10 + j))"); done
			routes="cluster { name: bench, listen: 127.0.0.1:$((BASE + 10 + i)), routes: [ $(IFS=,; echo "${list[*]}") ] }"
		fi
		cat >"$dir/server.conf" <<-CONF
			server_name: js$i
			listen: 127.0.0.1:$((BASE + i))
			jetstream { store_dir: "$dir/store", $sync }
			$routes
		CONF
		"$NS" -c "$dir/server.conf" >"$dir/log" 2>&1 &
		pids+=($!)
	done
	waitfor 60 "$NATS" -s "nats://127.0.0.1:$((BASE + 1))" account info
}
# js_consume MSGS: msgs/s of an ordered consumer reading the stream back.
js_consume() {
	local out
	out=$("$NATS" -s "nats://127.0.0.1:$((BASE + 1))" bench js ordered --msgs "$1" --no-progress 2>&1) || { echo "$out" >&2; return 1; }
	grep -o '[0-9,]* msgs/sec' <<<"$out" | head -1 | tr -d , | cut -d' ' -f1
}
# sluice_consume TOPIC RECORDS: records/s of `sluice bench consume` from earliest.
sluice_consume() {
	local out
	out=$("$S" "${cli[@]}" --server "$api" bench consume "$1" --records "$2" 2>&1) || { echo "$out" >&2; return 1; }
	awk '/^throughput/ {print $2}' <<<"$out"
}
# js_pub N MSGS: records/s of one JetStream publish run at R=N.
js_pub() {
	local out
	out=$("$NATS" -s "nats://127.0.0.1:$((BASE + 1))" bench js pub async bench.sbs --create --purge \
		--storage file --replicas "$1" --msgs "$2" --size "${SIZE}B" --no-progress 2>&1) || { echo "$out" >&2; return 1; }
	grep -o '[0-9,]* msgs/sec' <<<"$out" | head -1 | tr -d , | cut -d' ' -f1
}
# sluice_cluster N CLASS: start N sluice servers over mTLS, authentication
# on (the bootstrapped admin's token). A multi-node cluster also needs TLS
# on its HTTP listener (sluice server refuses one without): R3 serves
# https with the node certificates, R1 plain http.
sluice_cluster() {
	local n=$1 class=$2 tokfile="$work/admin-token-$class-$n"
	local scheme=http
	[ "$n" -gt 1 ] && scheme=https
	api="$scheme://127.0.0.1:$((BASE + 101))"
	for i in $(seq 1 "$n"); do
		local joins=() tls=()
		[ "$i" = 1 ] || joins=(--join "127.0.0.1:$((BASE + 201))")
		[ "$n" -gt 1 ] && tls=(--tls-cert "$work/tls/node-$i.crt" --tls-key "$work/tls/node-$i.key")
		"$S" server --node-id "$i" --data-dir "$work/sl-$class-$n-$i" --tls-dir "$work/tls" "${tls[@]}" \
			--bootstrap-admin-token-file "$tokfile" \
			--http-addr "127.0.0.1:$((BASE + 100 + i))" --raft-addr "127.0.0.1:$((BASE + 150 + i))" \
			--serf-addr "127.0.0.1:$((BASE + 200 + i))" --cluster-addr "127.0.0.1:$((BASE + 250 + i))" \
			--bootstrap-expect "$n" "${joins[@]}" --log-level warn >>"$work/sl-$class-$n-$i.log" 2>&1 &
		pids+=($!)
		[ "$i" = 1 ] && waitfor 60 curl -s -m 1 -o /dev/null --cacert "$work/tls/ca.crt" "$api/healthz"
	done
	for i in $(seq 1 "$n"); do waitfor 90 curl -fsS -m 1 --cacert "$work/tls/ca.crt" "$scheme://127.0.0.1:$((BASE + 100 + i))/healthz"; done
	waitfor 30 test -s "$tokfile"
	local tok
	tok=$(cat "$tokfile")
	auth=(--cacert "$work/tls/ca.crt" -H "Authorization: Bearer $tok")
	cli=(--ca-file "$work/tls/ca.crt" --token "$tok")
}
# sluice_pub N CLASS P RECORDS: records/s of one Sluice run at RF N.
sluice_pub() {
	local n=$1 class=$2 p=$3 recs=$4 t="sbs-$2-$3" min=1 out
	[ "$n" -gt 1 ] && min=2
	waitfor 30 curl -fsS -m 5 "${auth[@]}" -XPOST -H 'Content-Type: application/json' "$api/v1/topics" \
		-d "{\"name\":\"$t\",\"partitions\":$p,\"replication_factor\":$n,\"config\":{\"min.insync.replicas\":\"$min\",\"durability\":\"$class\"}}"
	waitfor 60 bash -c "curl -fsS -m 2 --cacert '$work/tls/ca.crt' -H 'Authorization: Bearer $(cat "$work/admin-token-$class-$n")' '$api/v1/topics/$t' | jq -e '[.partitions[].isr | length] | all(. == $n)'"
	out=$("$S" "${cli[@]}" --server "$api" bench produce "$t" --records "$recs" --size "$SIZE" --acks all 2>&1) || { echo "$out" >&2; return 1; }
	awk '/^throughput/ {print $2}' <<<"$out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "side by side, $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $("$NS" --version), $("$NATS" --version 2>&1), sluice $(git rev-parse --short HEAD)"
echo "1 KiB records ($SIZE B), acks=all (min.insync.replicas 2 at R3) vs JetStream async publish, file storage; Sluice with authentication, R3 over https (a multi-node sluice server requires TLS)"
printf '%-4s %-11s %-12s %14s %14s %8s\n' R class sluice-parts sluice-rec/s jetstream-msg/s ratio
consumed=() summary=()
for n in 1 3; do
	for class in $CLASSES; do
		jsmsgs=$RECORDS slrecs=$RECORDS
		[ "$class" = fsync ] && jsmsgs=$JS_FSYNC_MSGS slrecs=$FSYNC_RECORDS
		jetstream "$n" "$class"
		js=$(js_pub "$n" "$jsmsgs")
		jsc=""
		[ "$class" = replicated ] && jsc=$(js_consume "$jsmsgs")
		stop_all
		sluice_cluster "$n" "$class"
		for p in $PARTITIONS; do
			sl=$(sluice_pub "$n" "$class" "$p" "$slrecs")
			printf '%-4s %-11s %-12s %14s %14s %8s\n' "R$n" "$class" "$p" "$sl" "$js" "$(ratio "$sl" "$js")"
			summary+=("produce R$n $class ${p}p $(ratio "$sl" "$js")x")
			if [ -n "$jsc" ]; then
				slc=$(sluice_consume "sbs-$class-$p" "$slrecs")
				consumed+=("$(printf '%-4s %-11s %-12s %14s %14s %8s' "R$n" "$class" "$p" "$slc" "$jsc" "$(ratio "$slc" "$jsc")")")
				summary+=("consume R$n $class ${p}p $(ratio "$slc" "$jsc")x")
			fi
		done
		stop_all
	done
done
echo "consume the backlog just produced (sluice bench consume from earliest vs nats bench js ordered)"
printf '%-4s %-11s %-12s %14s %14s %8s\n' R class sluice-parts sluice-rec/s jetstream-msg/s ratio
printf '%s\n' "${consumed[@]}"
echo "ratios sluice/jetstream (produce and consume side by side; targets: R3 6p produce >= 1.5x, R3 1p >= 1.0x, R1 >= 2x, consume >= 2x):"
printf '  %s\n' "${summary[@]}"
