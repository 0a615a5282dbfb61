package platform

import (
	"log/slog"
	"os"
	"runtime/debug"
)

// ServerGCPercent is the garbage collector's target a node runs with
// unless GOGC is set (docs/operations.md, "Memory and garbage
// collection"). A node's live heap is small (metadata, indexes, buffers in
// flight; record data lives in files and the page cache), so Go's default
// of 100 collects every few megabytes of allocation: on a 2-core machine
// three replicated nodes spent their p99 in collections (RF 3 acks=all at
// 10,000 rec/s, 6 partitions: p99 3.9-5.1 ms at 100, 2.2-2.5 ms at 400,
// docs/benchmarks.md). 400 lets the heap grow to five times the live heap
// between collections; GOMEMLIMIT caps it where memory is tight.
const ServerGCPercent = 400

// TuneGC applies ServerGCPercent unless the operator set GOGC: `sluice
// server` and `sluice dev` call it at start, and benchmarks that measure a
// node's latency in their own process do too.
func TuneGC(logger *slog.Logger) {
	if v, set := os.LookupEnv("GOGC"); set {
		logger.Debug("garbage collector target from GOGC", "gogc", v)
		return
	}
	debug.SetGCPercent(ServerGCPercent)
}
