package groups

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/record"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTestCoordinator(t *testing.T, log *memLog) *Coordinator {
	t.Helper()
	c, err := NewCoordinator(Config{Log: log, Logger: slog.New(slog.DiscardHandler), SessionTimeout: 10 * time.Second, RebalanceTimeout: 5 * time.Second, OffsetsPartitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// owned follows a member's notices like a client does: it returns what the
// member serves and acknowledges revocations at once.
type follower struct {
	m     *Member
	owned map[int32]bool
	gen   int32
}

func (f *follower) drain(t *testing.T) {
	t.Helper()
	for _, n := range f.m.Notices() {
		f.gen = n.Generation
		switch n.Kind {
		case NoticeAssigned:
			for _, p := range n.Partitions {
				f.owned[p] = true
			}
		case NoticeRevoked:
			for _, p := range n.Partitions {
				delete(f.owned, p)
			}
			if err := f.m.AckRevoke(n.Partitions); err != nil {
				t.Fatalf("ack revoke: %v", err)
			}
		case NoticeRemoved:
			f.owned = map[int32]bool{}
		}
	}
}

func TestCoordinatorSessionExpiryMovesPartitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog()
		log.createTopic("orders", 6)
		c := newTestCoordinator(t, log)
		ctx := context.Background()
		var fs []*follower
		for _, id := range []string{"a", "b", "c"} {
			m, err := c.Join(ctx, JoinRequest{Group: "g", Topic: "orders", ClientID: id})
			if err != nil {
				t.Fatal(err)
			}
			fs = append(fs, &follower{m: m, owned: map[int32]bool{}})
			// Settle: every member acknowledges its revocations.
			for range 3 {
				synctest.Wait()
				for _, f := range fs {
					f.drain(t)
				}
			}
		}
		for _, f := range fs {
			if len(f.owned) != 2 {
				t.Fatalf("member %s owns %v, want 2 partitions", f.m.ID(), f.owned)
			}
		}
		// c stops heartbeating; a and b keep going.
		start := time.Now()
		for time.Since(start) < 15*time.Second {
			time.Sleep(time.Second)
			for _, f := range fs[:2] {
				if err := f.m.Heartbeat(); err != nil {
					t.Fatal(err)
				}
			}
			synctest.Wait()
			for _, f := range fs[:2] {
				f.drain(t)
			}
		}
		select {
		case <-fs[2].m.Done():
		default:
			t.Fatal("member c still in the group after its session timeout")
		}
		if !errors.Is(fs[2].m.Err(), ErrUnknownMember) {
			t.Fatalf("c's Err = %v", fs[2].m.Err())
		}
		if err := fs[2].m.Heartbeat(); !errors.Is(err, ErrUnknownMember) {
			t.Fatalf("heartbeat after expiry: %v", err)
		}
		if n := len(fs[0].owned) + len(fs[1].owned); n != 6 || len(fs[0].owned) != 3 {
			t.Fatalf("after expiry a owns %v, b owns %v", fs[0].owned, fs[1].owned)
		}
		if err := fs[2].m.Commit(ctx, fs[2].gen, []CommitOffset{{Partition: 0, Offset: 1}}); !errors.Is(err, ErrUnknownMember) {
			t.Fatalf("commit by expired member: %v", err)
		}
		for _, f := range fs[:2] {
			f.m.Leave()
		}
	})
}

func TestCoordinatorCommitsFencingAndReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog()
		log.createTopic("orders", 2)
		log.fill("orders", 50) // commits below go up to 30
		c := newTestCoordinator(t, log)
		ctx := context.Background()
		a, err := c.Join(ctx, JoinRequest{Group: "g", Topic: "orders"})
		if err != nil {
			t.Fatal(err)
		}
		fa := &follower{m: a, owned: map[int32]bool{}}
		synctest.Wait()
		fa.drain(t)
		if err := a.Commit(ctx, fa.gen, []CommitOffset{{Partition: 0, Offset: 10}, {Partition: 1, Offset: 20, Metadata: "m"}}); err != nil {
			t.Fatal(err)
		}
		// b joins; a gives up partition 1 after committing it once more.
		b, err := c.Join(ctx, JoinRequest{Group: "g", Topic: "orders"})
		if err != nil {
			t.Fatal(err)
		}
		ns := a.Notices()
		if len(ns) != 1 || ns[0].Kind != NoticeRevoked {
			t.Fatalf("a's notices after b joined: %+v", ns)
		}
		if len(b.Notices()) != 0 {
			t.Fatal("b was assigned a partition a had not released")
		}
		revoked := ns[0].Partitions[0]
		if err := a.Commit(ctx, ns[0].Generation, []CommitOffset{{Partition: revoked, Offset: 25}}); err != nil {
			t.Fatalf("commit before acknowledging revoke: %v", err)
		}
		if err := a.AckRevoke(ns[0].Partitions); err != nil {
			t.Fatal(err)
		}
		if err := a.Commit(ctx, ns[0].Generation, []CommitOffset{{Partition: revoked, Offset: 26}}); !errors.Is(err, ErrFencedGeneration) {
			t.Fatalf("commit after release: %v, want ErrFencedGeneration", err)
		}
		bn := b.Notices()
		if len(bn) != 1 || bn[0].Kind != NoticeAssigned || !slices.Equal(bn[0].Partitions, []int32{revoked}) {
			t.Fatalf("b's notices: %+v", bn)
		}
		if v, ok, _ := c.Committed(ctx, "g", "orders", revoked); !ok || v.Offset != 25 {
			t.Fatalf("committed for b's start = %+v %v, want 25", v, ok)
		}
		if err := b.Commit(ctx, bn[0].Generation-1, []CommitOffset{{Partition: revoked, Offset: 30}}); !errors.Is(err, ErrFencedGeneration) {
			t.Fatalf("commit with an old generation: %v", err)
		}
		// A failing write commits nothing.
		log.mu.Lock()
		log.failAppend = errors.New("disk on fire")
		log.mu.Unlock()
		if err := b.Commit(ctx, bn[0].Generation, []CommitOffset{{Partition: revoked, Offset: 31}}); err == nil {
			t.Fatal("commit succeeded while the log fails")
		}
		log.mu.Lock()
		log.failAppend = nil
		log.mu.Unlock()
		if v, _, _ := c.Committed(ctx, "g", "orders", revoked); v.Offset != 25 {
			t.Fatalf("failed commit changed the position to %d", v.Offset)
		}
		a.Leave()
		b.Leave()
		c.Close()

		// A new coordinator on the same log loads the latest positions.
		c2 := newTestCoordinator(t, log)
		want := map[int32]int64{0: 10, 1: 20}
		want[revoked] = 25
		for p, off := range want {
			v, ok, err := c2.Committed(ctx, "g", "orders", p)
			if err != nil || !ok || v.Offset != off {
				t.Fatalf("reloaded %d = %+v %v %v, want %d", p, v, ok, err, off)
			}
		}
	})
}

