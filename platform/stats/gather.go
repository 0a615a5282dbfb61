package stats

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Counter names the registry source sums (docs/monitoring.md): records of
// HTTP and WebSocket produce and fetch, bytes of HTTP ones (WebSocket
// traffic has no byte counter).
var (
	ProduceRecordCounters = []string{"sluice_produce_records_total", "sluice_ws_produce_records_total"}
	ProduceByteCounters   = []string{"sluice_produce_bytes_total"}
	FetchRecordCounters   = []string{"sluice_fetch_records_total", "sluice_ws_fetch_records_total"}
	FetchByteCounters     = []string{"sluice_fetch_bytes_total"}
	// LagGauge is summed by its "group" label.
	LagGauge = "sluice_group_lag"
)

// FromRegistry is a Source that gathers g (the node's Prometheus
// registry) and sums the counters above over all their labels, and the
// lag gauge by group. Names absent from g count as 0.
func FromRegistry(g prometheus.Gatherer) Source {
	return func(context.Context) (Totals, error) {
		fams, err := g.Gather()
		if err != nil && len(fams) == 0 {
			return Totals{}, fmt.Errorf("gather metrics: %w", err)
		}
		sums := map[string]float64{}
		t := Totals{Lag: map[string]int64{}}
		for _, f := range fams {
			name := f.GetName()
			for _, m := range f.GetMetric() {
				var v float64
				switch {
				case m.GetCounter() != nil:
					v = m.GetCounter().GetValue()
				case m.GetGauge() != nil:
					v = m.GetGauge().GetValue()
				default:
					continue
				}
				if name == LagGauge {
					for _, l := range m.GetLabel() {
						if l.GetName() == "group" {
							t.Lag[l.GetValue()] += int64(v)
						}
					}
					continue
				}
				sums[name] += v
			}
		}
		sum := func(names []string) float64 {
			var s float64
			for _, n := range names {
				s += sums[n]
			}
			return s
		}
		t.ProduceRecords, t.ProduceBytes = sum(ProduceRecordCounters), sum(ProduceByteCounters)
		t.FetchRecords, t.FetchBytes = sum(FetchRecordCounters), sum(FetchByteCounters)
		return t, nil
	}
}
