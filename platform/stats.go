package platform

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/platform/stats"
)

// startStats samples the node's produce/fetch counters and group lag from
// reg into a short history served at /v1/stats/history (the console's
// charts). Close stops it (stopStats).
func (n *Node) startStats(reg *prometheus.Registry) {
	n.stats = stats.NewSampler(stats.FromRegistry(reg), n.cfg.Timing.StatsInterval, 0)
	n.stats.Start()
	n.api.HandleStatsHistory(n.stats.History)
}

// stopStats stops the sampler; safe when it never started.
func (n *Node) stopStats() {
	if n.stats != nil {
		n.stats.Close()
	}
}
