package groups

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestGroupRandomOperations drives a group through random joins, leaves,
// heartbeats, acknowledgements and clock jumps and checks after every step
// that no partition is held by two members, that notices never grant a
// partition someone holds, and that once every revocation is acknowledged
// the group is stable and balanced within one.
func TestGroupRandomOperations(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		g := NewGroup("g", rebalance)
		now := t0
		next := 0
		holder := map[int32]string{} // what the notices say, as a member would see it
		apply := func(ns []Notice) {
			for _, n := range ns {
				for _, p := range n.Partitions {
					switch n.Kind {
					case NoticeAssigned:
						if h, ok := holder[p]; ok {
							t.Fatalf("seed %d: partition %d granted to %s while %s holds it", seed, p, n.Member, h)
						}
						holder[p] = n.Member
					case NoticeRemoved:
						if holder[p] == n.Member {
							delete(holder, p)
						}
					}
				}
			}
		}
		for step := 0; step < 200; step++ {
			members := g.Members()
			switch op := rng.IntN(10); {
			case op < 3 || len(members) == 0:
				next++
				ns, err := g.Join(now, JoinSpec{MemberID: fmt.Sprintf("m%03d", next), Topic: "orders", Partitions: 7, SessionTimeout: session}, Sticky{})
				if err != nil {
					t.Fatal(err)
				}
				apply(ns)
			case op < 4:
				m := members[rng.IntN(len(members))]
				ns, err := g.Leave(now, m.ID)
				if err != nil {
					t.Fatal(err)
				}
				for p, h := range holder {
					if h == m.ID {
						delete(holder, p)
					}
				}
				apply(ns)
			case op < 8:
				m := members[rng.IntN(len(members))]
				if len(m.Revoking) > 0 {
					ns, err := g.AckRevoke(now, m.ID, m.Revoking)
					if err != nil {
						t.Fatal(err)
					}
					for _, p := range m.Revoking {
						if holder[p] == m.ID {
							delete(holder, p)
						}
					}
					apply(ns)
				} else {
					g.Heartbeat(now, m.ID)
				}
			default:
				now = now.Add(time.Duration(rng.IntN(4000)) * time.Millisecond)
				before := map[string][]int32{}
				for _, m := range g.Members() {
					before[m.ID] = m.Revoking
				}
				ns := g.Tick(now)
				// Released by timeout or expiry: the member no longer holds them.
				after := map[string]bool{}
				for _, m := range g.Members() {
					after[m.ID] = true
				}
				for id, revoking := range before {
					stillRevoking := map[int32]bool{}
					for _, m := range g.Members() {
						if m.ID == id {
							for _, p := range m.Revoking {
								stillRevoking[p] = true
							}
						}
					}
					for _, p := range revoking {
						if (!after[id] || !stillRevoking[p]) && holder[p] == id {
							delete(holder, p)
						}
					}
				}
				for p, h := range holder {
					if !after[h] {
						delete(holder, p)
					}
				}
				apply(ns)
			}
			checkExclusive(t, g)
		}
		// Settle: everyone acknowledges and heartbeats.
		for range 10 {
			for _, m := range g.Members() {
				g.Heartbeat(now, m.ID)
				if len(m.Revoking) > 0 {
					g.AckRevoke(now, m.ID, m.Revoking)
				}
			}
		}
		if g.Empty() {
			continue
		}
		if !g.Stable() {
			t.Fatalf("seed %d: not stable after every revocation was acknowledged: %+v", seed, g.Members())
		}
		lo, hi, total := 99, -1, 0
		for _, m := range g.Members() {
			lo, hi, total = min(lo, len(m.Assigned)), max(hi, len(m.Assigned)), total+len(m.Assigned)
		}
		if total != 7 || hi-lo > 1 {
			t.Fatalf("seed %d: settled assignment unbalanced or incomplete: %+v", seed, g.Members())
		}
	}
}
