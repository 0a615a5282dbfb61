package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/controller"
	"github.com/sluicehq/sluice/platform/httpapi"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// remoteController is how a broker-only node reaches the metadata quorum:
// it long-polls a controller's metadata (broker.MetadataSource) and sends
// topic changes to the active controller (httpapi.Admin), over the
// internal HTTP routes. Controllers are found through serf.
type remoteController struct {
	peer    *httpapi.Peer
	members *membership.Membership
	log     *slog.Logger

	mu      sync.Mutex
	current *meta.Cluster
	next    int // round-robin position over controllers on failure
}

// watchWait is one long-poll's wait; retryPause the pause after a failed
// one (no controller reachable yet).
const (
	watchWait  = 25 * time.Second
	retryPause = 200 * time.Millisecond
)

func newRemoteController(peer *httpapi.Peer, members *membership.Membership, log *slog.Logger) *remoteController {
	return &remoteController{peer: peer, members: members, log: log, current: meta.NewCluster()}
}

// controllers lists the cluster addresses of alive controller-role members.
func (r *remoteController) controllers() []string {
	var out []string
	for _, m := range r.members.Members() {
		if m.Status == membership.StatusAlive && m.HasRole(RoleController) && m.ClusterAddr != "" {
			out = append(out, m.ClusterAddr)
		}
	}
	return out
}

// clusterAddrOf is the cluster address serf shows for node id.
func (r *remoteController) clusterAddrOf(id int32) string {
	for _, m := range r.members.Members() {
		if m.ID == id && m.Status == membership.StatusAlive {
			return m.ClusterAddr
		}
	}
	return ""
}

func (r *remoteController) pick() (string, bool) {
	addrs := r.controllers()
	if len(addrs) == 0 {
		return "", false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return addrs[r.next%len(addrs)], true
}

func (r *remoteController) failed() {
	r.mu.Lock()
	r.next++
	r.mu.Unlock()
}

// Metadata is the newest snapshot fetched so far.
func (r *remoteController) Metadata() *meta.Cluster {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current
}

// Watch long-polls controllers until one has metadata newer than after.
func (r *remoteController) Watch(ctx context.Context, after uint64) (*meta.Cluster, error) {
	for {
		if c := r.Metadata(); c.Version > after {
			return c, nil
		}
		addr, ok := r.pick()
		var c *meta.Cluster
		var err error
		if ok {
			c, err = r.peer.WatchMetadata(ctx, addr, after, watchWait)
		} else {
			err = errors.New("no controller known to serf yet")
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("watch metadata after version %d: %w", after, ctx.Err())
		}
		if err != nil {
			r.log.Debug("metadata watch failed; retrying", "controller", addr, "err", err)
			r.failed()
			select {
			case <-time.After(retryPause):
			case <-ctx.Done():
				return nil, fmt.Errorf("watch metadata after version %d: %w", after, ctx.Err())
			}
			continue
		}
		if c != nil {
			r.mu.Lock()
			if c.Version > r.current.Version {
				r.current = c
			}
			r.mu.Unlock()
		}
	}
}

// Propose sends cmd to a controller, following a not_controller answer to
// the active one once.
func (r *remoteController) Propose(ctx context.Context, cmd meta.Command) (meta.Result, error) {
	addr, ok := r.pick()
	if !ok {
		return meta.Result{}, &controller.NotControllerError{LeaderID: meta.NoLeader}
	}
	res, err := r.peer.Propose(ctx, addr, cmd)
	var we *wire.Error
	if errors.As(err, &we) && we.Code == wire.CodeNotController && we.Details != nil && we.Details.LeaderID != nil {
		if leader := r.clusterAddrOf(*we.Details.LeaderID); leader != "" && leader != addr {
			res, err = r.peer.Propose(ctx, leader, cmd)
		}
	}
	return res, err
}
