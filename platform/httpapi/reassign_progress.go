package httpapi

import (
	"context"
	"net/http"
	"sync"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// Reassignment progress in bytes: the leader's log size (from the
// leaders, as describe asks them) against each replica being added's own
// size and copy rate (from the brokers receiving them, RouteReplicaCopies).
// The arithmetic is plain functions of those figures.

// RouteReplicaCopies answers the replicas this node is adding in a
// reassignment: a JSON list of broker.CopyProgress.
const RouteReplicaCopies = "GET /internal/v1/replica-copies"

func (s *Server) replicaCopies(w http.ResponseWriter, r *http.Request) {
	out := []broker.CopyProgress{}
	if s.cfg.Broker != nil {
		out = s.cfg.Broker.Copies()
	}
	writeJSON(w, http.StatusOK, out)
}

// ReplicaCopies asks the node at base (its cluster address) for the
// replicas it is adding (RouteReplicaCopies).
func (p *Peer) ReplicaCopies(ctx context.Context, base string) ([]broker.CopyProgress, error) {
	var out []broker.CopyProgress
	_, err := p.do(ctx, http.MethodGet, base+"/internal/v1/replica-copies", "", nil, &out)
	return out, err
}

// copyKey names one replica of one partition.
type copyKey struct {
	topic   string
	part    int32
	replica int32
}

// gatherCopies asks every broker adding a replica of parts for its
// copies, this node's own broker directly; a broker that does not answer
// leaves its copies out (unknown).
func (s *Server) gatherCopies(ctx context.Context, parts []*meta.Partition) map[copyKey]broker.CopyProgress {
	out := map[copyKey]broker.CopyProgress{}
	adding := map[meta.NodeID]bool{}
	for _, p := range parts {
		for _, id := range p.AddingReplicas {
			adding[id] = true
		}
	}
	put := func(id meta.NodeID, cs []broker.CopyProgress) {
		for _, c := range cs {
			out[copyKey{c.Topic, c.Partition, int32(id)}] = c
		}
	}
	md := s.cfg.Metadata()
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	ctx, cancel := context.WithTimeout(ctx, leaderStateWait)
	defer cancel()
	for id := range adding {
		if s.cfg.Broker != nil && int32(id) == s.cfg.NodeID {
			cs := s.cfg.Broker.Copies()
			mu.Lock()
			put(id, cs)
			mu.Unlock()
			continue
		}
		b, ok := md.Broker(id)
		if !ok || b.ClusterAddr == "" || s.cfg.Peer == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs, err := s.cfg.Peer.ReplicaCopies(ctx, b.ClusterAddr)
			if err != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			put(id, cs)
		}()
	}
	wg.Wait()
	return out
}

// replicaCopy is the progress of replica id given the leader's log size
// (-1: unknown) and the replica's own report (nil: none).
func replicaCopy(id int32, leaderBytes int64, c *broker.CopyProgress) wire.ReplicaCopy {
	rc := wire.ReplicaCopy{Replica: id, LogBytes: -1, CopyProgress: wire.CopyProgress{BytesLeft: -1, Rate: -1, ETASeconds: -1}}
	if c == nil {
		rc.Unknown = 1
		return rc
	}
	rc.LogBytes, rc.Rate, rc.Throttled = c.LogBytes, c.Rate, c.Throttle > 0
	if rc.Rate < 0 {
		rc.Rate = -1
	}
	if leaderBytes >= 0 {
		rc.BytesLeft = max(0, leaderBytes-c.LogBytes)
	} else {
		rc.Unknown = 1
	}
	rc.ETASeconds = wire.ETA(rc.BytesLeft, rc.Rate)
	return rc
}

// fillProgress sets st's throttle and byte progress from the leader's
// log size (leaderBytes, -1: unknown) and the copies reported.
func fillProgress(st *wire.ReassignmentStatus, p *meta.Partition, leaderBytes int64, copies map[copyKey]broker.CopyProgress) {
	st.Throttle, st.LeaderLogBytes = p.ReassignThrottle, leaderBytes
	sums := make([]wire.CopyProgress, 0, len(p.AddingReplicas))
	for _, id := range p.AddingReplicas {
		var c *broker.CopyProgress
		if got, ok := copies[copyKey{p.Topic, p.Index, int32(id)}]; ok {
			c = &got
		}
		rc := replicaCopy(int32(id), leaderBytes, c)
		st.Copies = append(st.Copies, rc)
		sums = append(sums, rc.CopyProgress)
	}
	st.Progress = wire.SumProgress(sums)
}

// totalProgress sums every partition's progress into list.Total.
func totalProgress(list *wire.ReassignmentList) {
	sums := make([]wire.CopyProgress, len(list.Reassignments))
	for i := range list.Reassignments {
		sums[i] = list.Reassignments[i].Progress
	}
	list.Total = wire.SumProgress(sums)
}
