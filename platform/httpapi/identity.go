package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/sluicehq/sluice/platform/controller"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// RouteHeartbeat carries a broker's heartbeat (meta.Heartbeat, JSON) to
// this node's controller, which must be the active one (else
// not_controller naming it). Answer: meta.HeartbeatReply.
const RouteHeartbeat = "POST /internal/v1/heartbeat"

// HeartbeatReceiver is a controller that takes broker heartbeats;
// *controller.Controller satisfies it.
type HeartbeatReceiver interface {
	Heartbeat(ctx context.Context, hb meta.Heartbeat) (meta.HeartbeatReply, error)
}

// registerIdentity adds the heartbeat route (internal) and the partition
// recovery route (public).
func (s *Server) registerIdentity() {
	s.Handle(RouteHeartbeat, http.HandlerFunc(s.heartbeat))
	s.Handle(wire.RouteRecoverPartition, http.HandlerFunc(s.recoverPartition))
}

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	hr, ok := s.cfg.Controller.(HeartbeatReceiver)
	if !ok || s.cfg.Controller == nil {
		s.writeError(w, r, &controller.NotControllerError{LeaderID: meta.NoLeader})
		return
	}
	var hb meta.Heartbeat
	if err := readJSON(w, r, s.cfg.MaxRequestBytes, &hb); err != nil {
		s.writeError(w, r, err)
		return
	}
	// A heartbeat keeps a broker's session (and so its leaderships) alive
	// and records its directory id: only the broker itself may send it.
	from, err := caller(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if hb.Broker != meta.NodeID(from) {
		s.writeError(w, r, fmt.Errorf("%w: node %d sent a heartbeat as node %d", clusternet.ErrForbidden, from, hb.Broker))
		return
	}
	reply, err := hr.Heartbeat(r.Context(), hb)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, err := json.Marshal(reply)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeBody(w, http.StatusOK, wire.MediaTypeJSON, b)
}

func (s *Server) recoverPartition(w http.ResponseWriter, r *http.Request) {
	topic := r.PathValue("topic")
	partition, err := partitionParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.propose(r.Context(), meta.Command{Op: meta.OpRecoverPartition,
		RecoverPartition: &meta.RecoverPartition{Topic: topic, Partition: partition}})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.awaitLocal(r.Context(), res.Version); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, ok := s.cfg.Metadata().Topic(topic)
	if !ok {
		s.writeError(w, r, meta.ErrUnknownTopic)
		return
	}
	writeJSON(w, http.StatusOK, s.topicAnswer(r.Context(), t))
}

// Heartbeat sends hb to the controller at base (RouteHeartbeat).
func (p *Peer) Heartbeat(ctx context.Context, base string, hb meta.Heartbeat) (meta.HeartbeatReply, error) {
	body, err := json.Marshal(hb)
	if err != nil {
		return meta.HeartbeatReply{}, err
	}
	var reply meta.HeartbeatReply
	_, err = p.do(ctx, http.MethodPost, base+"/internal/v1/heartbeat", wire.MediaTypeJSON, body, &reply)
	return reply, err
}
