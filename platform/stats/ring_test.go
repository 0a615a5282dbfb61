package stats

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRingRates(t *testing.T) {
	r := NewRing(3)
	t0 := time.Unix(1000, 0)
	r.Observe(t0, Totals{ProduceRecords: 100, FetchBytes: 50})
	if got := r.Samples(); len(got) != 0 {
		t.Fatalf("first reading makes a sample: %+v", got)
	}
	r.Observe(t0.Add(5*time.Second), Totals{ProduceRecords: 150, ProduceBytes: 500, FetchBytes: 60, Lag: map[string]int64{"a": 3, "b": 4}})
	s := r.Samples()
	if len(s) != 1 || s[0].ProduceRecordsPerSec != 10 || s[0].ProduceBytesPerSec != 100 || s[0].FetchBytesPerSec != 2 ||
		s[0].Lag != 7 || s[0].GroupLag["b"] != 4 || s[0].Time != t0.Add(5*time.Second).UnixMilli() {
		t.Fatalf("sample %+v", s)
	}
	// A counter that went down (registry rebuilt) is a rate of 0, not < 0.
	r.Observe(t0.Add(10*time.Second), Totals{ProduceRecords: 20})
	if s := r.Samples(); s[1].ProduceRecordsPerSec != 0 || s[1].Lag != 0 {
		t.Fatalf("after a reset: %+v", s[1])
	}
	// A reading that is not later than the previous one is ignored.
	r.Observe(t0.Add(10*time.Second), Totals{ProduceRecords: 1e9})
	if n := len(r.Samples()); n != 2 {
		t.Fatalf("same-time reading added a sample: %d", n)
	}
	// The ring keeps the newest 3.
	for i := range 4 {
		r.Observe(t0.Add(time.Duration(15+5*i)*time.Second), Totals{ProduceRecords: 20 + float64(5*(i+1))})
	}
	s = r.Samples()
	if len(s) != 3 || s[2].Time != t0.Add(30*time.Second).UnixMilli() || s[0].Time != t0.Add(20*time.Second).UnixMilli() || s[2].ProduceRecordsPerSec != 1 {
		t.Fatalf("bounded ring %+v", s)
	}
}

func TestTopGroups(t *testing.T) {
	lag := map[string]int64{}
	for i := range 15 {
		lag[string(rune('a'+i))] = int64(i % 5)
	}
	top := topGroups(lag, MaxGroups)
	if len(top) != MaxGroups {
		t.Fatalf("%d groups kept", len(top))
	}
	for g, v := range top {
		if v < 1 { // 3 groups each at 4, 3, 2: the 10th has lag 1
			t.Errorf("kept %s with lag %d while groups with more lag exist", g, v)
		}
	}
	if topGroups(nil, 3) != nil {
		t.Error("no groups gives a map")
	}
}

// TestFromRegistry sums the counters over labels and the lag by group.
func TestFromRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	prod := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_produce_records_total", Help: "x"}, []string{"topic"})
	ws := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_ws_produce_records_total", Help: "x"}, []string{"topic"})
	lag := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: LagGauge, Help: "x"}, []string{"group", "topic", "partition"})
	reg.MustRegister(prod, ws, lag)
	prod.WithLabelValues("a").Add(3)
	prod.WithLabelValues("b").Add(4)
	ws.WithLabelValues("a").Add(5)
	lag.WithLabelValues("g", "a", "0").Set(7)
	lag.WithLabelValues("g", "a", "1").Set(1)
	lag.WithLabelValues("h", "a", "0").Set(2)
	got, err := FromRegistry(reg)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.ProduceRecords != 12 || got.FetchRecords != 0 || got.Lag["g"] != 8 || got.Lag["h"] != 2 {
		t.Fatalf("totals %+v", got)
	}
}

// TestSamplerStartClose: the sampler reads at once and on every tick, and
// Close waits for its goroutine.
func TestSamplerStartClose(t *testing.T) {
	var n float64
	calls := make(chan struct{}, 100)
	s := NewSampler(func(context.Context) (Totals, error) {
		n += 10
		calls <- struct{}{}
		return Totals{FetchRecords: n}, nil
	}, time.Millisecond, time.Second)
	s.Start()
	for range 3 {
		<-calls
	}
	s.Close()
	h := s.History()
	if h.IntervalMs != 0 && h.IntervalMs != 1 || h.WindowMs != 1000 || len(h.Samples) < 2 {
		t.Fatalf("history %+v", h)
	}
	for _, smp := range h.Samples {
		if smp.FetchRecordsPerSec <= 0 {
			t.Fatalf("sample %+v", smp)
		}
	}
	NewSampler(nil, 0, 0).Close() // never started
}
