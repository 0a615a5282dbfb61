package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/sluicehq/sluice/platform/controller"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// Internal routes: node-to-node calls that make any node answer any
// request (docs/api.md's promise). They are not part of the public /v1
// contract and change with the cluster protocol. Every route under
// InternalPrefix, whoever registers it, is served only on the cluster
// listener (ClusterHandler), behind the node identity check; the public
// handler answers 404 for them.
const (
	// InternalPrefix starts every node-to-node route.
	InternalPrefix = "/internal/"

	// RouteForwardProduce appends a binary record batch to one partition
	// this node leads (acks, timeout_ms as in produce). Answer:
	// {"base_offset": N}.
	RouteForwardProduce = "POST /internal/v1/topics/{topic}/partitions/{partition}/records"
	// RouteWatchMetadata long-polls the controller's metadata:
	// ?after=VERSION&max_wait_ms=MS answers 200 with a newer meta.Cluster
	// (JSON) or 204 when none came within the wait.
	RouteWatchMetadata = "GET /internal/v1/metadata"
	// RoutePropose commits a meta.Command (JSON) through this node's
	// controller; the answer is the meta.Result.
	RoutePropose = "POST /internal/v1/propose"
	// RoutePartitionState answers the log state of the topic's partitions
	// this node leads: a JSON list of broker.PartitionInfo.
	RoutePartitionState = "GET /internal/v1/topics/{topic}/partitions"
	// RouteInternalFetch and RouteInternalOffsets are the fetch and
	// offsets routes of /v1 (same parameters and answers) for other
	// nodes: a consumer served elsewhere and the group coordinator read
	// partitions they do not lead through them. They carry no client
	// credential, so they live in the node-to-node plane, not under /v1,
	// where auth would refuse them.
	RouteInternalFetch   = "GET /internal/v1/topics/{topic}/partitions/{partition}/records"
	RouteInternalOffsets = "GET /internal/v1/topics/{topic}/partitions/{partition}/offsets"
)

// MaxWatchWait caps RouteWatchMetadata's max_wait_ms.
const MaxWatchWait = 30 * time.Second

// LocalController is the node's own controller (never a forwarder), which
// the internal metadata and propose routes use; *controller.Controller
// satisfies it.
type LocalController interface {
	Propose(ctx context.Context, cmd meta.Command) (meta.Result, error)
	// ProposeFrom is Propose for a command that node from sent: the
	// controller checks that node may ask it (controller.NodePolicy).
	ProposeFrom(ctx context.Context, from meta.NodeID, cmd meta.Command) (meta.Result, error)
	Watch(ctx context.Context, after uint64) (*meta.Cluster, error)
}

// ForwardResult is the answer of RouteForwardProduce.
type ForwardResult struct {
	BaseOffset int64 `json:"base_offset"`
}

// ClusterHandler serves the node-to-node routes (every route under
// InternalPrefix) for the cluster listener. Each request must come from a
// node: the node id of its verified TLS client certificate (the listener
// requires one signed by the cluster CA), or, with insecure and a
// connection without TLS, the id the caller claims in
// clusternet.NodeHeader. Anything else is refused with 403 forbidden.
// Handlers find the caller with clusternet.Caller(r.Context()).
func (s *Server) ClusterHandler(insecure bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := clusternet.NodeOf(r, insecure)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.internal.ServeHTTP(w, r.WithContext(clusternet.WithCaller(r.Context(), id)))
	})
}

// caller is the node that sent an internal request (ClusterHandler put it
// in the context; a handler reached otherwise has none).
func caller(r *http.Request) (int32, error) {
	id, ok := clusternet.Caller(r.Context())
	if !ok {
		return 0, fmt.Errorf("%w: %s reached without the cluster listener", clusternet.ErrNoNodeIdentity, r.URL.Path)
	}
	return id, nil
}

