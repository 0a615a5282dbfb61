package httpapi

import (
	"testing"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

func TestETA(t *testing.T) {
	for _, tc := range []struct {
		left int64
		rate float64
		want float64
	}{
		{0, -1, 0},
		{0, 0, 0},
		{-1, 100, -1},
		{1000, -1, -1},
		{1000, 0, -1}, // stalled
		{1000, 250, 4},
		{3 << 20, 1 << 20, 3},
	} {
		if got := eta(tc.left, tc.rate); got != tc.want {
			t.Errorf("eta(%d, %v) = %v, want %v", tc.left, tc.rate, got, tc.want)
		}
	}
}

func TestReplicaCopy(t *testing.T) {
	// Known: 10 MiB on the leader, 4 MiB copied at 1 MiB/s, throttled.
	rc := replicaCopy(4, 10<<20, &broker.CopyProgress{LogBytes: 4 << 20, Rate: 1 << 20, Throttle: 1 << 20})
	want := wire.ReplicaCopy{Replica: 4, LogBytes: 4 << 20, Throttled: true,
		CopyProgress: wire.CopyProgress{BytesLeft: 6 << 20, Rate: 1 << 20, ETASeconds: 6}}
	if rc != want {
		t.Fatalf("known: %+v, want %+v", rc, want)
	}
	// A copy ahead of the leader's size (retention removed the leader's
	// head first) has nothing left.
	if rc := replicaCopy(4, 1000, &broker.CopyProgress{LogBytes: 1200, Rate: -1}); rc.BytesLeft != 0 || rc.ETASeconds != 0 || rc.Rate != -1 {
		t.Fatalf("ahead: %+v", rc)
	}
	// No report from the replica's broker, or no leader figures.
	for _, rc := range []wire.ReplicaCopy{replicaCopy(4, 1000, nil), replicaCopy(4, -1, &broker.CopyProgress{LogBytes: 5, Rate: 10})} {
		if rc.BytesLeft != -1 || rc.ETASeconds != -1 || rc.Unknown != 1 {
			t.Fatalf("unknown: %+v", rc)
		}
	}
}

func TestSumProgress(t *testing.T) {
	cp := func(left int64, rate, eta float64, unknown int) wire.CopyProgress {
		return wire.CopyProgress{BytesLeft: left, Rate: rate, ETASeconds: eta, Unknown: unknown}
	}
	for _, tc := range []struct {
		name  string
		parts []wire.CopyProgress
		want  wire.CopyProgress
	}{
		{"nothing", nil, cp(0, 0, 0, 0)},
		{"two copies", []wire.CopyProgress{cp(100, 10, 10, 0), cp(600, 20, 30, 0)}, cp(700, 30, 30, 0)},
		{"one done, rate unknown", []wire.CopyProgress{cp(0, -1, 0, 0), cp(600, 20, 30, 0)}, cp(600, 20, 30, 0)},
		{"one stalled", []wire.CopyProgress{cp(100, 0, -1, 0), cp(600, 20, 30, 0)}, cp(700, 20, -1, 0)},
		{"one unknown", []wire.CopyProgress{cp(-1, -1, -1, 1), cp(600, 20, 30, 0)}, cp(600, 20, -1, 1)},
		{"all unknown", []wire.CopyProgress{cp(-1, -1, -1, 1), cp(-1, -1, -1, 2)}, cp(-1, -1, -1, 3)},
	} {
		if got := sumProgress(tc.parts); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestFillProgress(t *testing.T) {
	p := &meta.Partition{Topic: "t", Index: 0, Replicas: []meta.NodeID{1, 4, 5, 2}, ISR: []meta.NodeID{1, 2},
		AddingReplicas: []meta.NodeID{4, 5}, RemovingReplicas: []meta.NodeID{2}, ReassignThrottle: 1 << 20}
	copies := map[copyKey]broker.CopyProgress{
		{"t", 0, 4}: {Topic: "t", LogBytes: 8 << 20, Rate: 1 << 20, Throttle: 1 << 20},
		{"t", 0, 5}: {Topic: "t", LogBytes: 2 << 20, Rate: 2 << 20, Throttle: 1 << 20},
		{"t", 1, 5}: {Topic: "t", Partition: 1, LogBytes: 0, Rate: 0},
	}
	var st wire.ReassignmentStatus
	fillProgress(&st, p, 10<<20, copies)
	if st.Throttle != 1<<20 || st.LeaderLogBytes != 10<<20 || len(st.Copies) != 2 || st.Copies[0].BytesLeft != 2<<20 || st.Copies[1].BytesLeft != 8<<20 {
		t.Fatalf("status: %+v", st)
	}
	// 10 MiB left at 3 MiB/s together; the slower copy needs 4 s.
	if want := (wire.CopyProgress{BytesLeft: 10 << 20, Rate: 3 << 20, ETASeconds: 4}); st.Progress != want {
		t.Fatalf("progress %+v, want %+v", st.Progress, want)
	}
	list := wire.ReassignmentList{Reassignments: []wire.ReassignmentStatus{st, {Progress: wire.CopyProgress{Rate: 0}}}}
	totalProgress(&list)
	if list.Total != st.Progress {
		t.Fatalf("total %+v", list.Total)
	}
}
