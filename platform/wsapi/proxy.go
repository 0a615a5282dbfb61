package wsapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/platform/groups"
	"github.com/sluicehq/sluice/sdk/wire"
)

// ForwardedHeader marks a request that a node passed on to the
// coordinator of its group (the value is the passing node's id). A node
// never passes such a request on again: if it is not the coordinator
// either (metadata moving), it answers not_leader and the client retries.
const ForwardedHeader = "X-Sluice-Forwarded-By"

// coordinatorWait bounds the lookup of a group's coordinator.
const coordinatorWait = 10 * time.Second

// proxied is a request being passed to the group's coordinator, tracked
// like a connection so Close ends and waits for it.
type proxied struct{ topic string }

func (p proxied) stats() ConnStats { return ConnStats{Kind: "proxy", Topic: p.topic} }

// toCoordinator passes a request about group to the node that coordinates
// it, when that is not this node, and reports whether it did (the request
// is then answered). One node coordinates a group: the one leading the
// group's __consumer_offsets partition (groups.Coordinator.CoordinatorOf).
// A WebSocket is passed on whole (httputil.ReverseProxy splices the
// upgraded connection), so any client, browsers included, may connect to
// any node. When the coordinator cannot be found the request is served
// here, and the coordinator's own error (not_leader, timeout) answers it.
func (h *Handler) toCoordinator(w http.ResponseWriter, r *http.Request, group string) bool {
	ctx, cancel := context.WithTimeout(r.Context(), coordinatorWait)
	ld, err := h.cfg.Groups.CoordinatorOf(ctx, group)
	cancel()
	if errors.Is(err, groups.ErrNoCoordinator) {
		writeHTTPError(w, h.toWire(err))
		return true
	}
	if err != nil || ld.Local {
		return false
	}
	if r.Header.Get(ForwardedHeader) != "" {
		writeHTTPError(w, wire.Errorf(wire.CodeNotLeader, "group %s: node %s passed the request here, but node %d (%s) coordinates it; retry",
			group, r.Header.Get(ForwardedHeader), ld.Node.ID, ld.Node.HTTPAddr))
		return true
	}
	target, err := url.Parse(ld.Node.HTTPAddr)
	if err != nil {
		writeHTTPError(w, wire.Errorf(wire.CodeInternal, "group %s: coordinator address %q: %v", group, ld.Node.HTTPAddr, err))
		return true
	}
	id, ok := h.track(proxied{topic: r.PathValue("topic")})
	if !ok {
		writeHTTPError(w, wire.Errorf(wire.CodeShuttingDown, "server is shutting down"))
		return true
	}
	defer h.untrack(id)
	// The spliced connection lives as long as the request's context:
	// Close ends it.
	pctx, pcancel := context.WithCancel(r.Context())
	defer pcancel()
	go func() {
		select {
		case <-h.stop:
			pcancel()
		case <-pctx.Done():
		}
	}()
	self := strconv.Itoa(int(h.cfg.NodeID))
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Set(ForwardedHeader, self)
		},
		Transport: h.cfg.ProxyTransport,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeHTTPError(w, wire.Errorf(wire.CodeNotLeader, "group %s: coordinator node %d (%s) unreachable: %v", group, ld.Node.ID, ld.Node.HTTPAddr, err))
		},
	}
	h.cfg.Logger.Debug("passing a group request to its coordinator", "group", group, "node", ld.Node.ID, "path", r.URL.Path)
	rp.ServeHTTP(w, r.WithContext(pctx))
	return true
}
