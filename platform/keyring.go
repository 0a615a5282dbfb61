package platform

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/meta"
)

// Gossip key rotation over the cluster listener: only a node certificate
// of the cluster CA reaches these routes (the operator's tool presents
// one, see `sluice cluster keyring`).
const (
	// RouteKeyringList answers the keys every member holds
	// (membership.KeyringStatus).
	RouteKeyringList = "GET /internal/v1/keyring"
	// RouteKeyringChange runs {"op": "install"|"use"|"remove", "key":
	// base64} on every member and answers its membership.KeyringStatus.
	RouteKeyringChange = "POST /internal/v1/keyring"
)

// KeyringRequest is the body of RouteKeyringChange.
type KeyringRequest struct {
	Op  membership.KeyringOp `json:"op"`
	Key string               `json:"key"`
}

func (n *Node) registerKeyring() {
	n.api.HandleFunc(RouteKeyringList, func(w http.ResponseWriter, r *http.Request) {
		n.keyring(w, r, membership.KeyringList, "")
	})
	n.api.HandleFunc(RouteKeyringChange, func(w http.ResponseWriter, r *http.Request) {
		var req KeyringRequest
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
		if err == nil {
			err = json.Unmarshal(body, &req)
		}
		if err != nil {
			n.api.WriteError(w, r, fmt.Errorf("keyring request: %v: %w", err, meta.ErrInvalidRequest))
			return
		}
		if req.Op == membership.KeyringList {
			n.api.WriteError(w, r, fmt.Errorf("keyring request: list is GET: %w", meta.ErrInvalidRequest))
			return
		}
		n.keyring(w, r, req.Op, req.Key)
	})
}

func (n *Node) keyring(w http.ResponseWriter, r *http.Request, op membership.KeyringOp, key string) {
	st, err := n.members.Keyring(op, key)
	if err != nil {
		if errors.Is(err, membership.ErrNoEncryption) || st.Nodes == 0 {
			err = fmt.Errorf("%w: %w", err, meta.ErrInvalidRequest)
		}
		n.log.Warn("gossip keyring", "op", op, "err", err, "responses", st.Responses, "errors", st.Errors)
		if st.Nodes == 0 {
			n.api.WriteError(w, r, err)
			return
		}
	} else {
		n.log.Info("gossip keyring", "op", op, "nodes", st.Nodes, "responses", st.Responses)
	}
	// A partial failure still answers the status: the tool shows who did
	// not follow.
	status := http.StatusOK
	if err != nil {
		status = http.StatusBadGateway
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(keyringAnswer{KeyringStatus: st, Error: errString(err)})
}

// keyringAnswer is a keyring route's answer.
type keyringAnswer struct {
	membership.KeyringStatus
	Error string `json:"error,omitempty"`
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
