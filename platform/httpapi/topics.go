package httpapi

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/sluicehq/sluice/platform/auth"
	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/controller"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// metadataWait bounds how long a topic change waits for the local broker
// to apply it before answering (so "created" means "produce works here").
const metadataWait = 10 * time.Second

func (s *Server) listTopics(w http.ResponseWriter, r *http.Request) {
	c := s.cfg.Metadata()
	out := wire.TopicList{Topics: make([]wire.TopicSummary, 0, len(c.Topics))}
	for _, name := range c.TopicNames() {
		if !auth.Visible(r.Context(), meta.ResourceTopic, name) {
			continue
		}
		t := c.Topics[name]
		out.Topics = append(out.Topics, wire.TopicSummary{
			Name:              t.Name,
			Partitions:        int32(len(t.Partitions)),
			ReplicationFactor: int32(t.ReplicationFactor),
			Partitioner:       t.Partitioner.String(),
			Internal:          t.Internal,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) describeTopic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("topic")
	t, ok := s.cfg.Metadata().Topic(name)
	if !ok {
		s.writeError(w, r, unknownTopic(name))
		return
	}
	writeJSON(w, http.StatusOK, s.topicAnswer(r.Context(), t))
}

func (s *Server) createTopic(w http.ResponseWriter, r *http.Request) {
	var req wire.CreateTopicRequest
	if err := readJSON(w, r, s.cfg.MaxRequestBytes, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := wire.ValidateTopicName(req.Name, false); err != nil {
		s.writeError(w, r, badRequest("%v", err))
		return
	}
	if req.Partitions < 1 {
		s.writeError(w, r, badRequest("partitions %d: need at least 1", req.Partitions))
		return
	}
	if req.ReplicationFactor < 0 {
		s.writeError(w, r, badRequest("replication_factor %d: must be positive", req.ReplicationFactor))
		return
	}
	spec, err := meta.ParsePartitionerSpec(req.Partitioner)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	spec.Params = req.PartitionerParams
	rf := int(req.ReplicationFactor)
	if rf == 0 {
		rf = defaultReplicationFactor(s.cfg.Metadata())
	}
	res, err := s.propose(r.Context(), meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{
		Name:              req.Name,
		Partitions:        int(req.Partitions),
		ReplicationFactor: rf,
		Partitioner:       spec,
		Config:            req.Config,
	}})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.answerTopic(w, r, http.StatusCreated, req.Name, res)
}

func (s *Server) alterTopic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("topic")
	var req wire.AlterTopicRequest
	if err := readJSON(w, r, s.cfg.MaxRequestBytes, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	// The controller decides whether the topic exists: this node's copy
	// of the metadata may lag behind a change made through another node.
	cmd := &meta.AlterTopic{Name: name, Config: resetToDefaults(req.Config)}
	if req.Partitioner != nil || req.PartitionerParams != nil {
		var spec meta.PartitionerSpec
		if req.Partitioner == nil || req.PartitionerParams == nil {
			// Half of the spec is kept: it comes from the current topic.
			t, ok := s.cfg.Metadata().Topic(name)
			if !ok {
				s.writeError(w, r, unknownTopic(name))
				return
			}
			spec = t.Partitioner
		}
		if req.Partitioner != nil {
			parsed, err := meta.ParsePartitionerSpec(*req.Partitioner)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			parsed.Params = spec.Params
			spec = parsed
		}
		if req.PartitionerParams != nil {
			spec.Params = req.PartitionerParams
		}
		cmd.Partitioner = &spec
	}
	res, err := s.propose(r.Context(), meta.Command{Op: meta.OpAlterTopic, AlterTopic: cmd})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.answerTopic(w, r, http.StatusOK, name, res)
}

func (s *Server) deleteTopic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("topic")
	res, err := s.propose(r.Context(), meta.Command{Op: meta.OpDeleteTopic, DeleteTopic: &meta.DeleteTopic{Name: name}})
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

// propose sends a metadata change to the controller.
func (s *Server) propose(ctx context.Context, cmd meta.Command) (meta.Result, error) {
	if s.cfg.Admin == nil {
		return meta.Result{}, &controller.NotControllerError{LeaderID: meta.NoLeader}
	}
	cmd.At = time.Now()
	res, err := s.cfg.Admin.Propose(ctx, cmd)
	var nc *controller.NotControllerError
	if err != nil && s.cfg.Peer != nil && errors.As(err, &nc) && nc.LeaderClusterAddr != "" {
		// Another node leads the quorum: hand the change to it (once; it
		// proposes locally and cannot forward again).
		return s.cfg.Peer.Propose(ctx, nc.LeaderClusterAddr, cmd)
	}
	return res, err
}

// awaitLocal waits until this node's broker has applied version v.
func (s *Server) awaitLocal(ctx context.Context, v uint64) error {
	if s.cfg.Broker == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, metadataWait)
	defer cancel()
	return s.cfg.Broker.WaitForVersion(ctx, v)
}

// catchUpWait bounds how long a request waits for the local broker to
// apply metadata this node already knows.
const catchUpWait = 5 * time.Second

// catchUp reports whether err (unknown topic or partition, not leader)
// may come from the local broker lagging behind the metadata this node
// holds (a topic created through another node a moment ago); it then
// waits for the broker to apply it, and the caller retries once.
func (s *Server) catchUp(ctx context.Context, err error) bool {
	if s.cfg.Broker == nil || !(errors.Is(err, broker.ErrUnknownTopic) || errors.Is(err, broker.ErrUnknownPartition) || errors.Is(err, broker.ErrNotLeader)) {
		return false
	}
	v := s.cfg.Metadata().Version
	if v <= s.cfg.Broker.Version() {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, catchUpWait)
	defer cancel()
	return s.cfg.Broker.WaitForVersion(ctx, v) == nil
}

// answerTopic answers a topic change once the local broker has it.
func (s *Server) answerTopic(w http.ResponseWriter, r *http.Request, status int, name string, res meta.Result) {
	if err := s.awaitLocal(r.Context(), res.Version); err != nil {
		s.writeError(w, r, err)
		return
	}
	t := res.Topic
	if t == nil {
		var ok bool
		if t, ok = s.cfg.Metadata().Topic(name); !ok {
			s.writeError(w, r, unknownTopic(name))
			return
		}
	}
	writeJSON(w, status, s.topicAnswer(r.Context(), t))
}

// leaderStateWait bounds how long describe waits for other leaders' log
// state before it answers -1 for their partitions.
const leaderStateWait = 2 * time.Second

// topicAnswer describes a topic. The log fields come from each
// partition's leader: the local broker, or (with a Peer) the other
// nodes, asked in parallel; -1 where a leader does not answer in time.
func (s *Server) topicAnswer(ctx context.Context, t *meta.Topic) wire.Topic {
	out := wire.Topic{
		Name:              t.Name,
		PartitionCount:    int32(len(t.Partitions)),
		ReplicationFactor: int32(t.ReplicationFactor),
		Partitioner:       t.Partitioner.String(),
		PartitionerParams: t.Partitioner.Params,
		Config:            setConfig(t.Config),
		Internal:          t.Internal,
		Partitions:        make([]wire.Partition, len(t.Partitions)),
	}
	remote := map[meta.NodeID]bool{}
	for i, p := range t.Partitions {
		wp := wire.Partition{
			Index:          p.Index,
			Leader:         int32(p.Leader),
			Replicas:       nodeIDs(p.Replicas),
			ISR:            nodeIDs(p.ISR),
			LeaderEpoch:    p.LeaderEpoch,
			PartitionEpoch: p.PartitionEpoch,
			LogStart:       -1, LogEnd: -1, HighWatermark: -1, LogBytes: -1,
			State: p.State(),
		}
		if len(p.Lost) > 0 {
			wp.Lost = nodeIDs(p.Lost)
		}
		if p.Reassigning() {
			wp.AddingReplicas, wp.RemovingReplicas = nodeIDs(p.AddingReplicas), nodeIDs(p.RemovingReplicas)
		}
		switch {
		case s.cfg.Broker != nil && int32(p.Leader) == s.cfg.NodeID:
			if info, err := s.cfg.Broker.PartitionInfo(t.Name, p.Index); err == nil {
				wp.LogStart, wp.LogEnd, wp.HighWatermark = info.LogStart, info.LogEnd, info.HighWatermark
				wp.LogBytes = info.LogBytes
			}
		case p.Leader != meta.NoLeader:
			remote[p.Leader] = true
		}
		out.Partitions[i] = wp
	}
	if len(remote) > 0 && s.cfg.Peer != nil {
		s.fillFromLeaders(ctx, t.Name, remote, out.Partitions)
	}
	return out
}

// fillFromLeaders asks each leader for its partitions' log state.
func (s *Server) fillFromLeaders(ctx context.Context, topic string, leaders map[meta.NodeID]bool, parts []wire.Partition) {
	ctx, cancel := context.WithTimeout(ctx, leaderStateWait)
	defer cancel()
	c := s.cfg.Metadata()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		infos []broker.PartitionInfo
	)
	for id := range leaders {
		b, ok := c.Broker(id)
		if !ok || b.ClusterAddr == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.cfg.Peer.PartitionState(ctx, b.ClusterAddr, topic)
			if err != nil {
				s.log.Debug("partition state from leader", "leader", id, "err", err)
				return
			}
			mu.Lock()
			infos = append(infos, got...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, info := range infos {
		if info.Partition < 0 || int(info.Partition) >= len(parts) {
			continue
		}
		p := &parts[info.Partition]
		if p.LogEnd == -1 {
			p.LogStart, p.LogEnd, p.HighWatermark = info.LogStart, info.LogEnd, info.HighWatermark
			p.LogBytes = info.LogBytes
		}
	}
}

// setConfig is the topic's configuration without the keys at their
// default, as docs/api.md shows it.
func setConfig(c meta.TopicConfig) map[string]string {
	defaults := meta.DefaultTopicConfig().ToMap()
	out := map[string]string{}
	for k, v := range c.ToMap() {
		if defaults[k] != v {
			out[k] = v
		}
	}
	return out
}

// resetToDefaults turns "key": "" (reset, in the API) into the default
// value, which is what the metadata command applies.
func resetToDefaults(kv map[string]string) map[string]string {
	if len(kv) == 0 {
		return kv
	}
	defaults := meta.DefaultTopicConfig().ToMap()
	out := maps.Clone(kv)
	for k, v := range out {
		if d, known := defaults[k]; v == "" && known {
			out[k] = d
		}
	}
	return out
}

// defaultReplicationFactor is the replication factor of a topic created
// without one (docs/api.md): 1 on one broker, else min(3, brokers), with
// brokers the alive nodes that may hold replicas.
func defaultReplicationFactor(c *meta.Cluster) int {
	return max(1, min(3, len(c.AliveBrokers())))
}

func nodeIDs(ns []meta.NodeID) []int32 {
	out := make([]int32, len(ns))
	for i, n := range ns {
		out[i] = int32(n)
	}
	return out
}

func unknownTopic(name string) error {
	return wire.Errorf(wire.CodeUnknownTopic, "topic %q does not exist", name)
}
