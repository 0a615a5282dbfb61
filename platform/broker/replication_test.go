package broker

import (
	"errors"
	"testing"
	"time"
)

func TestReplicationHWIsMinLEOOverISR(t *testing.T) {
	r := NewReplication(1, 5, []int32{1, 2, 3}, []int32{1, 2, 3}, 10, 4)
	if got := r.HighWatermark(); got != 4 {
		t.Fatalf("new leader HW = %d, want the checkpoint 4 while followers' LEOs are unknown", got)
	}
	steps := []struct {
		replica  int32
		leo      int64
		wantHW   int64
		advanced bool
	}{
		{2, 8, 4, false},  // 3 still unknown
		{3, 6, 6, true},   // min(10, 8, 6)
		{3, 12, 8, true},  // min(10, 8, 12)
		{2, 7, 8, false},  // stale report from 2 is ignored
		{1, 15, 8, false}, // 2 is still at 8
	}
	for i, s := range steps {
		adv, err := r.UpdateLEO(s.replica, s.leo)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if adv != s.advanced || r.HighWatermark() != s.wantHW {
			t.Fatalf("step %d (replica %d LEO %d): HW %d advanced %v, want %d %v",
				i, s.replica, s.leo, r.HighWatermark(), adv, s.wantHW, s.advanced)
		}
	}
	if _, err := r.UpdateLEO(9, 1); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("LEO from an unassigned replica: err %v, want ErrInvalidRequest", err)
	}
}

func TestReplicationSoleLeaderCommitsAtOnce(t *testing.T) {
	r := NewReplication(1, 0, []int32{1}, []int32{1}, 0, 0)
	for leo := int64(1); leo <= 3; leo++ {
		adv, _ := r.UpdateLEO(1, leo)
		if !adv || r.HighWatermark() != leo || !r.Committed(leo) || r.Committed(leo+1) {
			t.Fatalf("LEO %d: HW %d advanced %v", leo, r.HighWatermark(), adv)
		}
	}
}

func TestReplicationShrinkingISRReleasesHWAndNeverMovesItBack(t *testing.T) {
	r := NewReplication(1, 2, []int32{1, 2, 3}, []int32{1, 2, 3}, 100, 0)
	r.UpdateLEO(2, 90)
	r.UpdateLEO(3, 20)
	if r.HighWatermark() != 20 {
		t.Fatalf("HW %d, want 20", r.HighWatermark())
	}
	if !r.SetISR([]int32{1, 2}) || r.HighWatermark() != 90 {
		t.Fatalf("after 3 leaves the ISR: HW %d, want 90", r.HighWatermark())
	}
	// 3 rejoins while behind: the HW stays; it never goes back.
	if r.SetISR([]int32{1, 2, 3}) || r.HighWatermark() != 90 {
		t.Fatalf("after 3 rejoins: HW %d, want 90 kept", r.HighWatermark())
	}
	// The leader cannot be dropped from its own ISR.
	r.SetISR([]int32{2})
	if isr := r.ISR(); len(isr) != 2 {
		t.Fatalf("ISR %v, want the leader kept in it", isr)
	}
}

func TestReplicationCheckProduce(t *testing.T) {
	r := NewReplication(1, 0, []int32{1, 2}, []int32{1}, 0, 0)
	cases := []struct {
		acks   Acks
		minISR int
		want   error
	}{
		{AcksAll, 1, nil},
		{AcksAll, 2, ErrNotEnoughReplicas},
		{AcksLeader, 2, nil},
		{AcksNone, 3, nil},
	}
	for _, c := range cases {
		if err := r.CheckProduce(c.acks, c.minISR); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("acks=%v min.insync=%d: err %v, want %v", c.acks, c.minISR, err, c.want)
		}
	}
}

func TestTruncationOffset(t *testing.T) {
	// The follower's epochs: 1 -> [0,50), 3 -> [50,80). LEO 80.
	local := func(epoch int32) int64 {
		switch {
		case epoch < 1:
			return 0
		case epoch < 3:
			return 50
		}
		return 80
	}
	cases := []struct {
		name   string
		asked  int32
		leader EpochEnd
		want   int64
	}{
		{"same epoch, leader has more", 3, EpochEnd{3, 120}, 80},
		{"same epoch, leader has less", 3, EpochEnd{3, 70}, 70},
		{"leader never had epoch 3", 3, EpochEnd{2, 60}, 50},
		{"leader's epoch 1 ended earlier", 3, EpochEnd{1, 40}, 40},
		{"leader knows no epoch", 3, EpochEnd{-1, -1}, 0},
	}
	for _, c := range cases {
		if got := TruncationOffset(80, c.asked, c.leader, local); got != c.want {
			t.Errorf("%s: truncate to %d, want %d", c.name, got, c.want)
		}
	}
}

func TestParseAcks(t *testing.T) {
	for in, want := range map[string]Acks{"": AcksAll, "1": AcksLeader, "0": AcksNone, "all": AcksAll, "-1": AcksAll} {
		if got, err := ParseAcks(in); err != nil || got != want {
			t.Errorf("ParseAcks(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseAcks("2"); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("ParseAcks(2): %v, want ErrInvalidRequest", err)
	}
}

func TestBroadcastWakesAllWaiters(t *testing.T) {
	b := newBroadcast()
	w1, w2 := b.Wait(), b.Wait()
	select {
	case <-w1:
		t.Fatal("woken before Notify")
	default:
	}
	b.Notify()
	<-w1
	<-w2
	select {
	case <-b.Wait():
		t.Fatal("a new waiter is woken by an old Notify")
	default:
	}
}

// TestReplicationHWAcrossALeaderChange: a follower one fetch round behind
// the old leader's HW (48 of 50) becomes leader. It starts from its own
// HW, never below it, and reaches at least the old leader's HW as soon as
// its ISR has fetched: every ISR member holds what the old leader
// committed.
func TestReplicationHWAcrossALeaderChange(t *testing.T) {
	old := NewReplication(1, 3, []int32{1, 2, 3}, []int32{1, 2, 3}, 50, 0)
	t0 := time.Unix(1000, 0)
	old.FollowerFetched(2, 50, t0)
	old.FollowerFetched(3, 50, t0)
	if old.HighWatermark() != 50 {
		t.Fatalf("old leader HW %d", old.HighWatermark())
	}
	followerHW := FollowerHighWatermark(0, 48, 50) // its last answer said 48
	next := NewReplication(2, 4, []int32{1, 2, 3}, []int32{2, 3}, 50, followerHW)
	if next.HighWatermark() != followerHW {
		t.Fatalf("new leader HW %d, want its own %d", next.HighWatermark(), followerHW)
	}
	if adv, _ := next.FollowerFetched(3, 50, t0); !adv || next.HighWatermark() < old.HighWatermark() {
		t.Fatalf("after the ISR fetched: HW %d, want >= the old leader's %d", next.HighWatermark(), old.HighWatermark())
	}
	// A follower told a lower HW by the new leader keeps its own.
	if got := FollowerHighWatermark(50, followerHW, 50); got != 50 {
		t.Fatalf("follower HW %d", got)
	}
}
