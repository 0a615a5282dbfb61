package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/controller"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// Cluster administration: preferred-leader elections, partition count
// increases, reassignments, cluster health and controller quorum changes
// (docs/api.md, "Cluster administration").

// RouteRaftStatus answers this node's controller.RaftStatus (internal).
const RouteRaftStatus = "GET /internal/v1/raft"

// forwardedParam marks a request one node passed to the active
// controller, which must not pass it on again.
const forwardedParam = "forwarded"

// QuorumAdmin is the part of the node's own controller the quorum routes
// use; *controller.Controller satisfies it. Config.Controller provides it
// when it implements it.
type QuorumAdmin interface {
	Status() controller.RaftStatus
	Servers() ([]controller.Server, error)
	AddController(ctx context.Context, id meta.NodeID) error
	RemoveController(ctx context.Context, id meta.NodeID) error
}

func (s *Server) registerAdmin() {
	s.Handle(wire.RouteElectLeaders, http.HandlerFunc(s.electLeaders))
	s.Handle(wire.RouteCreatePartitions, http.HandlerFunc(s.createPartitions))
	s.Handle(wire.RouteReassign, http.HandlerFunc(s.reassign))
	s.Handle(wire.RouteListReassignments, http.HandlerFunc(s.listReassignments))
	s.Handle(wire.RouteGenerateReassignments, http.HandlerFunc(s.generateReassignments))
	s.Handle(wire.RouteClusterHealth, http.HandlerFunc(s.clusterHealth))
	s.Handle(wire.RouteAddController, http.HandlerFunc(s.quorumChange))
	s.Handle(wire.RouteRemoveController, http.HandlerFunc(s.quorumChange))
	s.Handle(wire.RouteDecommissionBroker, http.HandlerFunc(s.decommissionBroker))
	s.Handle(wire.RouteRemoveBroker, http.HandlerFunc(s.removeBroker))
}

// registerAdminInternal registers the node-to-node route of the health
// report (registerInternal calls it).
func (s *Server) registerAdminInternal() {
	s.Handle(RouteRaftStatus, http.HandlerFunc(s.raftStatus))
	// A node without the active controller passes quorum changes and the
	// health report to it here, on the cluster listener (mutual TLS): the
	// public route already checked the client's permission.
	s.Handle(routeInternalAddController, http.HandlerFunc(s.quorumChange))
	s.Handle(routeInternalRemoveController, http.HandlerFunc(s.quorumChange))
	s.Handle(routeInternalClusterHealth, http.HandlerFunc(s.clusterHealth))
	s.Handle(RouteReplicaCopies, http.HandlerFunc(s.replicaCopies))
}

// The internal twins of the quorum and health routes.
const (
	routeInternalAddController    = "POST /internal/v1/controllers/{id}"
	routeInternalRemoveController = "DELETE /internal/v1/controllers/{id}"
	routeInternalClusterHealth    = "GET /internal/v1/cluster/health"
)

// passedOn reports whether r came from another node (an internal route, or
// a legacy ?forwarded=1): it must not be passed on again.
func passedOn(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, InternalPrefix) || r.URL.Query().Get(forwardedParam) != ""
}

// activeControllerClusterAddr is the active controller's cluster-listener
// base URL as this node's metadata names it ("" when unknown).
func (s *Server) activeControllerClusterAddr(ctx context.Context, hint string) string {
	if hint != "" {
		return hint
	}
	if s.cfg.Cluster == nil {
		return ""
	}
	c, err := s.cfg.Cluster(ctx)
	if err != nil || c.Controller.Leader < 0 {
		return ""
	}
	if b, ok := s.cfg.Metadata().Broker(meta.NodeID(c.Controller.Leader)); ok {
		return b.ClusterAddr
	}
	return ""
}

func (s *Server) quorum() QuorumAdmin {
	q, _ := s.cfg.Controller.(QuorumAdmin)
	return q
}

