package chaos

import (
	"sort"
	"sync"
	"time"
)

// Outcome is what a producer learned about one write attempt.
type Outcome int

const (
	// Acked: the server acknowledged the record with acks=all at
	// (Partition, Offset).
	Acked Outcome = iota
	// Failed: the write definitely did not happen (the request never
	// reached a node, or the server answered an error that it gives only
	// before anything is appended).
	Failed
	// Indeterminate: the write may or may not have happened (a timeout, a
	// connection cut mid-request, an error the server also gives after an
	// append). It may appear in reads; it is never an anomaly either way.
	Indeterminate
)

func (o Outcome) String() string {
	switch o {
	case Acked:
		return "acked"
	case Failed:
		return "failed"
	case Indeterminate:
		return "indeterminate"
	}
	return "outcome?"
}

// Write is one produce attempt of one record with a value unique in the
// history.
type Write struct {
	Value   string
	Outcome Outcome
	// Partition and Offset are set for Acked writes; -1 otherwise.
	Partition int32
	Offset    int64
	// Target is the partition the record's key hashes to (the workload
	// picks keys per partition), known for every attempt.
	Target     int32
	Start, End time.Time
	Err        string
}

// Read is one record observed at one offset by one reader: a consumer
// during the run, a final read through the leader, or a replica's file.
type Read struct {
	Source    string
	Partition int32
	Offset    int64
	Value     string
}

// CommitKind tells a commit acknowledgement from a read of the committed
// offset.
type CommitKind int

const (
	// CommitAck: the coordinator acknowledged a commit of Offset.
	CommitAck CommitKind = iota
	// CommitObserved: a describe of the group showed Offset committed.
	CommitObserved
)

// Commit is one event of a partition's committed offset in the group.
type Commit struct {
	Kind       CommitKind
	Partition  int32
	Offset     int64
	Start, End time.Time
	Source     string
}

// History is everything one run recorded. Complete names the partitions
// whose final read went from the log start to the high watermark; lost
// writes are only judged there, the others are reported as unreadable.
type History struct {
	Partitions int32
	Writes     []Write
	Reads      []Read
	Commits    []Commit
	Complete   map[int32]bool
	// Unhealed describes each heal after which the cluster did not return
	// to every node serving and every partition led with a full ISR
	// within the harness's bound.
	Unhealed []string
}

// Recorder collects a History from concurrent workers.
type Recorder struct {
	mu sync.Mutex
	h  History
}

// NewRecorder returns an empty recorder for a topic of partitions.
func NewRecorder(partitions int32) *Recorder {
	return &Recorder{h: History{Partitions: partitions, Complete: map[int32]bool{}}}
}

// Write records one attempt.
func (r *Recorder) Write(w Write) {
	r.mu.Lock()
	r.h.Writes = append(r.h.Writes, w)
	r.mu.Unlock()
}

// Reads records observed records.
func (r *Recorder) Reads(rs ...Read) {
	r.mu.Lock()
	r.h.Reads = append(r.h.Reads, rs...)
	r.mu.Unlock()
}

// Commit records a commit event.
func (r *Recorder) Commit(c Commit) {
	r.mu.Lock()
	r.h.Commits = append(r.h.Commits, c)
	r.mu.Unlock()
}

// Unhealed records a heal the cluster did not recover from in time.
func (r *Recorder) Unhealed(detail string) {
	r.mu.Lock()
	r.h.Unhealed = append(r.h.Unhealed, detail)
	r.mu.Unlock()
}

// MarkComplete records that partition p was read in full.
func (r *Recorder) MarkComplete(p int32) {
	r.mu.Lock()
	r.h.Complete[p] = true
	r.mu.Unlock()
}

// History returns a copy of what was recorded, writes ordered by start.
func (r *Recorder) History() History {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := History{
		Partitions: r.h.Partitions,
		Writes:     append([]Write(nil), r.h.Writes...),
		Reads:      append([]Read(nil), r.h.Reads...),
		Commits:    append([]Commit(nil), r.h.Commits...),
		Complete:   map[int32]bool{},
		Unhealed:   append([]string(nil), r.h.Unhealed...),
	}
	for p, ok := range r.h.Complete {
		h.Complete[p] = ok
	}
	sort.SliceStable(h.Writes, func(i, j int) bool { return h.Writes[i].Start.Before(h.Writes[j].Start) })
	return h
}
