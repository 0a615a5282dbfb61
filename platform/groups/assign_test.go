package groups

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func TestAssignorsTable(t *testing.T) {
	tests := []struct {
		name       string
		assignor   Assignor
		members    []string
		partitions int32
		prev       map[string][]int32
		want       map[string][]int32
	}{
		{"range even", Range{}, []string{"a", "b", "c"}, 6, nil,
			map[string][]int32{"a": {0, 1}, "b": {2, 3}, "c": {4, 5}}},
		{"range uneven", Range{}, []string{"a", "b", "c"}, 7, nil,
			map[string][]int32{"a": {0, 1, 2}, "b": {3, 4}, "c": {5, 6}}},
		{"range more members than partitions", Range{}, []string{"a", "b", "c"}, 2, nil,
			map[string][]int32{"a": {0}, "b": {1}, "c": {}}},
		{"roundrobin", RoundRobin{}, []string{"a", "b"}, 5, nil,
			map[string][]int32{"a": {0, 2, 4}, "b": {1, 3}}},
		{"no members", RoundRobin{}, nil, 5, nil, map[string][]int32{}},
		{"sticky fresh", Sticky{}, []string{"a", "b", "c"}, 6, nil,
			map[string][]int32{"a": {0, 1}, "b": {2, 3}, "c": {4, 5}}},
		{"sticky third member joins", Sticky{}, []string{"a", "b", "c"}, 6,
			map[string][]int32{"a": {0, 1, 2}, "b": {3, 4, 5}},
			map[string][]int32{"a": {0, 1}, "b": {3, 4}, "c": {2, 5}}},
		{"sticky member leaves", Sticky{}, []string{"a", "c"}, 6,
			map[string][]int32{"a": {0, 1}, "b": {2, 3}, "c": {4, 5}},
			map[string][]int32{"a": {0, 1, 2}, "c": {3, 4, 5}}},
		{"sticky keeps larger holder's extra", Sticky{}, []string{"a", "b"}, 5,
			map[string][]int32{"a": {0}, "b": {1, 2, 3, 4}},
			map[string][]int32{"a": {0, 4}, "b": {1, 2, 3}}},
		{"sticky ignores duplicate and out of range claims", Sticky{}, []string{"a", "b"}, 4,
			map[string][]int32{"a": {0, 1, 9}, "b": {1, 2}},
			map[string][]int32{"a": {0, 1}, "b": {2, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.assignor.Assign(tt.members, tt.partitions, tt.prev)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Assign = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAssignorByName(t *testing.T) {
	for _, name := range []string{"", "range", "roundrobin", "sticky"} {
		a, err := AssignorByName(name)
		if err != nil {
			t.Fatalf("AssignorByName(%q): %v", name, err)
		}
		if name != "" && a.Name() != name {
			t.Fatalf("AssignorByName(%q).Name() = %q", name, a.Name())
		}
	}
	if _, err := AssignorByName("cooperative"); err == nil {
		t.Fatal("unknown assignor accepted")
	}
}

// checkValid asserts the invariants every assignor keeps: each partition
// assigned exactly once, every member present, balance within one.
func checkValid(t *testing.T, members []string, partitions int32, got map[string][]int32) {
	t.Helper()
	seen := make([]int, partitions)
	if len(got) != len(members) {
		t.Fatalf("assignment has %d members, want %d: %v", len(got), len(members), got)
	}
	lo, hi := int(partitions)+1, -1
	for _, m := range members {
		ps, ok := got[m]
		if !ok {
			t.Fatalf("member %s missing from %v", m, got)
		}
		if !slices.IsSorted(ps) {
			t.Fatalf("member %s partitions not sorted: %v", m, ps)
		}
		for _, p := range ps {
			if p < 0 || p >= partitions {
				t.Fatalf("partition %d out of range", p)
			}
			seen[p]++
		}
		lo, hi = min(lo, len(ps)), max(hi, len(ps))
	}
	for p, n := range seen {
		if len(members) > 0 && n != 1 {
			t.Fatalf("partition %d assigned %d times: %v", p, n, got)
		}
	}
	if len(members) > 0 && hi-lo > 1 {
		t.Fatalf("unbalanced (min %d, max %d): %v", lo, hi, got)
	}
}

// bestRetained is, by brute force over which members get the rounded-up
// shares, the largest number of partitions any balanced assignment can leave
// with their previous owner.
func bestRetained(members []string, partitions int32, prev map[string][]int32) int {
	kept := map[string]int{}
	claimed := map[int32]bool{}
	for _, m := range members {
		ps := slices.Clone(prev[m])
		slices.Sort(ps)
		for _, p := range ps {
			if p >= 0 && p < partitions && !claimed[p] {
				claimed[p] = true
				kept[m]++
			}
		}
	}
	n := len(members)
	base, extra := int(partitions)/n, int(partitions)%n
	best := 0
	for mask := 0; mask < 1<<n; mask++ {
		bits := 0
		for i := 0; i < n; i++ {
			if mask&(1<<i) != 0 {
				bits++
			}
		}
		if bits != extra {
			continue
		}
		sum := 0
		for i, m := range members {
			share := base
			if mask&(1<<i) != 0 {
				share++
			}
			sum += min(kept[m], share)
		}
		best = max(best, sum)
	}
	return best
}

func TestAssignorProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 500; iter++ {
		nMembers := rng.IntN(7)
		partitions := int32(rng.IntN(20))
		members := make([]string, nMembers)
		for i := range members {
			members[i] = fmt.Sprintf("m%02d", i)
		}
		// A previous assignment over a superset of the members (some left)
		// and sometimes fewer partitions, with some partitions unowned.
		prev := map[string][]int32{}
		for p := int32(0); p < partitions+int32(rng.IntN(3)); p++ {
			if rng.IntN(5) == 0 {
				continue
			}
			owner := fmt.Sprintf("m%02d", rng.IntN(nMembers+2))
			prev[owner] = append(prev[owner], p)
		}
		for _, a := range []Assignor{Range{}, RoundRobin{}, Sticky{}} {
			got := a.Assign(members, partitions, prev)
			checkValid(t, members, partitions, got)
			if again := a.Assign(members, partitions, prev); !reflect.DeepEqual(got, again) {
				t.Fatalf("%s not deterministic: %v then %v", a.Name(), got, again)
			}
		}
		if nMembers == 0 {
			continue
		}
		got := Sticky{}.Assign(members, partitions, prev)
		retained := 0
		for _, m := range members {
			for _, p := range got[m] {
				if slices.Contains(prev[m], p) {
					retained++
				}
			}
		}
		if want := bestRetained(members, partitions, prev); retained != want {
			t.Fatalf("sticky kept %d partitions with their owner, best balanced keeps %d\nprev %v\ngot %v",
				retained, want, prev, got)
		}
	}
}

func TestStickyStableWhenNothingChanges(t *testing.T) {
	members := []string{"a", "b", "c"}
	first := Sticky{}.Assign(members, 10, nil)
	if second := (Sticky{}).Assign(members, 10, first); !reflect.DeepEqual(first, second) {
		t.Fatalf("reassigning an unchanged group moved partitions: %v -> %v", first, second)
	}
}
