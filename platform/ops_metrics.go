package platform

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/platform/meta"
)

// opsScrapeTimeout bounds the group descriptions of one scrape.
const opsScrapeTimeout = 2 * time.Second

// opsCollector exports, at scrape time, the series operators alert on
// (docs/monitoring.md): controller and raft state; cluster-wide partition
// and broker health, reported by the active controller only so that a sum
// over nodes counts each partition once; the size of local replicas; and
// the committed offsets and lag of the consumer groups this node
// coordinates (each group has one coordinator).
type opsCollector struct{ n *Node }

var (
	descControllerActive = prometheus.NewDesc("sluice_controller_active", "1 on the node whose controller leads the raft quorum, 0 on other controllers.", nil, nil)
	descRaftState        = prometheus.NewDesc("sluice_controller_raft_state", "1 for this controller's current raft state (Leader, Follower, Candidate, Shutdown).", []string{"state"}, nil)
	descControllerHalted = prometheus.NewDesc("sluice_controller_halted", "1 when this node's controller refused a corrupt metadata entry and stopped applying.", nil, nil)
	descClusterParts     = prometheus.NewDesc("sluice_cluster_partitions", "Partitions of the cluster by condition (total, offline: no leader, under_replicated: ISR smaller than the replicas, under_min_isr: ISR smaller than min.insync.replicas, not_preferred_leader: led by a replica other than the first); reported by the active controller only.", []string{"state"}, nil)
	descClusterBrokers   = prometheus.NewDesc("sluice_cluster_brokers", "Registered brokers by state (alive, fenced); reported by the active controller only.", []string{"state"}, nil)
	descLeaderEpoch      = prometheus.NewDesc("sluice_metadata_version", "Version (raft index) of the metadata this node applied.", nil, nil)
	descLogBytes         = prometheus.NewDesc("sluice_partition_log_bytes", "Size on disk of the local replica's log.", []string{"topic", "partition"}, nil)
	descGroupCommitted   = prometheus.NewDesc("sluice_group_committed_offset", "Committed offset of a consumer group in a partition (groups this node coordinates; partitions with a commit).", []string{"group", "topic", "partition"}, nil)
	descGroupLag         = prometheus.NewDesc("sluice_group_lag", "Records between a group's committed offset and the log end (partitions with a commit).", []string{"group", "topic", "partition"}, nil)
	descGroupMembers     = prometheus.NewDesc("sluice_group_members", "Connected members of a consumer group this node coordinates.", []string{"group"}, nil)
	descGroupRebalances  = prometheus.NewDesc("sluice_group_rebalances_total", "Rebalances (generations) of a consumer group since its coordinator took it over (groups this node coordinates; resets when the coordinator moves).", []string{"group"}, nil)
	descFollowerLag      = prometheus.NewDesc("sluice_partition_follower_lag_records", "On a partition leader: records between the leader's log end and a follower's log end as its last fetch reported it (followers that have fetched since this leadership began).", []string{"topic", "partition", "follower"}, nil)
)

// registerOpsMetrics adds the collector and the ISR counters to reg.
func (n *Node) registerOpsMetrics(reg *prometheus.Registry) error {
	if err := reg.Register(&opsCollector{n: n}); err != nil {
		return err
	}
	if err := reg.Register(&n.isr); err != nil {
		return err
	}
	wsm, err := newWSCounters(reg)
	if err != nil {
		return err
	}
	n.wsm = wsm
	return nil
}

// isrCounters count the ISR changes this node's broker committed as a
// partition leader (each change has one proposer, so a sum over nodes
// counts each once). The zero value is ready.
type isrCounters struct {
	shrinks, expands atomic.Int64
}

var (
	descISRShrinks = prometheus.NewDesc("sluice_isr_shrinks_total", "ISR shrinks this node committed as partition leader (a follower fell behind or away).", nil, nil)
	descISRExpands = prometheus.NewDesc("sluice_isr_expands_total", "ISR expands this node committed as partition leader (a follower caught up).", nil, nil)
)

func (c *isrCounters) Describe(ch chan<- *prometheus.Desc) {
	ch <- descISRShrinks
	ch <- descISRExpands
}

func (c *isrCounters) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descISRShrinks, prometheus.CounterValue, float64(c.shrinks.Load()))
	ch <- prometheus.MustNewConstMetric(descISRExpands, prometheus.CounterValue, float64(c.expands.Load()))
}

// isrBefore is the ISR size an AlterPartition command changes, from the
// metadata this node applied; -1 for other commands or when unknown.
func (n *Node) isrBefore(cmd meta.Command) int {
	ap := cmd.AlterPartition
	if cmd.Op != meta.OpAlterPartition || ap == nil || n.broker == nil {
		return -1
	}
	t, ok := n.broker.Cluster().Topic(ap.Topic)
	if !ok || ap.Partition < 0 || int(ap.Partition) >= len(t.Partitions) {
		return -1
	}
	return len(t.Partitions[ap.Partition].ISR)
}

