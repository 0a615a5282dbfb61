package broker

import (
	"slices"
	"testing"
	"time"
)

// The follower's decisions on the leader's answers, as plain values: no
// logs, no network.
func TestNextFollowerStep(t *testing.T) {
	// The follower's own epochs: 1 from 0, 3 from 50, log end 80.
	local := func(e int32) int64 {
		switch {
		case e < 1:
			return 0
		case e < 3:
			return 50
		default:
			return 80
		}
	}
	for _, c := range []struct {
		name string
		pos  FollowerPosition
		res  ReplicaFetchResult
		want FollowerStep
	}{
		{"plain fetch appends", FollowerPosition{LEO: 80, Asked: -1},
			ReplicaFetchResult{Batches: [][]byte{{1}}, HighWatermark: 70, LogEnd: 90}, FollowerStep{Kind: StepAppend}},
		{"leader has the follower's latest epoch up to 60: cut the divergent tail", FollowerPosition{LEO: 80, Asked: 3},
			ReplicaFetchResult{EpochEnd: &EpochEnd{Epoch: 3, EndOffset: 60}}, FollowerStep{Kind: StepTruncate, Offset: 60}},
		{"leader never had epoch 3: keep what both have of epoch 1", FollowerPosition{LEO: 80, Asked: 3},
			ReplicaFetchResult{EpochEnd: &EpochEnd{Epoch: 1, EndOffset: 70}}, FollowerStep{Kind: StepTruncate, Offset: 50}},
		{"leader's epoch ends past the follower: nothing to cut", FollowerPosition{LEO: 80, Asked: 3},
			ReplicaFetchResult{EpochEnd: &EpochEnd{Epoch: 3, EndOffset: 120}}, FollowerStep{Kind: StepTruncate, Offset: 80}},
		{"leader knows no epoch up to the one asked: everything goes", FollowerPosition{LEO: 80, Asked: 3},
			ReplicaFetchResult{EpochEnd: &EpochEnd{Epoch: -1, EndOffset: -1}}, FollowerStep{Kind: StepTruncate, Offset: 0}},
		{"truncation below the follower's log start restarts the log", FollowerPosition{LogStart: 40, LEO: 80, Asked: 3},
			ReplicaFetchResult{EpochEnd: &EpochEnd{Epoch: 1, EndOffset: 30}, LogStart: 20}, FollowerStep{Kind: StepRestartAt, Offset: 30}},
		{"follower behind the leader's log start restarts there", FollowerPosition{LEO: 80, Asked: -1},
			ReplicaFetchResult{Error: ErrCodeOutOfRange, LogStart: 200, LogEnd: 300}, FollowerStep{Kind: StepRestartAt, Offset: 200}},
		{"follower past the leader's end checks its epoch again", FollowerPosition{LEO: 80, Asked: -1},
			ReplicaFetchResult{Error: ErrCodeOutOfRange, LogStart: 0, LogEnd: 60}, FollowerStep{Kind: StepRecheck}},
		{"fenced epoch waits for metadata", FollowerPosition{LEO: 80, Asked: -1},
			ReplicaFetchResult{Error: ErrCodeFencedEpoch}, FollowerStep{Kind: StepRetry}},
		{"leader behind on metadata", FollowerPosition{LEO: 80, Asked: 3},
			ReplicaFetchResult{Error: ErrCodeUnknownEpoch}, FollowerStep{Kind: StepRetry}},
		{"not the leader", FollowerPosition{LEO: 80, Asked: -1},
			ReplicaFetchResult{Error: ErrCodeNotLeader}, FollowerStep{Kind: StepRetry}},
		{"epoch asked but not answered", FollowerPosition{LEO: 80, Asked: 3},
			ReplicaFetchResult{}, FollowerStep{Kind: StepRetry}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := NextFollowerStep(c.pos, &c.res, local); got != c.want {
				t.Fatalf("NextFollowerStep = %+v, want %+v", got, c.want)
			}
		})
	}
}

