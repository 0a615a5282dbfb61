package membership

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"syscall"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
)

// Gossip encryption. With Config.Keys (or a keyring file left by an
// earlier run) every gossip packet and stream is encrypted and
// authenticated with the keyring's primary key (AES-GCM); packets under a
// key the keyring lacks are dropped, so a node without the key can neither
// join nor read the cluster's gossip. Keys rotate without downtime:
// InstallKey on every member, UseKey to make it primary, RemoveKey for the
// old one (serf's KeyManager sends each step to all members and reports
// who answered). Config.KeyringFile keeps the keyring across restarts.

// loadKeyring builds the memberlist keyring: the keyring file, when one
// exists (it holds the last rotation), else keys (the first is primary).
// It returns nil when neither has a key: gossip stays unencrypted.
func loadKeyring(file string, keys [][]byte) (*memberlist.Keyring, error) {
	if file != "" {
		raw, err := os.ReadFile(file)
		switch {
		case err == nil:
			var encoded []string
			if err := json.Unmarshal(raw, &encoded); err != nil {
				return nil, fmt.Errorf("keyring file %s: %w", file, err)
			}
			if len(encoded) == 0 {
				return nil, fmt.Errorf("keyring file %s: no keys", file)
			}
			keys = keys[:0:0]
			for _, e := range encoded {
				k, err := base64.StdEncoding.DecodeString(e)
				if err != nil {
					return nil, fmt.Errorf("keyring file %s: %w", file, err)
				}
				keys = append(keys, k)
			}
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
			// Nothing kept yet: the keys given.
		default:
			return nil, fmt.Errorf("read keyring file: %w", err)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	kr, err := memberlist.NewKeyring(keys, keys[0])
	if err != nil {
		return nil, fmt.Errorf("gossip keyring: %w", err)
	}
	return kr, nil
}

// KeyringStatus is the answer of a keyring operation across the cluster.
type KeyringStatus struct {
	// Nodes is how many members serf knows; Responses how many answered;
	// Errors how many failed (Messages says why, per member name).
	Nodes     int               `json:"nodes"`
	Responses int               `json:"responses"`
	Errors    int               `json:"errors"`
	Messages  map[string]string `json:"messages,omitempty"`
	// Keys maps each installed key (base64) to how many members hold it;
	// PrimaryKeys the same for primary keys. Set by ListKeys.
	Keys        map[string]int `json:"keys,omitempty"`
	PrimaryKeys map[string]int `json:"primary_keys,omitempty"`
}

// ErrNoEncryption: a keyring operation on a cluster that gossips in the
// clear (no key was configured at start).
var ErrNoEncryption = errors.New("gossip encryption is not enabled on this node")

// KeyringOp names a keyring operation.
type KeyringOp string

// The keyring operations.
const (
	KeyringList    KeyringOp = "list"
	KeyringInstall KeyringOp = "install"
	KeyringUse     KeyringOp = "use"
	KeyringRemove  KeyringOp = "remove"
)

// Keyring runs op on every member of the cluster (key is the base64 key;
// unused for list) and reports the answers. It fails when a member
// refused or did not answer, with the status still filled in.
func (m *Membership) Keyring(op KeyringOp, key string) (KeyringStatus, error) {
	if !m.serf.EncryptionEnabled() {
		return KeyringStatus{}, ErrNoEncryption
	}
	km := m.serf.KeyManager()
	var (
		st  KeyringStatus
		err error
	)
	switch op {
	case KeyringList:
		r, e := km.ListKeys()
		st, err = status(r), e
	case KeyringInstall, KeyringUse, KeyringRemove:
		if k, derr := base64.StdEncoding.DecodeString(key); derr != nil || (len(k) != 16 && len(k) != 24 && len(k) != 32) {
			return KeyringStatus{}, fmt.Errorf("keyring %s: want a base64 key of 16, 24 or 32 bytes", op)
		}
		f := map[KeyringOp]func(string) (*serf.KeyResponse, error){
			KeyringInstall: km.InstallKey, KeyringUse: km.UseKey, KeyringRemove: km.RemoveKey,
		}[op]
		r, e := f(key)
		st, err = status(r), e
	default:
		return KeyringStatus{}, fmt.Errorf("keyring operation %q: want list, install, use or remove", op)
	}
	if err != nil {
		return st, fmt.Errorf("keyring %s: %w", op, err)
	}
	return st, nil
}

func status(r *serf.KeyResponse) KeyringStatus {
	if r == nil {
		return KeyringStatus{}
	}
	st := KeyringStatus{Nodes: r.NumNodes, Responses: r.NumResp, Errors: r.NumErr, Keys: r.Keys, PrimaryKeys: r.PrimaryKeys}
	for name, msg := range r.Messages {
		if msg == "" {
			continue
		}
		if st.Messages == nil {
			st.Messages = map[string]string{}
		}
		st.Messages[name] = msg
	}
	return st
}

// LocalKeys lists this node's gossip keys (base64), primary first.
func (m *Membership) LocalKeys() []string {
	kr := m.keyring
	if kr == nil {
		return nil
	}
	raw := kr.GetKeys()
	out := make([]string, len(raw))
	for i, k := range raw {
		out[i] = base64.StdEncoding.EncodeToString(k)
	}
	if len(out) > 1 {
		sort.Strings(out[1:])
	}
	return out
}
