package platform

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// readinessInput is what /readyz decides from, gathered from the node's
// parts so that readiness itself is a plain function.
type readinessInput struct {
	controller bool  // the node has the controller role
	halted     error // the controller refused a corrupt entry and stopped
	leaderless bool  // no controller leader is known (quorum lost or electing)

	broker     bool  // the node has the broker role
	registered bool  // the applied metadata lists this broker
	alive      bool  // ... and it is not fenced
	caughtUp   bool  // the broker once applied all the metadata its controller holds
	applied    int64 // metadata versions, for the reason text
	known      int64

	// notOpen lists partitions the metadata says this node leads whose
	// replica is not open here (so reads and writes to them fail).
	notOpen []string

	fdOpen, fdLimit int // open file descriptors and the soft limit; 0: unknown
}

// fdHeadroom is the share of the descriptor limit that must stay free:
// above it a node fails to accept connections and open segment files.
const fdHeadroom = 0.05

// maxListed bounds the partitions a reason names.
const maxListed = 5

// readiness returns why the node is not ready (empty: ready) and the
// conditions worth a warning that do not make it unready. A lost
// controller quorum is only a warning: the node still serves reads and
// writes of the partitions it leads (metadata changes wait).
func readiness(in readinessInput) (reasons, warnings []string) {
	if in.controller && in.halted != nil {
		reasons = append(reasons, fmt.Sprintf("controller halted: %v", in.halted))
	}
	if in.broker {
		switch {
		case !in.registered:
			reasons = append(reasons, "not registered: the controller has not admitted this broker yet")
		case !in.alive:
			reasons = append(reasons, "fenced: the controller fenced this broker")
		}
		if !in.caughtUp {
			reasons = append(reasons, fmt.Sprintf("metadata not caught up: applied version %d of %d", in.applied, in.known))
		}
		if len(in.notOpen) > 0 {
			names := in.notOpen
			more := ""
			if len(names) > maxListed {
				names, more = names[:maxListed], fmt.Sprintf(" and %d more", len(in.notOpen)-maxListed)
			}
			reasons = append(reasons, fmt.Sprintf("%d partitions this node leads are not open: %s%s", len(in.notOpen), strings.Join(names, ", "), more))
		}
	}
	if in.fdLimit > 0 && float64(in.fdLimit-in.fdOpen) < fdHeadroom*float64(in.fdLimit) {
		reasons = append(reasons, fmt.Sprintf("file descriptors nearly exhausted: %d of %d open", in.fdOpen, in.fdLimit))
	}
	if in.leaderless && in.halted == nil {
		warnings = append(warnings, "no controller leader: metadata changes (topic admin, ISR changes, failover) wait; partitions this node leads are still served")
	}
	return reasons, warnings
}

// readinessInput gathers the node's state for readiness.
func (n *Node) readinessInput() readinessInput {
	in := readinessInput{controller: n.controller != nil, broker: n.broker != nil}
	in.fdOpen, in.fdLimit = fileDescriptors()
	if n.controller != nil {
		in.halted = n.controller.Halted()
		if id, _ := n.controller.Leader(); id == meta.NoLeader {
			in.leaderless = true
		}
	}
	if n.broker == nil {
		return in
	}
	applied := n.broker.Cluster()
	b, ok := applied.Broker(meta.NodeID(n.cfg.NodeID))
	in.registered, in.alive = ok, ok && b.Alive()
	in.applied, in.known = int64(n.broker.Version()), int64(n.broker.Version())
	if n.controller != nil {
		in.known = int64(n.controller.Metadata().Version)
	}
	// Once caught up, a node stays so (as health does): falling behind
	// later is replication lag, not a start that has not finished.
	in.caughtUp = n.caughtUp.Load() || (in.registered && in.applied >= in.known)
	if in.caughtUp && in.registered && in.alive {
		n.caughtUp.Store(true)
	}
	for _, name := range applied.TopicNames() {
		t := applied.Topics[name]
		for _, p := range t.Partitions {
			if p.Leader != meta.NodeID(n.cfg.NodeID) {
				continue
			}
			if info, err := n.broker.PartitionInfo(name, p.Index); err != nil || !info.Leader {
				in.notOpen = append(in.notOpen, fmt.Sprintf("%s-%d", name, p.Index))
			}
		}
	}
	slices.Sort(in.notOpen)
	return in
}

// registerProbes adds /livez and /readyz (docs/operations.md).
func (n *Node) registerProbes() {
	n.api.Handle(wire.RouteLive, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeProbe(w, http.StatusOK, wire.Readiness{Status: wire.AliveStatus, NodeID: n.cfg.NodeID})
	}))
	n.api.Handle(wire.RouteReady, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reasons, warnings := readiness(n.readinessInput())
		out := wire.Readiness{Status: wire.ReadyStatus, NodeID: n.cfg.NodeID, Reasons: reasons, Warnings: warnings}
		code := http.StatusOK
		if len(reasons) > 0 {
			out.Status, code = wire.NotReadyStatus, http.StatusServiceUnavailable
		}
		writeProbe(w, code, out)
	}))
}

func writeProbe(w http.ResponseWriter, code int, v wire.Readiness) {
	w.Header().Set("Content-Type", wire.MediaTypeJSON)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
}
