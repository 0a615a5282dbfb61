package httpapi

import (
	"net/http"
	"slices"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// Health statuses.
const (
	HealthOK           = "ok"
	HealthStarting     = "starting"
	HealthNoController = "no_controller"
	// HealthControllerHalted: this node's controller refused a corrupt
	// metadata entry and stopped (controller.Controller.Halted); the node
	// serves the last good metadata.
	HealthControllerHalted = "controller_halted"
)

func (s *Server) cluster(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Cluster != nil {
		c, err := s.cfg.Cluster(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		c.Security = s.securityInfo()
		writeJSON(w, http.StatusOK, c)
		return
	}
	c := ClusterFromMetadata(s.cfg.Metadata(), s.cfg.NodeID)
	c.Security = s.securityInfo()
	writeJSON(w, http.StatusOK, c)
}

// ClusterFromMetadata answers /v1/cluster from metadata alone: every
// registered broker, alive unless fenced; the controller fields are left
// for the caller that knows the quorum.
func ClusterFromMetadata(c *meta.Cluster, nodeID int32) wire.Cluster {
	out := wire.Cluster{
		ClusterID:       c.ClusterID,
		Controller:      wire.ControllerInfo{Leader: -1, Voters: []int32{}},
		Brokers:         []wire.Broker{},
		MetadataVersion: c.Version,
		NodeID:          nodeID,
	}
	for _, b := range c.BrokerList() {
		wb := wire.Broker{
			ID:       int32(b.ID),
			Roles:    slices.Clone(b.Roles),
			HTTPAddr: b.HTTPAddr,
			RaftAddr: b.RaftAddr,
			SerfAddr: b.SerfAddr,
			Rack:     b.Rack,
			State:    wire.StateAlive,
			Fenced:   !b.Alive(),
			Epoch:    b.Epoch,
			DirID:    b.DirID,
		}
		if wb.Roles == nil {
			wb.Roles = []string{wire.RoleBroker}
		}
		if b.HasRole(meta.RoleController) {
			out.Controller.Voters = append(out.Controller.Voters, wb.ID)
		}
		out.Brokers = append(out.Brokers, wb)
	}
	return out
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	status := HealthOK
	if s.cfg.Health != nil {
		status = s.cfg.Health()
	}
	code := http.StatusOK
	if status != HealthOK {
		code = http.StatusServiceUnavailable
	}
	h := wire.Health{Status: status, NodeID: s.cfg.NodeID}
	if s.cfg.HealthWarnings != nil {
		h.Warnings = s.cfg.HealthWarnings()
	}
	writeJSON(w, code, h)
}
