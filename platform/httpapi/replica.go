package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// RouteReplicaFetch is a follower's fetch round (docs/replication.md): a
// JSON broker.ReplicaFetchRequest in, a broker.ReplicaFetchResponse out,
// long-polled at the leader. Batches travel as the leader stores them.
const RouteReplicaFetch = "POST /internal/v1/replica-fetch"

// maxReplicaFetchRequest bounds a fetch round's request body (it lists
// partitions and offsets, never records).
const maxReplicaFetchRequest = 8 << 20

// HandleReplication registers the leader side of follower replication
// (RouteReplicaFetch) on the server; the node calls it when it runs a
// broker.
func (s *Server) HandleReplication() {
	s.Handle(RouteReplicaFetch, http.HandlerFunc(s.replicaFetch))
	s.Handle(RouteReplicaStream, http.HandlerFunc(s.replicaStream))
}

func (s *Server) replicaFetch(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Broker == nil {
		s.writeError(w, r, badRequest("this node has no broker role"))
		return
	}
	body, err := readBody(w, r, maxReplicaFetchRequest, nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := decodeReplicaFetchRequest(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A fetch moves the follower's LEO, and with it the HW and the ISR:
	// only the follower itself may send it. A node fetching under another
	// node's id (to make the leader count a stopped follower in sync) is
	// refused; one fetching as itself a partition it holds no replica of
	// gets that partition's error from the broker (not a replica).
	from, err := caller(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.ReplicaID != from {
		s.writeError(w, r, fmt.Errorf("%w: node %d sent a replica fetch as node %d", clusternet.ErrForbidden, from, req.ReplicaID))
		return
	}
	// On this route the fetch offset is the follower's log end (no
	// pipelining): that is what the leader records.
	for i := range req.Partitions {
		req.Partitions[i].AckedOffset = req.Partitions[i].FetchOffset
	}
	resp, err := s.cfg.Broker.ReplicaFetch(r.Context(), req)
	if r.Context().Err() != nil {
		return // the follower left (it stopped, or its metadata moved on)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// decodeReplicaFetchRequest reads a follower's fetch request; a body
// that is not one is invalid_request.
func decodeReplicaFetchRequest(body []byte) (*broker.ReplicaFetchRequest, error) {
	var req broker.ReplicaFetchRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest("replica fetch request: %v", err)
	}
	return &req, nil
}

// FetchReplica runs one follower fetch round against leader; it
// implements broker.ReplicaClient.
func (p *Peer) FetchReplica(ctx context.Context, leader *meta.Broker, req *broker.ReplicaFetchRequest) (*broker.ReplicaFetchResponse, error) {
	base, err := clusterAddr(leader)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode replica fetch: %w", err)
	}
	var resp broker.ReplicaFetchResponse
	if _, err := p.do(ctx, http.MethodPost, base+"/internal/v1/replica-fetch", wire.MediaTypeJSON, body, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}