func TestCoordinatorAdmin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog()
		log.createTopic("orders", 2)
		ctx := context.Background()
		for i := range 5 {
			log.Append(ctx, "orders", 0, []record.Record{{Timestamp: int64(100 * (i + 1)), Value: []byte("x")}})
		}
		c := newTestCoordinator(t, log)
		m, err := c.Join(ctx, JoinRequest{Group: "g", Topic: "orders", Host: "10.0.0.1:5555"})
		if err != nil {
			t.Fatal(err)
		}
		ns := m.Notices()
		if err := m.Commit(ctx, ns[0].Generation, []CommitOffset{{Partition: 0, Offset: 2}}); err != nil {
			t.Fatal(err)
		}
		d, err := c.Describe(ctx, "g")
		if err != nil {
			t.Fatal(err)
		}
		if d.State != StateStable || len(d.Members) != 1 || d.Members[0].Host != "10.0.0.1:5555" || len(d.Offsets) != 2 {
			t.Fatalf("describe = %+v", d)
		}
		if o := d.Offsets[0]; o.Committed != 2 || o.LogEnd != 5 || o.Lag != 3 {
			t.Fatalf("partition 0 = %+v", o)
		}
		if o := d.Offsets[1]; o.Committed != -1 || o.Lag != 0 {
			t.Fatalf("partition 1 = %+v", o)
		}
		if _, err := c.ResetOffsets(ctx, "g", "orders", ResetTo{Kind: ResetEarliest}, nil); !errors.Is(err, ErrGroupNotEmpty) {
			t.Fatalf("reset with members: %v", err)
		}
		if err := c.Delete(ctx, "g"); !errors.Is(err, ErrGroupNotEmpty) {
			t.Fatalf("delete with members: %v", err)
		}
		m.Leave()
		for _, tc := range []struct {
			to   string
			want int64
		}{{"earliest", 0}, {"latest", 5}, {"3", 3}, {"99", 5}, {"@250", 2}} {
			to, err := ParseResetTo(tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.ResetOffsets(ctx, "g", "orders", to, []int32{0}); err != nil {
				t.Fatalf("reset to %s: %v", tc.to, err)
			}
			if v, _, _ := c.Committed(ctx, "g", "orders", 0); v.Offset != tc.want {
				t.Fatalf("reset to %s: committed %d, want %d", tc.to, v.Offset, tc.want)
			}
		}
		for _, bad := range []string{"", "-1", "@x", "soon"} {
			if _, err := ParseResetTo(bad); !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("ParseResetTo(%q) = %v", bad, err)
			}
		}
		list, err := c.List(ctx)
		if err != nil || len(list) != 1 || list[0].Group != "g" || list[0].State != StateEmpty {
			t.Fatalf("list = %+v, %v", list, err)
		}
		if err := c.Delete(ctx, "g"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Describe(ctx, "g"); !errors.Is(err, ErrUnknownGroup) {
			t.Fatalf("describe after delete: %v", err)
		}
		if err := c.Delete(ctx, "g"); !errors.Is(err, ErrUnknownGroup) {
			t.Fatalf("second delete: %v", err)
		}
		c.Close()
		// The tombstones survive a reload.
		c2 := newTestCoordinator(t, log)
		if list, err := c2.List(ctx); err != nil || len(list) != 0 {
			t.Fatalf("groups after delete and reload: %+v, %v", list, err)
		}
		if _, err := c2.Join(ctx, JoinRequest{Group: "g", Topic: "nope"}); !errors.Is(err, ErrUnknownTopic) {
			t.Fatalf("join unknown topic: %v", err)
		}
	})
}
