package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
)

// fault is one named kind of failure. inject applies it and returns the
// heal (nil when inject already healed, e.g. a crash and restart), and
// the node it hit.
type fault struct {
	name   string
	inject func(t testing.TB, c *cluster, rng *rand.Rand) (heal func(), victim int32, err error)
	// needsFabric: the scenario's cluster routes node-to-node traffic
	// through a fabric the fault cuts.
	needsFabric bool
}

// faults lists every kind, in report order.
var faults = []fault{
	{"kill-leader", killRole(roleLeader), false},
	{"kill-follower", killRole(roleFollower), false},
	{"kill-controller", killRole(roleController), false},
	{"pause-leader", pauseRole(roleLeader), false},
	{"pause-follower", pauseRole(roleFollower), false},
	{"pause-controller", pauseRole(roleController), false},
	{"disk-loss-fast", diskLoss(false), false},
	{"disk-loss-slow", diskLoss(true), false},
	{"corrupt-partition-file", corruptPartitionFile, false},
	{"corrupt-metadata-file", corruptMetadataFile, false},
	{"rolling-restart", rollingRestart, false},
	{"partition-leader", isolateRole(roleLeader), true},
	{"partition-controller", isolateRole(roleController), true},
	{"join-leave", joinLeave, false},
}

// awaitingFix names the faults known to find anomalies until the fix of
// issue 8 named here is merged; the short suite leaves them out and the
// long suite reports them without failing. Delete an entry once its fix
// is in main and the fault passes
// `SLUICE_CHAOS_STRICT=1 go test -tags chaos ./chaos/`.
var awaitingFix = map[string]string{}

// shortFaults run in the default suite, one after another on one
// cluster: the most important kinds. Those still in awaitingFix are left
// out (and logged) until their entry is deleted.
var shortFaults = []string{"kill-leader", "pause-follower", "kill-controller", "disk-loss-fast"}

func faultByName(name string) fault {
	for _, f := range faults {
		if f.name == name {
			return f
		}
	}
	panic("no fault " + name)
}

type role int

const (
	roleLeader role = iota
	roleFollower
	roleController
)

// pick finds the node in role r: the leader or a follower of a random
// partition (a follower that is not the active controller, so the fault
// hits one thing), or the active controller.
func pick(c *cluster, r role, rng *rand.Rand) (*node, error) {
	if r == roleController {
		id, err := c.controllerLeader()
		if err != nil {
			return nil, err
		}
		return c.node(id), nil
	}
	t, err := c.describe(topicName)
	if err != nil {
		return nil, err
	}
	p := t.Partitions[rng.IntN(len(t.Partitions))]
	if p.Leader < 0 {
		return nil, fmt.Errorf("partition %d has no leader", p.Index)
	}
	if r == roleLeader {
		return c.node(p.Leader), nil
	}
	ctrl, _ := c.controllerLeader()
	var cands []int32
	for _, id := range p.Replicas {
		if id != p.Leader && id != ctrl {
			cands = append(cands, id)
		}
	}
	if len(cands) == 0 {
		for _, id := range p.Replicas {
			if id != p.Leader {
				cands = append(cands, id)
			}
		}
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("partition %d has no follower", p.Index)
	}
	return c.node(cands[rng.IntN(len(cands))]), nil
}

// faultHold is how long a fault lasts before its heal: longer than the
// default failure detection (~5 s), so the cluster must act on it.
const faultHold = 8 * time.Second

func killRole(r role) func(testing.TB, *cluster, *rand.Rand) (func(), int32, error) {
	return func(t testing.TB, c *cluster, rng *rand.Rand) (func(), int32, error) {
		n, err := pick(c, r, rng)
		if err != nil {
			return nil, -1, err
		}
		n.kill()
		return func() { n.start(t) }, n.id, nil
	}
}

func pauseRole(r role) func(testing.TB, *cluster, *rand.Rand) (func(), int32, error) {
	return func(t testing.TB, c *cluster, rng *rand.Rand) (func(), int32, error) {
		n, err := pick(c, r, rng)
		if err != nil {
			return nil, -1, err
		}
		if err := n.signal(syscall.SIGSTOP); err != nil {
			return nil, -1, err
		}
		return func() { _ = n.signal(syscall.SIGCONT) }, n.id, nil
	}
}

