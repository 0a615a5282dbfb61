package chaos

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Kind names an anomaly of a queue history, after Jepsen's queue checkers.
type Kind string

// The anomalies Check finds.
const (
	// Lost: a write acknowledged with acks=all is missing from the final,
	// complete read of its partition.
	Lost Kind = "lost"
	// Duplicate: one value is stored at two offsets.
	Duplicate Kind = "duplicate"
	// Inconsistent: two observers (an acknowledgement, a consumer, the
	// final read, a replica's file) disagree on the record at one offset.
	Inconsistent Kind = "inconsistent"
	// FailedRead: a value whose write definitely failed was read.
	FailedRead Kind = "failed-read"
	// Phantom: a value the workload never wrote was read.
	Phantom Kind = "phantom"
	// CommitBackwards: a committed consumer offset went backwards (a
	// describe showed less than an earlier acknowledged commit or an
	// earlier describe).
	CommitBackwards Kind = "commit-backwards"
	// Unreadable: a partition could not be read in full after the heal,
	// so its acknowledged writes could not be checked.
	Unreadable Kind = "unreadable"
	// Unhealed: after a fault was healed the cluster did not return to
	// every node serving with full ISRs (a node that cannot start again, a
	// replica that never catches up).
	Unhealed Kind = "unhealed"
)

// Kinds lists every anomaly kind in report order.
var Kinds = []Kind{Lost, Duplicate, Inconsistent, FailedRead, Phantom, CommitBackwards, Unreadable, Unhealed}

// Anomaly is one violation, described for people.
type Anomaly struct {
	Kind   Kind
	Detail string
}

// Report is the checker's verdict on a History.
type Report struct {
	Acked, Failed, Indeterminate int
	// Anomalies are grouped by kind in Kinds order.
	Anomalies []Anomaly
}

// Count returns how many anomalies of kind k were found.
func (r Report) Count(k Kind) int {
	n := 0
	for _, a := range r.Anomalies {
		if a.Kind == k {
			n++
		}
	}
	return n
}

// OK reports a history without anomalies.
func (r Report) OK() bool { return len(r.Anomalies) == 0 }

// String summarises the counts and the first examples of each kind.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "acked %d, failed %d, indeterminate %d", r.Acked, r.Failed, r.Indeterminate)
	for _, k := range Kinds {
		if n := r.Count(k); n > 0 {
			fmt.Fprintf(&b, ", %s %d", k, n)
		}
	}
	for _, k := range Kinds {
		shown := 0
		for _, a := range r.Anomalies {
			if a.Kind == k && shown < 5 {
				fmt.Fprintf(&b, "\n  %s: %s", k, a.Detail)
				shown++
			}
		}
	}
	return b.String()
}

// Check runs every rule over h.
func Check(h History) Report {
	r := Report{}
	for _, w := range h.Writes {
		switch w.Outcome {
		case Acked:
			r.Acked++
		case Failed:
			r.Failed++
		default:
			r.Indeterminate++
		}
	}
	r.Anomalies = append(r.Anomalies, LostWrites(h)...)
	r.Anomalies = append(r.Anomalies, Duplicates(h)...)
	r.Anomalies = append(r.Anomalies, InconsistentOffsets(h)...)
	r.Anomalies = append(r.Anomalies, FailedReads(h)...)
	r.Anomalies = append(r.Anomalies, Phantoms(h)...)
	r.Anomalies = append(r.Anomalies, CommitRegressions(h)...)
	r.Anomalies = append(r.Anomalies, UnreadablePartitions(h)...)
	r.Anomalies = append(r.Anomalies, UnhealedFaults(h)...)
	return r
}

// finalSource is the Read.Source of the complete read through the leader
// after the heal.
const finalSource = "final"

type position struct {
	p   int32
	off int64
}

func (p position) String() string { return fmt.Sprintf("%d@%d", p.p, p.off) }

// observations are every (position, value) claim: acknowledgements and
// reads, with who made them.
func observations(h History) map[position]map[string][]string {
	obs := map[position]map[string][]string{}
	add := func(pos position, value, source string) {
		m := obs[pos]
		if m == nil {
			m = map[string][]string{}
			obs[pos] = m
		}
		m[value] = append(m[value], source)
	}
	for _, w := range h.Writes {
		if w.Outcome == Acked {
			add(position{w.Partition, w.Offset}, w.Value, "ack")
		}
	}
	for _, rd := range h.Reads {
		add(position{rd.Partition, rd.Offset}, rd.Value, rd.Source)
	}
	return obs
}

// LostWrites finds acknowledged writes that the final read of their
// (completely read) partition does not hold anywhere.
func LostWrites(h History) []Anomaly {
	final := map[int32]map[string]bool{}
	for _, rd := range h.Reads {
		if rd.Source != finalSource {
			continue
		}
		if final[rd.Partition] == nil {
			final[rd.Partition] = map[string]bool{}
		}
		final[rd.Partition][rd.Value] = true
	}
	var out []Anomaly
	for _, w := range h.Writes {
		if w.Outcome != Acked || !h.Complete[w.Partition] || final[w.Partition][w.Value] {
			continue
		}
		out = append(out, Anomaly{Lost, fmt.Sprintf("%q acknowledged at %d@%d (%s) is not in the final read", w.Value, w.Partition, w.Offset, w.End.Format(time.StampMilli))})
	}
	return out
}