// The leader's ISR rules: a follower that stops catching up leaves after
// the lag limit, one that reaches the HW and this leadership's start
// joins, and fetches move the HW over the ISR only.
func TestProposedISR(t *testing.T) {
	t0 := time.Unix(1000, 0)
	lag := 10 * time.Second
	r := NewReplication(1, 5, []int32{1, 2, 3}, []int32{1, 2}, 100, 90)
	r.BeganAt(t0)
	if isr, changed := r.ProposedISR(t0.Add(lag), lag); changed {
		t.Fatalf("at the lag limit: %v changed; want no change", isr)
	}
	if adv, _ := r.FollowerFetched(2, 100, t0.Add(time.Second)); !adv || r.HighWatermark() != 100 {
		t.Fatalf("follower 2 at the leader's LEO: advanced %v, HW %d; want 100", adv, r.HighWatermark())
	}
	// Replica 3 is outside the ISR: it never holds the HW, and joins only
	// once it reaches the HW.
	if _, err := r.FollowerFetched(3, 40, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if isr, changed := r.ProposedISR(t0.Add(2*time.Second), lag); changed {
		t.Fatalf("replica 3 at 40 of 100: proposed %v", isr)
	}
	r.FollowerFetched(3, 100, t0.Add(3*time.Second))
	if isr, changed := r.ProposedISR(t0.Add(3*time.Second), lag); !changed || !slices.Equal(isr, []int32{1, 2, 3}) {
		t.Fatalf("replica 3 caught up: proposed %v, %v; want [1 2 3]", isr, changed)
	}
	// The leader appends; follower 2 keeps fetching below the end and
	// never catches up: after the lag limit it leaves.
	r.UpdateLEO(1, 200)
	r.SetISR([]int32{1, 2, 3})
	for s := 4; s < 20; s++ {
		r.FollowerFetched(2, 150, t0.Add(time.Duration(s)*time.Second))
		r.FollowerFetched(3, 200, t0.Add(time.Duration(s)*time.Second))
	}
	isr, changed := r.ProposedISR(t0.Add(20*time.Second), lag)
	if !changed || !slices.Equal(isr, []int32{1, 3}) {
		t.Fatalf("follower 2 stuck at 150 since 200 was appended: proposed %v, %v; want [1 3]", isr, changed)
	}
	if r.HighWatermark() != 150 {
		t.Fatalf("HW %d with follower 2 still in the ISR at 150; want 150", r.HighWatermark())
	}
	if adv := r.SetISR(isr); !adv || r.HighWatermark() != 200 {
		t.Fatalf("after the shrink: advanced %v, HW %d; want 200", adv, r.HighWatermark())
	}
	// A follower that fetches with less (it restarted and lost an
	// unsynced tail) is believed, but the HW never moves back.
	r.FollowerFetched(3, 180, t0.Add(21*time.Second))
	if leo, _ := r.LEO(3); leo != 180 || r.HighWatermark() != 200 {
		t.Fatalf("follower 3 back at 180: LEO %d, HW %d; want 180, 200", leo, r.HighWatermark())
	}
	if _, err := r.FollowerFetched(1, 10, t0); err == nil {
		t.Fatal("the leader reported as a follower: want an error")
	}
}

// While a follower's joining the ISR is proposed, the HW waits for it
// too: once the controller has committed it, it may be elected, and it
// must then hold everything below the HW.
func TestHWWaitsForReplicasJoiningTheISR(t *testing.T) {
	now := time.Unix(1000, 0)
	r := NewReplication(1, 2, []int32{1, 2, 3}, []int32{1, 2}, 100, 100)
	r.BeganAt(now)
	r.FollowerFetched(2, 100, now)
	r.FollowerFetched(3, 100, now)
	isr, changed := r.ProposedISR(now, time.Second)
	if !changed || !slices.Equal(isr, []int32{1, 2, 3}) {
		t.Fatalf("proposed %v, %v; want [1 2 3]", isr, changed)
	}
	r.Proposing(isr)
	r.UpdateLEO(1, 150)
	r.FollowerFetched(2, 150, now)
	if r.HighWatermark() != 100 {
		t.Fatalf("HW %d while 3 (at 100) is joining; want 100", r.HighWatermark())
	}
	if !r.ProposalFailed() || r.HighWatermark() != 150 {
		t.Fatalf("HW %d after the proposal was refused; want 150", r.HighWatermark())
	}
	r.Proposing(isr)
	r.UpdateLEO(1, 200)
	r.FollowerFetched(2, 200, now)
	r.FollowerFetched(3, 180, now)
	if r.HighWatermark() != 180 {
		t.Fatalf("HW %d with 3 joining at 180; want 180", r.HighWatermark())
	}
	if r.SetISR(isr); r.HighWatermark() != 180 {
		t.Fatalf("HW %d after the commit; want 180", r.HighWatermark())
	}
}

func TestFollowerHighWatermarkNeverMovesBack(t *testing.T) {
	cases := []struct{ cur, leaderHW, leo, want int64 }{
		{0, 10, 20, 10},  // takes the leader's HW
		{0, 30, 20, 20},  // capped by its own log end
		{15, 10, 20, 15}, // a lower answer (a new leader not yet settled) keeps its HW
		{15, 15, 15, 15},
	}
	for _, c := range cases {
		if got := FollowerHighWatermark(c.cur, c.leaderHW, c.leo); got != c.want {
			t.Errorf("FollowerHighWatermark(%d, %d, %d) = %d, want %d", c.cur, c.leaderHW, c.leo, got, c.want)
		}
	}
}