// isolateRole cuts the network between the node in role r and the other
// nodes, both ways (clients still reach every node), until the heal.
func isolateRole(r role) func(testing.TB, *cluster, *rand.Rand) (func(), int32, error) {
	return func(t testing.TB, c *cluster, rng *rand.Rand) (func(), int32, error) {
		if c.net == nil {
			return nil, -1, fmt.Errorf("cluster has no fabric")
		}
		n, err := pick(c, r, rng)
		if err != nil {
			return nil, -1, err
		}
		var others []int32
		for _, m := range c.all() {
			if m != n {
				others = append(others, m.id)
			}
		}
		c.net.partition([]int32{n.id}, others)
		return c.net.heal, n.id, nil
	}
}

// diskLoss kills a partition leader and wipes its data directory; fast
// restarts it with the same id at once (before the cluster noticed),
// slow once the controller has fenced it.
func diskLoss(slow bool) func(testing.TB, *cluster, *rand.Rand) (func(), int32, error) {
	return func(t testing.TB, c *cluster, rng *rand.Rand) (func(), int32, error) {
		n, err := pick(c, roleLeader, rng)
		if err != nil {
			return nil, -1, err
		}
		n.kill()
		if err := os.RemoveAll(n.dir); err != nil {
			return nil, -1, err
		}
		if !slow {
			n.start(t)
			return nil, n.id, nil
		}
		return func() {
			waitFenced(c, n.id, 30*time.Second)
			n.start(t)
		}, n.id, nil
	}
}

// waitFenced polls /v1/cluster until a live node reports id fenced, or
// gives up after timeout (the heal proceeds either way).
func waitFenced(c *cluster, id int32, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		fenced := false
		_ = c.ask(func(cl *client.Client) error {
			info, err := cl.Cluster(context.Background())
			if err != nil {
				return err
			}
			for _, b := range info.Brokers {
				if b.ID == id && (b.Fenced || b.State != "alive") {
					fenced = true
				}
			}
			return nil
		})
		if fenced {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// corruptPartitionFile stops a follower of a partition, flips bytes in
// that partition's bbolt file (past bbolt's two meta pages, where the
// batches are) and restarts it.
func corruptPartitionFile(t testing.TB, c *cluster, rng *rand.Rand) (func(), int32, error) {
	tp, err := c.describe(topicName)
	if err != nil {
		return nil, -1, err
	}
	p := tp.Partitions[rng.IntN(len(tp.Partitions))]
	n, err := pick(c, roleFollower, rng)
	if err != nil {
		return nil, -1, err
	}
	files, _ := filepath.Glob(filepath.Join(n.dir, "partitions", topicName+"-*", strconv.Itoa(int(p.Index))+".db"))
	n.kill()
	if len(files) == 0 {
		n.start(t)
		return nil, n.id, fmt.Errorf("node %d has no file of partition %d", n.id, p.Index)
	}
	if err := flipBytes(files[0], 2*4096, 32, rng); err != nil {
		n.start(t)
		return nil, n.id, err
	}
	t.Logf("corrupt-partition-file: flipped 32 bytes of %s", files[0])
	n.start(t)
	return func() {
		// What the node made of it, for the log: the broker moves a file
		// it finds damaged aside (<file>.damaged-<ns>) and rebuilds the
		// replica; a flip in pages nothing reads goes unnoticed.
		aside, _ := filepath.Glob(files[0] + ".damaged-*")
		t.Logf("corrupt-partition-file: node %d running %v, damaged files moved aside: %d", n.id, n.running(), len(aside))
	}, n.id, nil
}

// corruptMetadataFile stops a controller that is not the active one,
// flips bytes in its raft log (controller/raft.db) and restarts it. The
// heal is the operator's recovery of docs/controller.md ("Integrity"):
// when the node reports controller_halted (its controller refused a
// damaged entry) or does not come up, its controller data is removed and
// it is restarted, so that it receives the log from the quorum again. A
// flip that hit no entry (free pages) leaves a healthy node: nothing to do.
func corruptMetadataFile(t testing.TB, c *cluster, rng *rand.Rand) (func(), int32, error) {
	ctrl, err := c.controllerLeader()
	if err != nil {
		return nil, -1, err
	}
	var n *node
	for _, m := range c.all() {
		if m.id != ctrl {
			n = m
			break
		}
	}
	n.kill()
	path := filepath.Join(n.dir, "controller", "raft.db")
	if err := flipBytes(path, 2*4096, 32, rng); err != nil {
		n.start(t)
		return nil, n.id, err
	}
	t.Logf("corrupt-metadata-file: flipped 32 bytes of %s", path)
	n.start(t)
	return func() {
		status := "healthy"
		err := poll(30*time.Second, func() error {
			if !n.running() {
				status = "down"
				return nil
			}
			code, body, err := n.healthz()
			switch {
			case err != nil:
				return err
			case code == http.StatusOK:
				return nil
			case strings.Contains(body, "controller_halted"):
				status = "controller_halted"
				return nil
			}
			return fmt.Errorf("healthz %d %s", code, body)
		})
		if err != nil {
			status = err.Error()
		}
		t.Logf("corrupt-metadata-file: node %d after the restart: %s", n.id, status)
		if status == "down" {
			t.Logf("corrupt-metadata-file: node %d's last words: %s", n.id, lastWords(n.logPath))
		}
		if status == "healthy" {
			return
		}
		n.kill()
		if err := os.RemoveAll(filepath.Join(n.dir, "controller")); err != nil {
			t.Logf("corrupt-metadata-file: %v", err)
		}
		t.Logf("corrupt-metadata-file: removed node %d's controller data, restarting it", n.id)
		n.start(t)
	}, n.id, nil
}

// lastWords returns how the process at path's log ended: from its last
// "panic:" line, the panic and the first frames (up to 16 lines), else the
// last 3 lines; joined by " | ".
func lastWords(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	from := max(len(lines)-3, 0)
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "panic:") {
			from = i
			break
		}
	}
	return strings.Join(lines[from:min(len(lines), from+16)], " | ")
}

