package httpapi

import (
	"testing"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

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