// observe counts a committed AlterPartition by whether it shrank or grew
// the ISR from before entries; *err is the proposal's outcome.
func (c *isrCounters) observe(before int, cmd meta.Command, err *error) {
	if *err != nil || before < 0 || cmd.AlterPartition == nil {
		return
	}
	switch after := len(cmd.AlterPartition.ISR); {
	case after < before:
		c.shrinks.Add(1)
	case after > before:
		c.expands.Add(1)
	}
}

func (c *opsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descControllerActive, descRaftState, descControllerHalted, descClusterParts,
		descClusterBrokers, descLeaderEpoch, descLogBytes, descGroupCommitted, descGroupLag, descGroupMembers,
		descGroupRebalances, descFollowerLag} {
		ch <- d
	}
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *opsCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.n
	gauge(ch, descLeaderEpoch, float64(n.metadata().Version))
	if ctl := n.controller; ctl != nil {
		active := ctl.IsLeader()
		gauge(ch, descControllerActive, b2f(active))
		state := ctl.RaftState()
		for _, s := range []string{"Leader", "Follower", "Candidate", "Shutdown"} {
			gauge(ch, descRaftState, b2f(s == state), s)
		}
		gauge(ch, descControllerHalted, b2f(ctl.Halted() != nil))
		if active {
			collectCluster(ch, ctl.Metadata())
		}
	}
	if b := n.broker; b != nil {
		for _, p := range b.Partitions(nil) {
			part := strconv.Itoa(int(p.Partition))
			gauge(ch, descLogBytes, float64(p.LogBytes), p.Topic, part)
			if !p.Leader {
				continue
			}
			for id, leo := range p.ReplicaLogEnds {
				if leo >= 0 {
					gauge(ch, descFollowerLag, float64(max(p.LogEnd-leo, 0)), p.Topic, part, strconv.Itoa(int(id)))
				}
			}
		}
	}
	if g := n.groups; g != nil {
		ctx, cancel := context.WithTimeout(context.Background(), opsScrapeTimeout)
		defer cancel()
		list, err := g.List(ctx)
		if err != nil {
			return // not ready yet: no group series this scrape
		}
		for _, s := range list {
			gauge(ch, descGroupMembers, float64(s.Members), s.Group)
			d, err := g.Describe(ctx, s.Group)
			if err != nil {
				continue
			}
			ch <- prometheus.MustNewConstMetric(descGroupRebalances, prometheus.CounterValue, float64(d.Generation), s.Group)
			for _, o := range d.Offsets {
				if o.Committed < 0 {
					continue // nothing committed: no position to measure from
				}
				part := strconv.Itoa(int(o.Partition))
				gauge(ch, descGroupCommitted, float64(o.Committed), s.Group, o.Topic, part)
				gauge(ch, descGroupLag, float64(o.Lag), s.Group, o.Topic, part)
			}
		}
	}
}

// clusterCounts is what collectCluster reports, as a plain value.
type clusterCounts struct {
	total, offline, underReplicated, underMinISR int
	// notPreferred counts partitions with a leader that is not their
	// first (preferred) replica: the leader imbalance.
	notPreferred  int
	alive, fenced int
}

func countCluster(c *meta.Cluster) clusterCounts {
	var out clusterCounts
	for _, name := range c.TopicNames() {
		t := c.Topics[name]
		for _, p := range t.Partitions {
			out.total++
			if p.Leader == meta.NoLeader {
				out.offline++
			}
			if len(p.ISR) < len(p.Replicas) {
				out.underReplicated++
			}
			if len(p.ISR) < t.Config.MinInsyncReplicas {
				out.underMinISR++
			}
			if p.Leader != meta.NoLeader && len(p.Replicas) > 0 && p.Leader != p.Replicas[0] {
				out.notPreferred++
			}
		}
	}
	for _, b := range c.BrokerList() {
		if !b.HasRole(meta.RoleBroker) {
			continue
		}
		if b.Alive() {
			out.alive++
		} else {
			out.fenced++
		}
	}
	return out
}

func collectCluster(ch chan<- prometheus.Metric, c *meta.Cluster) {
	k := countCluster(c)
	gauge(ch, descClusterParts, float64(k.total), "total")
	gauge(ch, descClusterParts, float64(k.offline), "offline")
	gauge(ch, descClusterParts, float64(k.underReplicated), "under_replicated")
	gauge(ch, descClusterParts, float64(k.underMinISR), "under_min_isr")
	gauge(ch, descClusterParts, float64(k.notPreferred), "not_preferred_leader")
	gauge(ch, descClusterBrokers, float64(k.alive), "alive")
	gauge(ch, descClusterBrokers, float64(k.fenced), "fenced")
}