// flipBytes inverts n random bytes of path at or past offset from.
func flipBytes(path string, from int64, n int, rng *rand.Rand) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if int64(len(b)) <= from {
		return fmt.Errorf("%s: %d bytes, nothing past %d to damage", path, len(b), from)
	}
	for range n {
		i := from + rng.Int64N(int64(len(b))-from)
		b[i] ^= 0xff
	}
	return os.WriteFile(path, b, 0o600)
}

// rollingRestart stops each node cleanly (SIGTERM) and starts it again,
// one after the other, waiting for a settled cluster before the next. A
// node that does not settle ends the roll there (restarting the next one
// would take a second replica away); the scenario records it as unhealed.
func rollingRestart(t testing.TB, c *cluster, rng *rand.Rand) (func(), int32, error) {
	for _, n := range c.all() {
		n.stop(30 * time.Second)
		n.start(t)
		if err := c.waitSettled(topicName, settleTimeout); err != nil {
			t.Logf("rolling-restart: stopped after node %d: %v", n.id, err)
			return nil, n.id, nil
		}
	}
	return nil, -1, nil
}

// joinLeave is a membership change under load: a fourth node (both
// roles) joins, which adds a voter to the metadata quorum, serves for a
// while, then stops cleanly and leaves (its serf leave makes the
// controller drop it). The topic's partitions stay on the first three
// nodes: Sluice has no partition reassignment to move them.
func joinLeave(t testing.TB, c *cluster, rng *rand.Rand) (func(), int32, error) {
	n := c.newNode(1)
	c.add(n)
	n.start(t)
	if err := poll(settleTimeout, n.healthy); err != nil {
		t.Logf("join-leave: %v", err)
	}
	return func() {
		n.stop(30 * time.Second)
		c.remove(n)
		// The scenario's settle check covers the three remaining nodes;
		// a left node still listed alive is logged, not failed.
		if err := poll(settleTimeout, func() error {
			return c.ask(func(cl *client.Client) error {
				info, err := cl.Cluster(context.Background())
				if err != nil {
					return err
				}
				for _, b := range info.Brokers {
					if b.ID == n.id && b.State == "alive" {
						return fmt.Errorf("node %d still %s", n.id, b.State)
					}
				}
				return nil
			})
		}); err != nil {
			t.Logf("join-leave: %v", err)
		}
	}, n.id, nil
}

// event is one injected fault, for the failover figures.
type event struct {
	fault  string
	victim int32
	at     time.Time
}

// failover is the time from the fault until every partition took an
// acks=all write again: per partition, the end of the first acknowledged
// attempt that started after the fault; the largest of those. ok is false
// when some partition never took one.
func failover(h History, at time.Time) (time.Duration, bool) {
	var worst time.Duration
	for p := range h.Partitions {
		var first time.Time
		for _, w := range h.Writes {
			if w.Target == p && w.Outcome == Acked && !w.Start.Before(at) && (first.IsZero() || w.End.Before(first)) {
				first = w.End
			}
		}
		if first.IsZero() {
			return 0, false
		}
		worst = max(worst, first.Sub(at))
	}
	return worst, true
}