// Duplicates finds values observed at two or more positions.
func Duplicates(h History) []Anomaly {
	at := map[string]map[position]bool{}
	for pos, vals := range observations(h) {
		for v := range vals {
			if at[v] == nil {
				at[v] = map[position]bool{}
			}
			at[v][pos] = true
		}
	}
	var out []Anomaly
	for _, v := range sortedKeys(at) {
		if len(at[v]) < 2 {
			continue
		}
		var ps []string
		for pos := range at[v] {
			ps = append(ps, pos.String())
		}
		sort.Strings(ps)
		out = append(out, Anomaly{Duplicate, fmt.Sprintf("%q at %s", v, strings.Join(ps, ", "))})
	}
	return out
}

// InconsistentOffsets finds positions where observers saw different values.
func InconsistentOffsets(h History) []Anomaly {
	obs := observations(h)
	poss := make([]position, 0, len(obs))
	for pos := range obs {
		poss = append(poss, pos)
	}
	sort.Slice(poss, func(i, j int) bool {
		if poss[i].p != poss[j].p {
			return poss[i].p < poss[j].p
		}
		return poss[i].off < poss[j].off
	})
	var out []Anomaly
	for _, pos := range poss {
		vals := obs[pos]
		if len(vals) < 2 {
			continue
		}
		var parts []string
		for _, v := range sortedKeys(vals) {
			srcs := uniq(vals[v])
			parts = append(parts, fmt.Sprintf("%q (%s)", v, strings.Join(srcs, ",")))
		}
		out = append(out, Anomaly{Inconsistent, fmt.Sprintf("%s holds %s", pos, strings.Join(parts, " vs "))})
	}
	return out
}

// FailedReads finds reads of values whose write definitely failed.
func FailedReads(h History) []Anomaly {
	failed := map[string]Write{}
	for _, w := range h.Writes {
		if w.Outcome == Failed {
			failed[w.Value] = w
		}
	}
	seen := map[string]bool{}
	var out []Anomaly
	for _, rd := range h.Reads {
		w, ok := failed[rd.Value]
		if !ok || seen[rd.Value] {
			continue
		}
		seen[rd.Value] = true
		out = append(out, Anomaly{FailedRead, fmt.Sprintf("%q failed (%s) but %s read it at %d@%d", rd.Value, w.Err, rd.Source, rd.Partition, rd.Offset)})
	}
	return out
}

// Phantoms finds reads of values no write attempt produced.
func Phantoms(h History) []Anomaly {
	written := map[string]bool{}
	for _, w := range h.Writes {
		written[w.Value] = true
	}
	seen := map[string]bool{}
	var out []Anomaly
	for _, rd := range h.Reads {
		if written[rd.Value] || seen[rd.Value] {
			continue
		}
		seen[rd.Value] = true
		out = append(out, Anomaly{Phantom, fmt.Sprintf("%s read %q at %d@%d, which was never written", rd.Source, rd.Value, rd.Partition, rd.Offset)})
	}
	return out
}

// CommitRegressions finds describes of a partition's committed offset that
// show less than a commit acknowledged, or a describe answered, before the
// describe began (real-time order: End before Start).
func CommitRegressions(h History) []Anomaly {
	byPart := map[int32][]Commit{}
	for _, c := range h.Commits {
		byPart[c.Partition] = append(byPart[c.Partition], c)
	}
	var out []Anomaly
	parts := make([]int32, 0, len(byPart))
	for p := range byPart {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	for _, p := range parts {
		evs := byPart[p]
		done := append([]Commit(nil), evs...)
		sort.SliceStable(done, func(i, j int) bool { return done[i].End.Before(done[j].End) })
		var obs []Commit
		for _, c := range evs {
			if c.Kind == CommitObserved {
				obs = append(obs, c)
			}
		}
		sort.SliceStable(obs, func(i, j int) bool { return obs[i].Start.Before(obs[j].Start) })
		next, best := 0, -1
		for _, o := range obs {
			for next < len(done) && done[next].End.Before(o.Start) {
				if best < 0 || done[next].Offset > done[best].Offset {
					best = next
				}
				next++
			}
			if best >= 0 && o.Offset < done[best].Offset {
				b := done[best]
				what := "acknowledged commit"
				if b.Kind == CommitObserved {
					what = "earlier describe"
				}
				out = append(out, Anomaly{CommitBackwards, fmt.Sprintf("partition %d: %s showed %d after an %s of %d (%s)", p, o.Source, o.Offset, what, b.Offset, b.Source)})
			}
		}
	}
	return out
}

// UnreadablePartitions names partitions the final read could not finish.
func UnreadablePartitions(h History) []Anomaly {
	var out []Anomaly
	for p := range h.Partitions {
		if !h.Complete[p] {
			acked := 0
			for _, w := range h.Writes {
				if w.Outcome == Acked && w.Partition == p {
					acked++
				}
			}
			out = append(out, Anomaly{Unreadable, fmt.Sprintf("partition %d could not be read in full after the heal (%d acknowledged writes unchecked)", p, acked)})
		}
	}
	return out
}

// UnhealedFaults reports every heal the cluster did not recover from.
func UnhealedFaults(h History) []Anomaly {
	out := make([]Anomaly, 0, len(h.Unhealed))
	for _, d := range h.Unhealed {
		out = append(out, Anomaly{Unhealed, d})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range s {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	sort.Strings(out)
	return out
}
