package controller

import (
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/platform/meta"
)

// ErrNotController: this node is not the active controller (raft leader).
// The error is a *NotControllerError naming the leader when one is known.
var ErrNotController = errors.New("not the active controller")

// ErrClosed: the controller was closed.
var ErrClosed = errors.New("controller closed")

// NotControllerError tells a caller where the active controller is, so that
// a request can be forwarded (HTTP 503 with a hint, or a redirect).
type NotControllerError struct {
	// LeaderID is meta.NoLeader (-1) while no leader is known.
	LeaderID meta.NodeID
	// LeaderHTTPAddr is the leader's advertised HTTP address, if known.
	LeaderHTTPAddr string
	// LeaderClusterAddr is the base URL of the leader's cluster listener,
	// where other nodes forward proposals, if known.
	LeaderClusterAddr string
	// LeaderRaftAddr is the leader's raft address, if known.
	LeaderRaftAddr string
}

func (e *NotControllerError) Error() string {
	if e.LeaderID == meta.NoLeader {
		return "not the active controller (no leader elected yet)"
	}
	return fmt.Sprintf("not the active controller (leader is node %d at %s)", e.LeaderID, e.LeaderHTTPAddr)
}

// Is makes errors.Is(err, ErrNotController) true.
func (e *NotControllerError) Is(target error) bool { return target == ErrNotController }
