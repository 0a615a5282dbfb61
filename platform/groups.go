package platform

import (
	"fmt"

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
	n.groups, err = groups.NewCoordinator(groups.Config{
		Log:    groups.BrokerLog(n.broker, n.controller),
		Logger: n.cfg.Logger.With("component", "groups"),
	})
	if err != nil {
		return fmt.Errorf("start group coordinator: %w", err)
	}
	n.ws, err = wsapi.NewHandler(wsapi.Config{
		Broker:     wsapi.FromBroker(n.broker),
		Groups:     n.groups,
		NodeID:     n.cfg.NodeID,
		Logger:     n.cfg.Logger.With("component", "wsapi"),
		ErrorCode:  httpapi.ErrorCode,
		Processors: wsapi.PluginProcessors(n.plugins.host, n.metadata),
	})
	if err != nil {
		return fmt.Errorf("start websocket api: %w", err)
	}
	n.ws.Register(n.api)
	return nil
}
