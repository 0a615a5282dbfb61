package platform

import (
	"fmt"
	"net/http"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/groups"
	"github.com/sluicehq/sluice/platform/httpapi"
	"github.com/sluicehq/sluice/platform/wsapi"
)

// startGroups runs the consumer group coordinator on this node (its
// offsets live in the internal topic __consumer_offsets, created through
// the controller) and registers the WebSocket and group admin routes on
// the HTTP API. It needs a broker and a controller on the node.
func (n *Node) startGroups() error {
	var err error
	// Partitions led by other nodes are read and written through their
	// leaders: the offsets loader and commits (__consumer_offsets), and
	// WebSocket fetches. A group is coordinated by the node leading its
	// __consumer_offsets partition; the WebSocket handler passes requests
	// for other groups to it.
	peers := &groups.PeerClient{Forwarder: n.peer, HTTP: n.peer.HTTP}
	n.groups, err = groups.NewCoordinator(groups.Config{
		Log:    groups.ClusterBrokerLog(n.broker, n.controller, n.cfg.NodeID, peers),
		Logger: n.cfg.Logger.With("component", "groups"),
	})
	if err != nil {
		return fmt.Errorf("start group coordinator: %w", err)
	}
	n.ws, err = wsapi.NewHandler(wsapi.Config{
		Broker:     n.countWS(wsapi.FromCluster(n.broker, n.cfg.NodeID, peers)),
		Groups:     n.groups,
		NodeID:     n.cfg.NodeID,
		Logger:     n.cfg.Logger.With("component", "wsapi"),
		ErrorCode:  httpapi.ErrorCode,
		Processors: wsapi.PluginProcessors(n.plugins.host, n.metadata),
		Peers:      n.groupPeers,
		// Own idle connections: passed-on WebSockets are long-lived.
		ProxyTransport: &http.Transport{MaxIdleConnsPerHost: 16, TLSClientConfig: n.peerTLS},
		CheckOrigin:    n.checkOrigin,
	})
	if err != nil {
		return fmt.Errorf("start websocket api: %w", err)
	}
	n.ws.Register(n.api)
	return nil
}

// groupPeers returns the URLs of the other live nodes that run a group
// coordinator (both roles), for the cluster-wide group list.
func (n *Node) groupPeers() []string {
	var out []string
	for _, m := range n.members.Members() {
		if m.ID == n.cfg.NodeID || m.Status != membership.StatusAlive || m.HTTPAddr == "" ||
			!m.HasRole(RoleBroker) || !m.HasRole(RoleController) {
			continue
		}
		out = append(out, m.HTTPAddr)
	}
	return out
}