func (s *Server) registerInternal() {
	s.Handle(RouteForwardProduce, http.HandlerFunc(s.forwardedProduce))
	s.Handle(RouteProduceStream, http.HandlerFunc(s.produceStream))
	s.Handle(RouteWatchMetadata, http.HandlerFunc(s.watchMetadata))
	s.Handle(RoutePropose, http.HandlerFunc(s.proposeLocal))
	s.Handle(RoutePartitionState, http.HandlerFunc(s.partitionState))
	s.registerIdentity()
	s.Handle(RouteInternalFetch, http.HandlerFunc(s.fetch))
	s.Handle(RouteInternalOffsets, http.HandlerFunc(s.offsets))
	s.registerAdminInternal()
}

func (s *Server) partitionState(w http.ResponseWriter, r *http.Request) {
	topic := r.PathValue("topic")
	out := []broker.PartitionInfo{}
	if s.cfg.Broker != nil {
		for _, p := range s.cfg.Broker.Partitions(nil) {
			if p.Topic == topic && p.Leader {
				out = append(out, p)
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) forwardedProduce(w http.ResponseWriter, r *http.Request) {
	topic := r.PathValue("topic")
	partition, err := partitionParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	acks, err := broker.ParseAcks(q.Get(wire.ParamAcks))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var timeout time.Duration
	if v := q.Get(wire.ParamTimeoutMs); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			s.writeError(w, r, badRequest("%s=%q: want milliseconds >= 0", wire.ParamTimeoutMs, v))
			return
		}
		timeout = time.Duration(ms) * time.Millisecond
	}
	prod, lastSeq, err := forwardedProducer(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.cfg.Broker == nil {
		s.writeError(w, r, &broker.NotLeaderError{Topic: topic, Partition: partition, LeaderID: -1, Reason: "this node has no broker role"})
		return
	}
	bufp := getBuffer()
	defer putBuffer(bufp)
	body, err := readBody(w, r, s.cfg.MaxRequestBytes, (*bufp)[:0])
	*bufp = body[:0]
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sc := produceScratchPool.Get().(*produceScratch)
	defer sc.release()
	if sc.recs, err = decodeRecords(sc.recs[:0], body); err != nil {
		s.writeError(w, r, err)
		return
	}
	base, err := s.cfg.Broker.ProducePartitionAs(r.Context(), topic, partition, sc.recs, acks, timeout, prod, lastSeq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Not counted in sluice_produce_records_total: the node the client
	// sent the request to counted these records, and a cluster-wide sum
	// must count each record once.
	writeJSON(w, http.StatusOK, ForwardResult{BaseOffset: base})
}

func (s *Server) watchMetadata(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Controller == nil {
		s.writeError(w, r, &controller.NotControllerError{LeaderID: meta.NoLeader})
		return
	}
	q := r.URL.Query()
	after, err := strconv.ParseUint(q.Get("after"), 10, 64)
	if err != nil && q.Get("after") != "" {
		s.writeError(w, r, badRequest("after=%q: want a metadata version", q.Get("after")))
		return
	}
	wait := MaxWatchWait
	if v := q.Get(wire.ParamMaxWaitMs); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			s.writeError(w, r, badRequest("%s=%q: want milliseconds >= 0", wire.ParamMaxWaitMs, v))
			return
		}
		wait = min(time.Duration(ms)*time.Millisecond, MaxWatchWait)
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	c, err := s.cfg.Controller.Watch(ctx, after)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) proposeLocal(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Controller == nil {
		s.writeError(w, r, &controller.NotControllerError{LeaderID: meta.NoLeader})
		return
	}
	from, err := caller(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var cmd meta.Command
	if err := readJSON(w, r, s.cfg.MaxRequestBytes, &cmd); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.cfg.Controller.ProposeFrom(r.Context(), meta.NodeID(from), cmd)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, err := json.Marshal(res)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeBody(w, http.StatusOK, wire.MediaTypeJSON, b)
}
