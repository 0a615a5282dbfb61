package platform

import (
	"fmt"
	"os"
	"syscall"
)

// File descriptors and partition replicas.
//
// Every partition replica is a bbolt file the broker keeps open, so a node
// can hold at most as many replicas as it has file descriptors left after
// what it needs for everything else (connections, raft, serf, the plugin
// cache): Config.FDReserve. The node advertises the smaller of that budget
// and Config.MaxReplicas to the controller (a serf tag, recorded as
// meta.Broker.MaxReplicas), and the controller refuses a topic whose
// assignment would pass it, before any file is created
// (meta.CheckReplicaCapacity, API code quota_exceeded).

// Defaults of the limits.
const (
	// DefaultFDReserve is Config.FDReserve's default.
	DefaultFDReserve = 1024
	// fdNearFraction and fdOutFraction of the file limit in use make
	// /healthz warn, then answer 503 out_of_file_descriptors.
	fdNearFraction = 0.80
	fdOutFraction  = 0.95
)

// HealthOutOfFDs is the /healthz status of a node whose open file
// descriptors reached 95% of its file limit: it cannot be relied on to
// accept connections or open partitions.
const HealthOutOfFDs = "out_of_file_descriptors"

// fileLimit is the file descriptor limit the node budgets for: Config's
// FileLimit, else the process's RLIMIT_NOFILE soft limit (which the Go
// runtime raises to the hard limit at start).
func (c *Config) fileLimit() (uint64, error) {
	if c.FileLimit > 0 {
		return c.FileLimit, nil
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("read RLIMIT_NOFILE: %w", err)
	}
	return rl.Cur, nil
}

// minFileLimit is the smallest file limit a node starts with.
const minFileLimit = 64

// replicaCapacity is how many partition replicas the node can hold: the
// file limit less the reserve (FDReserve, but at most half the limit, so
// that a small limit still leaves room for partitions), and at most
// MaxReplicas when that is set.
func (c *Config) replicaCapacity() (int, error) {
	limit, err := c.fileLimit()
	if err != nil {
		return 0, err
	}
	if limit < minFileLimit {
		return 0, fmt.Errorf("%w: file limit %d: a node needs at least %d file descriptors (raise ulimit -n)",
			ErrInvalidConfig, limit, minFileLimit)
	}
	budget := limit - min(uint64(c.FDReserve), limit/2)
	capacity := int(min(budget, uint64(1<<31-1)))
	if c.MaxReplicas > 0 && c.MaxReplicas < capacity {
		capacity = c.MaxReplicas
	}
	return capacity, nil
}

// openFDs counts the process's open file descriptors (Linux: the entries
// of /proc/self/fd); ok is false where that cannot be read.
func openFDs() (n int, ok bool) {
	f, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return 0, false
	}
	return len(names) - 1, true // less the descriptor reading the directory
}

// fdHealth reports the file descriptor state for /healthz: out when 95%
// of the file limit is in use, a warning from 80%.
func (n *Node) fdHealth() (out bool, warning string) {
	used, ok := openFDs()
	if !ok || n.fdLimit == 0 {
		return false, ""
	}
	frac := float64(used) / float64(n.fdLimit)
	msg := fmt.Sprintf("file descriptors: %d of %d in use", used, n.fdLimit)
	switch {
	case frac >= fdOutFraction:
		return true, msg
	case frac >= fdNearFraction:
		return false, msg
	}
	return false, ""
}

// healthWarnings are the /healthz warnings: conditions that do not stop
// the node serving yet but will.
func (n *Node) healthWarnings() []string {
	if _, w := n.fdHealth(); w != "" {
		return []string{w}
	}
	return nil
}
