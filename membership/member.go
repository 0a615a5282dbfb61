package membership

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/serf/serf"
)

// Status is a member's liveness as serf sees it.
type Status string

const (
	// StatusAlive: the member answers probes.
	StatusAlive Status = "alive"
	// StatusFailed: the member stopped answering without leaving.
	StatusFailed Status = "failed"
	// StatusLeft: the member left on purpose (or is leaving).
	StatusLeft Status = "left"
)

// Tag keys carried in serf tags.
const (
	tagID    = "id"
	tagRoles = "roles"
	tagHTTP  = "http"
	tagRaft  = "raft"
	tagRack  = "rack"
	// tagClusterAddr carries the cluster listener's base URL.
	tagClusterAddr = "cluster_addr"
	// tagMaxReplicas carries Tags.MaxReplicas.
	tagMaxReplicas = "max_replicas"
	// tagCluster carries Config.Cluster: members of another cluster that
	// reach this one's gossip are never reported.
	tagCluster = "cluster"
	// tagRaftReady is set ("1") by a controller whose raft has caught up
	// with the quorum's log (SetRaftReady).
	tagRaftReady = "raft_ready"
)

// Tags is what a node tells the cluster about itself.
type Tags struct {
	NodeID   int32
	Roles    []string // e.g. "controller", "broker"
	HTTPAddr string   // advertised HTTP address (host:port)
	RaftAddr string   // advertised raft address; empty unless a controller
	// ClusterAddr is the base URL of the node's cluster listener (its
	// node-to-node routes).
	ClusterAddr string
	Rack        string
	// MaxReplicas is how many partition replicas the node can hold; 0 (no
	// tag) is no limit.
	MaxReplicas int
}

func (t Tags) encode(cluster string) map[string]string {
	m := map[string]string{
		tagID:      strconv.FormatInt(int64(t.NodeID), 10),
		tagRoles:   strings.Join(t.Roles, ","),
		tagHTTP:    t.HTTPAddr,
		tagCluster: cluster,
	}
	if t.RaftAddr != "" {
		m[tagRaft] = t.RaftAddr
	}
	if t.ClusterAddr != "" {
		m[tagClusterAddr] = t.ClusterAddr
	}
	if t.Rack != "" {
		m[tagRack] = t.Rack
	}
	if t.MaxReplicas > 0 {
		m[tagMaxReplicas] = strconv.Itoa(t.MaxReplicas)
	}
	return m
}

// Member is one node as serf sees it, with its tags parsed.
type Member struct {
	ID       int32
	Name     string // serf node name
	Roles    []string
	HTTPAddr string
	RaftAddr string
	// ClusterAddr is the base URL of the member's cluster listener.
	ClusterAddr string
	SerfAddr    string // host:port serf gossips on
	Rack        string
	// MaxReplicas is the node's replica capacity (Tags.MaxReplicas); 0
	// when it carries none or a malformed one.
	MaxReplicas int
	Status      Status
	// Cluster is the member's cluster name (Config.Cluster); empty for a
	// node that carries none.
	Cluster string
	// RaftReady: the member's controller has caught up with the quorum's
	// log since it started (SetRaftReady).
	RaftReady bool
}

// HasRole reports whether the member carries role.
func (m Member) HasRole(role string) bool { return slices.Contains(m.Roles, role) }

// parseMember turns a serf member into a Member; it fails when the node's
// tags are not Sluice's (for example a foreign serf agent joined by mistake).
func parseMember(sm serf.Member) (Member, error) {
	idTag, ok := sm.Tags[tagID]
	if !ok {
		return Member{}, fmt.Errorf("member %s: no %q tag", sm.Name, tagID)
	}
	id, err := strconv.ParseInt(idTag, 10, 32)
	if err != nil || id < 0 {
		return Member{}, fmt.Errorf("member %s: bad %q tag %q", sm.Name, tagID, idTag)
	}
	m := Member{
		ID:          int32(id),
		Name:        sm.Name,
		HTTPAddr:    sm.Tags[tagHTTP],
		RaftAddr:    sm.Tags[tagRaft],
		ClusterAddr: sm.Tags[tagClusterAddr],
		SerfAddr:    net.JoinHostPort(sm.Addr.String(), strconv.Itoa(int(sm.Port))),
		Rack:        sm.Tags[tagRack],
		Cluster:     sm.Tags[tagCluster],
		RaftReady:   sm.Tags[tagRaftReady] == "1",
	}
	if v, err := strconv.Atoi(sm.Tags[tagMaxReplicas]); err == nil && v > 0 {
		m.MaxReplicas = v
	}
	if r := sm.Tags[tagRoles]; r != "" {
		m.Roles = strings.Split(r, ",")
	}
	switch sm.Status {
	case serf.StatusAlive:
		m.Status = StatusAlive
	case serf.StatusFailed:
		m.Status = StatusFailed
	default: // leaving, left
		m.Status = StatusLeft
	}
	return m, nil
}
