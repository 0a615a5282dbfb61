#!/usr/bin/env bash
# Regenerates the console screenshots in docs/img/ (linked from the README
# and docs/console.md): builds sluice, starts a dev node on spare ports with
# a throw-away data directory, loads sample data with the CLI (topics with
# JSON records, a consumer group with lag, a plugin when wat2wasm is
# installed, a minute of traffic for the charts), and lets headless
# Chromium photograph the main pages with --screenshot. Needs chromium
# (CHROMIUM=/path/to/it to choose one); works offline.
#
#   scripts/screenshots.sh            # PORT=18080 by default
set -euo pipefail
cd "$(dirname "$0")/.."

port=${PORT:-18080}
chrome=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
[ -n "$chrome" ] || { echo "screenshots.sh: no chromium found (set CHROMIUM)" >&2; exit 1; }
tmp=$(mktemp -d)
go build -o "$tmp/sluice" ./cmd/sluice
"$tmp/sluice" dev --data-dir "$tmp/data" --http-addr "127.0.0.1:$port" --raft-addr "127.0.0.1:$((port + 1))" \
  --serf-addr "127.0.0.1:$((port + 2))" --cluster-addr "127.0.0.1:$((port + 3))" >"$tmp/dev.log" 2>&1 &
dev=$!
traffic=""
cleanup() { # never stops half-way (set -e does not apply to its commands' failures)
  set +e
  [ -n "$traffic" ] && kill "$traffic" 2>/dev/null
  [ -n "$traffic" ] && wait "$traffic" 2>/dev/null
  kill "$dev" 2>/dev/null
  wait "$dev" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
url="http://127.0.0.1:$port"
s() { "$tmp/sluice" --server "$url" "$@"; }
for _ in $(seq 100); do s topic list >/dev/null 2>&1 && break; sleep 0.2; done
if [ "$(s topic list 2>/dev/null | wc -l)" -gt 1 ]; then
  echo "screenshots.sh: something with topics already answers on port $port (set PORT)" >&2
  exit 1
fi

s topic create orders --partitions 3 >/dev/null
s topic create clicks --partitions 6 >/dev/null
s topic create audit --partitions 1 >/dev/null
for i in $(seq 1 40); do
  printf 'customer-%d|{"order":%d,"customer":"customer-%d","items":[{"sku":"A-%d","qty":%d}],"total":%d.50}\n' \
    $((i % 7)) "$i" $((i % 7)) "$i" $((i % 3 + 1)) $((i * 3))
done | s produce orders -K '|' >/dev/null
seq 1 300 | sed 's/^/click-/' | s produce clicks >/dev/null
# A group that read nothing yet: its lag is every record of orders.
s group reset-offsets billing --topic orders --to earliest >/dev/null
if command -v wat2wasm >/dev/null; then
  wat2wasm -o "$tmp/partitioner.wasm" examples/wat-partitioner/partitioner.wat
  s plugin upload --name murmur --kind partitioner "$tmp/partitioner.wasm" >/dev/null
fi
# Traffic for the charts: a batch every second (the node samples every 5 s).
( while :; do seq 1 200 | s produce clicks >/dev/null 2>&1; s consume clicks --max 100 --from earliest >/dev/null 2>&1; sleep 1; done ) &
traffic=$!
sleep 40

shot() { # NAME HASH [HEIGHT]
  "$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars --disable-component-update \
    --no-first-run --user-data-dir="$tmp/profile" --window-size=1400,"${3:-1000}" --virtual-time-budget=6000 \
    --screenshot="docs/img/console-$1.png" "$url/#$2" >/dev/null 2>&1
  echo "docs/img/console-$1.png"
}
shot overview "/cluster"
shot topics "/topics"
shot topic "/topics/orders?partition=0&from=earliest" 1700
shot groups "/groups/billing?action=reset-offsets" 1000
shot plugins "/plugins/murmur" 1100