func (s *Server) electLeaders(w http.ResponseWriter, r *http.Request) {
	var req wire.ElectLeadersRequest
	if err := readJSON(w, r, s.cfg.MaxRequestBytes, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	md := s.cfg.Metadata()
	topics := md.TopicNames()
	if req.Topic != "" {
		if _, ok := md.Topic(req.Topic); !ok {
			s.writeError(w, r, unknownTopic(req.Topic))
			return
		}
		topics = []string{req.Topic}
	} else if len(req.Partitions) > 0 {
		s.writeError(w, r, badRequest("partitions given without a topic"))
		return
	}
	out := wire.ElectLeadersResponse{Elected: []wire.PartitionLeader{}, NotElected: []wire.PartitionLeader{}}
	var version uint64
	for _, name := range topics {
		res, err := s.propose(r.Context(), meta.Command{Op: meta.OpElectLeader, ElectLeader: &meta.ElectLeader{
			Topic: name, Partitions: req.Partitions, Preferred: true}})
		if errors.Is(err, meta.ErrUnknownTopic) && req.Topic == "" {
			continue // deleted meanwhile
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		version = max(version, res.Version)
		for _, p := range res.Partitions {
			out.Elected = append(out.Elected, wire.PartitionLeader{Topic: name, Partition: p.Index, Leader: int32(p.Leader), Preferred: int32(p.Replicas[0])})
		}
	}
	if err := s.awaitLocal(r.Context(), version); err != nil {
		s.writeError(w, r, err)
		return
	}
	md = s.cfg.Metadata()
	for _, name := range topics {
		t, ok := md.Topic(name)
		if !ok {
			continue
		}
		for i := range t.Partitions {
			p := &t.Partitions[i]
			if len(req.Partitions) > 0 && !slices.Contains(req.Partitions, p.Index) || len(p.Replicas) == 0 || p.Leader == p.Replicas[0] {
				continue
			}
			out.NotElected = append(out.NotElected, wire.PartitionLeader{Topic: name, Partition: p.Index,
				Leader: int32(p.Leader), Preferred: int32(p.Replicas[0]), Reason: notElectedReason(md, p)})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func notElectedReason(c *meta.Cluster, p *meta.Partition) string {
	pref := p.Replicas[0]
	if b, ok := c.Broker(pref); !ok || !b.Alive() {
		return fmt.Sprintf("preferred replica %d is not alive", pref)
	}
	if !p.InISR(pref) {
		return fmt.Sprintf("preferred replica %d is not in the ISR %v (it is still catching up)", pref, p.ISR)
	}
	return "leadership changed meanwhile"
}

func (s *Server) createPartitions(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("topic")
	var req wire.CreatePartitionsRequest
	if err := readJSON(w, r, s.cfg.MaxRequestBytes, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Count < 1 {
		s.writeError(w, r, badRequest("count %d: want the new total number of partitions", req.Count))
		return
	}
	res, err := s.propose(r.Context(), meta.Command{Op: meta.OpCreatePartitions, CreatePartitions: &meta.CreatePartitions{Topic: name, Count: int(req.Count)}})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.answerTopic(w, r, http.StatusOK, name, res)
}

func (s *Server) reassign(w http.ResponseWriter, r *http.Request) {
	var req wire.ReassignRequest
	if err := readJSON(w, r, s.cfg.MaxRequestBytes, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	cmd := &meta.ReassignPartitions{}
	for _, ra := range req.Reassignments {
		replicas := make([]meta.NodeID, len(ra.Replicas))
		for i, id := range ra.Replicas {
			replicas[i] = meta.NodeID(id)
		}
		cmd.Reassignments = append(cmd.Reassignments, meta.Reassignment{Topic: ra.Topic, Partition: ra.Partition, Replicas: replicas, Cancel: ra.Cancel,
			Throttle: ra.Throttle, RemoveThrottle: ra.RemoveThrottle})
	}
	res, err := s.propose(r.Context(), meta.Command{Op: meta.OpReassignPartitions, ReassignPartitions: cmd})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.awaitLocal(r.Context(), res.Version); err != nil {
		s.writeError(w, r, err)
		return
	}
	md := s.cfg.Metadata()
	var parts []*meta.Partition
	for _, ra := range req.Reassignments {
		if p, err := md.PartitionOf(ra.Topic, ra.Partition); err == nil {
			parts = append(parts, p)
		}
	}
	writeJSON(w, http.StatusOK, s.reassignmentStatus(r.Context(), parts))
}

func (s *Server) listReassignments(w http.ResponseWriter, r *http.Request) {
	md := s.cfg.Metadata()
	var parts []*meta.Partition
	for _, name := range md.TopicNames() {
		t := md.Topics[name]
		for i := range t.Partitions {
			if t.Partitions[i].Reassigning() {
				parts = append(parts, &t.Partitions[i])
			}
		}
	}
	writeJSON(w, http.StatusOK, s.reassignmentStatus(r.Context(), parts))
}

// reassignmentStatus describes parts, with the log ends of replicas
// being added as their leaders report them.
func (s *Server) reassignmentStatus(ctx context.Context, parts []*meta.Partition) wire.ReassignmentList {
	out := wire.ReassignmentList{Reassignments: []wire.ReassignmentStatus{}}
	type key struct {
		topic string
		part  int32
	}
	infos := map[key]broker.PartitionInfo{}
	remote := map[meta.NodeID]map[string]bool{}
	for _, p := range parts {
		if !p.Reassigning() || p.Leader == meta.NoLeader {
			continue
		}
		if s.cfg.Broker != nil && int32(p.Leader) == s.cfg.NodeID {
			if info, err := s.cfg.Broker.PartitionInfo(p.Topic, p.Index); err == nil {
				infos[key{p.Topic, p.Index}] = info
			}
			continue
		}
		if remote[p.Leader] == nil {
			remote[p.Leader] = map[string]bool{}
		}
		remote[p.Leader][p.Topic] = true
	}
	if len(remote) > 0 && s.cfg.Peer != nil {
		ctx, cancel := context.WithTimeout(ctx, leaderStateWait)
		defer cancel()
		md := s.cfg.Metadata()
		var (
			wg sync.WaitGroup
			mu sync.Mutex
		)
		for id, topics := range remote {
			b, ok := md.Broker(id)
			if !ok || b.ClusterAddr == "" {
				continue
			}
			for topic := range topics {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got, err := s.cfg.Peer.PartitionState(ctx, b.ClusterAddr, topic)
					if err != nil {
						return
					}
					mu.Lock()
					defer mu.Unlock()
					for _, info := range got {
						infos[key{info.Topic, info.Partition}] = info
					}
				}()
			}
		}
		wg.Wait()
	}
	copies := s.gatherCopies(ctx, parts)
	for _, p := range parts {
		st := wire.ReassignmentStatus{
			Topic: p.Topic, Partition: p.Index, Leader: int32(p.Leader),
			Replicas: nodeIDs(p.Replicas), Target: nodeIDs(p.TargetReplicas()),
			Adding: nodeIDs(p.AddingReplicas), Removing: nodeIDs(p.RemovingReplicas), ISR: nodeIDs(p.ISR),
			LeaderLogEnd: -1, RecordsBehind: -1,
		}
		if info, ok := infos[key{p.Topic, p.Index}]; ok && info.Leader {
			st.LeaderLogEnd = info.LogEnd
			st.ReplicaLogEnd = map[int32]int64{}
			behind := int64(0)
			for _, id := range p.AddingReplicas {
				leo, known := info.ReplicaLogEnds[int32(id)]
				if !known {
					leo = -1
				}
				st.ReplicaLogEnd[int32(id)] = leo
				if leo < 0 {
					behind = -1
				} else if behind >= 0 {
					behind = max(behind, info.LogEnd-leo)
				}
			}
			st.RecordsBehind = behind
		}
		leaderBytes := int64(-1)
		if info, ok := infos[key{p.Topic, p.Index}]; ok && info.Leader {
			leaderBytes = info.LogBytes
		}
		fillProgress(&st, p, leaderBytes, copies)
		out.Reassignments = append(out.Reassignments, st)
	}
	totalProgress(&out)
	return out
}

func (s *Server) generateReassignments(w http.ResponseWriter, r *http.Request) {
	var req wire.GeneratePlanRequest
	if err := readJSON(w, r, s.cfg.MaxRequestBytes, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	brokers := make([]meta.NodeID, len(req.Brokers))
	for i, id := range req.Brokers {
		brokers[i] = meta.NodeID(id)
	}
	plan, err := meta.GenerateReassignments(s.cfg.Metadata(), req.Topics, brokers, int(req.ReplicationFactor))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.ReassignRequest{Reassignments: []wire.Reassignment{}}
	for _, ra := range plan {
		out.Reassignments = append(out.Reassignments, wire.Reassignment{Topic: ra.Topic, Partition: ra.Partition, Replicas: nodeIDs(ra.Replicas)})
	}
	writeJSON(w, http.StatusOK, out)
}

func nodeIDParam(r *http.Request) (meta.NodeID, error) {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 32)
	if err != nil || n < 0 {
		return 0, badRequest("node id %q: want a non-negative integer", r.PathValue("id"))
	}
	return meta.NodeID(n), nil
}

// decommissionBroker starts moving every replica off a broker
// (meta.DrainPlan); it answers the moves, which go on in the background.
func (s *Server) decommissionBroker(w http.ResponseWriter, r *http.Request) {
	id, err := nodeIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req wire.DecommissionRequest
	if r.ContentLength != 0 {
		if err := readJSON(w, r, s.cfg.MaxRequestBytes, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	plan, err := meta.DrainPlan(s.cfg.Metadata(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for i := range plan {
		plan[i].Throttle = req.Throttle
	}
	if len(plan) == 0 {
		writeJSON(w, http.StatusOK, wire.ReassignmentList{Reassignments: []wire.ReassignmentStatus{}})
		return
	}
	res, err := s.propose(r.Context(), meta.Command{Op: meta.OpReassignPartitions, ReassignPartitions: &meta.ReassignPartitions{Reassignments: plan}})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.awaitLocal(r.Context(), res.Version); err != nil {
		s.writeError(w, r, err)
		return
	}
	md := s.cfg.Metadata()
	var parts []*meta.Partition
	for _, ra := range plan {
		if p, err := md.PartitionOf(ra.Topic, ra.Partition); err == nil {
			parts = append(parts, p)
		}
	}
	writeJSON(w, http.StatusOK, s.reassignmentStatus(r.Context(), parts))
}

func (s *Server) removeBroker(w http.ResponseWriter, r *http.Request) {
	id, err := nodeIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.propose(r.Context(), meta.Command{Op: meta.OpUnregisterBroker, UnregisterBroker: &meta.UnregisterBroker{ID: id}})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.awaitLocal(r.Context(), res.Version); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) raftStatus(w http.ResponseWriter, r *http.Request) {
	q := s.quorum()
	if q == nil {
		s.writeError(w, r, &controller.NotControllerError{LeaderID: meta.NoLeader})
		return
	}
	writeJSON(w, http.StatusOK, q.Status())
}

// quorumChange adds or removes a controller on the active controller,
// passing the request on to it from any other node.
func (s *Server) quorumChange(w http.ResponseWriter, r *http.Request) {
	id, err := nodeIDParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	err = &controller.NotControllerError{LeaderID: meta.NoLeader}
	if q := s.quorum(); q != nil {
		if r.Method == http.MethodDelete {
			err = q.RemoveController(r.Context(), id)
		} else {
			err = q.AddController(r.Context(), id)
		}
	}
	var nc *controller.NotControllerError
	if errors.As(err, &nc) && !passedOn(r) && s.cfg.Peer != nil {
		if addr := s.activeControllerClusterAddr(r.Context(), nc.LeaderClusterAddr); addr != "" {
			_, err = s.cfg.Peer.do(r.Context(), r.Method, fmt.Sprintf("%s/internal/v1/controllers/%d", addr, id), "", nil, &struct{}{})
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// raftStatusWait bounds how long health waits for each controller's raft
// state.
const raftStatusWait = 2 * time.Second

func (s *Server) clusterHealth(w http.ResponseWriter, r *http.Request) {
	q := s.quorum()
	if q == nil && !passedOn(r) && s.cfg.Peer != nil {
		// Only a controller knows the raft configuration: ask the active one.
		if addr := s.activeControllerClusterAddr(r.Context(), ""); addr != "" {
			var out wire.ClusterHealth
			if _, err := s.cfg.Peer.do(r.Context(), http.MethodGet, addr+"/internal/v1/cluster/health", "", nil, &out); err == nil {
				writeJSON(w, http.StatusOK, out)
				return
			}
		}
	}
	writeJSON(w, http.StatusOK, s.healthReport(r.Context(), q))
}

func (s *Server) healthReport(ctx context.Context, q QuorumAdmin) wire.ClusterHealth {
	md := s.cfg.Metadata()
	info := ClusterFromMetadata(md, s.cfg.NodeID)
	if s.cfg.Cluster != nil {
		if c, err := s.cfg.Cluster(ctx); err == nil {
			info = c
		}
	}
	ph := meta.Health(md)
	out := wire.ClusterHealth{
		Problems: []string{},
		Partitions: wire.PartitionCounts{Total: ph.Partitions, Offline: len(ph.Offline), UnderReplicated: len(ph.UnderReplicated),
			UnderMinISR: len(ph.UnderMinISR), NotPreferredLeader: ph.NotPreferredLeader},
		Offline:         refs(ph.Offline),
		UnderReplicated: refs(ph.UnderReplicated),
		UnderMinISR:     refs(ph.UnderMinISR),
		Brokers:         []wire.BrokerHealth{},
		MetadataVersion: md.Version,
		NodeID:          s.cfg.NodeID,
		Controller:      wire.ControllerHealth{Leader: info.Controller.Leader, Voters: []wire.ControllerMember{}},
	}
	balance := map[meta.NodeID]meta.BrokerImbalance{}
	for _, b := range meta.LeaderImbalance(md) {
		balance[b.Broker] = b
	}
	replicas := map[meta.NodeID]int{}
	for _, t := range md.Topics {
		for i := range t.Partitions {
			p := &t.Partitions[i]
			if p.Reassigning() {
				out.Reassigning++
			}
			for _, id := range p.Replicas {
				replicas[id]++
			}
		}
	}
	// Registered brokers only (serf may still list removed ones), with
	// the state serf sees now.
	states := map[int32]string{}
	for _, b := range info.Brokers {
		states[b.ID] = b.State
	}
	for _, b := range md.BrokerList() {
		state, ok := states[int32(b.ID)]
		if !ok {
			state = wire.StateFailed
		}
		bh := wire.BrokerHealth{ID: int32(b.ID), Rack: b.Rack, State: state, Fenced: !b.Alive(), Epoch: b.Epoch, Replicas: replicas[b.ID]}
		bal := balance[b.ID]
		bh.Leading, bh.Preferred, bh.NotLeading = bal.Leading, bal.Preferred, bal.NotLeading
		out.Brokers = append(out.Brokers, bh)
	}
	if q != nil {
		out.Controller.Voters = s.controllerMembers(ctx, q, md)
	}
	out.Controller.QuorumOK = out.Controller.Leader != int32(meta.NoLeader) && len(out.Controller.Voters) > 0
	for _, v := range out.Controller.Voters {
		if v.Voter && !v.Alive {
			out.Controller.QuorumOK = false
			out.Problems = append(out.Problems, fmt.Sprintf("controller quorum degraded: voter %d is not alive", v.ID))
		}
	}
	switch {
	case out.Controller.Leader == int32(meta.NoLeader):
		out.Problems = append(out.Problems, "no active controller (the quorum has no leader)")
	case len(out.Controller.Voters) == 0:
		out.Problems = append(out.Problems, "no controller reachable to report the quorum")
	}
	if n := len(out.Offline); n > 0 {
		out.Problems = append(out.Problems, fmt.Sprintf("%d partitions offline (no leader): %s", n, listSome(out.Offline)))
	}
	if n := len(out.UnderReplicated); n > 0 {
		out.Problems = append(out.Problems, fmt.Sprintf("%d partitions under-replicated: %s", n, listSome(out.UnderReplicated)))
	}
	out.Healthy = len(out.Problems) == 0
	return out
}

// controllerMembers lists the raft configuration with each member's raft
// state, asked in parallel (State "unreachable" when it does not answer).
func (s *Server) controllerMembers(ctx context.Context, q QuorumAdmin, md *meta.Cluster) []wire.ControllerMember {
	servers, err := q.Servers()
	if err != nil {
		return []wire.ControllerMember{}
	}
	out := make([]wire.ControllerMember, len(servers))
	ctx, cancel := context.WithTimeout(ctx, raftStatusWait)
	defer cancel()
	var wg sync.WaitGroup
	for i, sv := range servers {
		out[i] = wire.ControllerMember{ID: int32(sv.ID), Address: sv.Address, Voter: sv.Voter, Alive: sv.Alive, State: "unreachable"}
		if int32(sv.ID) == s.cfg.NodeID {
			setRaft(&out[i], q.Status())
			continue
		}
		b, ok := md.Broker(sv.ID)
		if !ok || b.ClusterAddr == "" || !sv.Alive || s.cfg.Peer == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var st controller.RaftStatus
			if _, err := s.cfg.Peer.do(ctx, http.MethodGet, b.ClusterAddr+"/internal/v1/raft", "", nil, &st); err == nil {
				setRaft(&out[i], st)
			}
		}()
	}
	wg.Wait()
	return out
}

func setRaft(m *wire.ControllerMember, st controller.RaftStatus) {
	m.State, m.Term, m.LastIndex, m.CommitIndex, m.AppliedIndex = st.State, st.Term, st.LastIndex, st.CommitIndex, st.AppliedIndex
}

func refs(rs []meta.PartitionRef) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Topic + "/" + strconv.Itoa(int(r.Partition))
	}
	return out
}

// listSome joins the first few names of a long list.
func listSome(names []string) string {
	const show = 10
	if len(names) <= show {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:show], ", ") + fmt.Sprintf(" and %d more", len(names)-show)
}
