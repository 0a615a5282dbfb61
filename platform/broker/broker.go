package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/storage"
)

// Config configures a Broker. Zero optional fields take the documented
// defaults.
type Config struct {
	// NodeID is this node's id in the metadata. Required.
	NodeID int32
	// DataDir is the node's data directory; replicas live under
	// <DataDir>/partitions/<topic>-<topicID>/<partition>.db. Required.
	DataDir string
	// Metadata is where the broker learns the cluster's state. Required.
	Metadata MetadataSource
	// Plugins builds Wasm partitioners; nil fails produces to topics with
	// a wasm: partitioner (ErrPartitioner).
	Plugins PluginResolver
	// Forwarder sends records for partitions led elsewhere to their
	// leaders; nil answers ErrNotLeader for them.
	Forwarder Forwarder
	// OpenLog opens a replica's log. Default: the storage package's bbolt
	// log (OpenStorageLog).
	OpenLog LogOpener
	// OpenConcurrency bounds how many logs are opened at once when many
	// replicas are assigned together (start-up, a topic with many
	// partitions). Default 8.
	OpenConcurrency int
	// Logger receives the broker's logs. Default slog.Default().
	Logger *slog.Logger
	// JanitorInterval is how often retention runs and high watermarks
	// are checkpointed. Default DefaultJanitorInterval.
	JanitorInterval time.Duration
	// Replicas carries this broker's follower fetches to partition
	// leaders (docs/replication.md); nil runs no followers, so replicas
	// led elsewhere never catch up (single-node use only).
	Replicas ReplicaClient
	// ReplicaLagMax is replica.lag.time.max.ms: a follower not caught up
	// for longer leaves the ISR. Default DefaultReplicaLagMax (10 s).
	ReplicaLagMax time.Duration
	// ReplicaFetchWait is how long a leader holds a follower's fetch when
	// it has nothing new. Default DefaultReplicaFetchWait (500 ms), and
	// at most a quarter of ReplicaLagMax.
	ReplicaFetchWait time.Duration
	// Propose commits the leader's ISR changes (meta.AlterPartition).
	// Default Metadata.Propose; a node whose local controller may not be
	// the active one passes a Propose that forwards to it.
	Propose func(ctx context.Context, cmd meta.Command) (meta.Result, error)
	// ReplicaStreaming makes followers fetch over replication streams
	// (ReplicaStreamer, which Replicas must implement; docs/replication.md)
	// instead of one request per fetch round.
	ReplicaStreaming bool
	// ReplicaBackoff is a follower's pause after a failed fetch round.
	// Default DefaultReplicaBackoff (100 ms).
	ReplicaBackoff time.Duration
	// Heartbeat sends one heartbeat to the active controller (see
	// controller.Heartbeat). nil sends none: the broker then also takes
	// roles without its directory id being in the metadata (tests, and
	// clusters with sessions off).
	Heartbeat func(ctx context.Context, hb meta.Heartbeat) (meta.HeartbeatReply, error)
	// HeartbeatInterval between heartbeats. Default DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
}

// DefaultJanitorInterval is Config.JanitorInterval's default: a high
// watermark that moved without a write after it reaches the file within
// 5 s (Kafka's replica.high.watermark.checkpoint.interval.ms).
const DefaultJanitorInterval = 5 * time.Second

// DefaultOpenConcurrency is Config.OpenConcurrency's default.
const DefaultOpenConcurrency = 8

// Forwarder produces to partitions another broker leads: it appends recs
// to the partition on leader and returns their base offset, waiting as
// acks says. httpapi.Peer implements it over the internal HTTP route.
type Forwarder interface {
	Forward(ctx context.Context, leader *meta.Broker, topic string, partition int32, recs []record.Record, acks Acks) (base int64, err error)
}

// Broker is one node's replica manager. Create it with Start; it is safe
// for concurrent use; Close releases its logs.
type Broker struct {
	cfg    Config
	log    *slog.Logger
	dir    string // <DataDir>/partitions
	cancel context.CancelFunc
	done   chan struct{} // closed when the watch loop has returned
	ret    retainer

	applyMu sync.Mutex // serialises apply (the watch loop and Close)

	mu      sync.RWMutex
	cluster *meta.Cluster // the snapshot requests see
	version uint64        // the snapshot fully applied (files removed too)
	topics  map[string]*topic
	closed  bool
	applied *broadcast // notified after each applied snapshot

	isrKick chan struct{} // wakes the ISR loop
	// streamRounds counts the follower's stream fetches (fetcher_stream.go).
	streamRounds streamRounds
	isrDone      chan struct{} // closed when the ISR loop has returned
	fetchers     fetchers      // follower fetch sessions, one per leader
	throttle     copyLimiter   // reassignment throttle (throttle.go)

	dirID  string        // the partitions directory's id (identity.go)
	epoch  atomic.Int64  // broker epoch of the last heartbeat reply
	hbDone chan struct{} // closed when the heartbeat loop has returned
}

// topic is one topic as this broker holds it. A *topic is never changed
// after it is published in Broker.topics; a metadata change publishes a
// new one that shares the unchanged partitions.
type topic struct {
	meta  *meta.Topic
	dir   string
	parts []*partition // by index; nil where this node holds no replica
	// broken holds the open error of replicas assigned here whose log
	// could not be opened (their parts entry is nil).
	broken map[int32]error
	part   *topicPartitioner
}

// Start opens the replicas the current metadata assigns to this node and
// follows the metadata until Close. A replica whose log cannot be opened
// does not stop the broker: requests for it fail with
// ErrReplicaUnavailable and the next metadata change tries again.
func Start(ctx context.Context, cfg Config) (*Broker, error) {
	if cfg.Metadata == nil || cfg.DataDir == "" {
		return nil, fmt.Errorf("%w: broker needs Metadata and DataDir", ErrInvalidRequest)
	}
	if cfg.OpenLog == nil {
		cfg.OpenLog = OpenStorageLog
	}
	if cfg.OpenConcurrency <= 0 {
		cfg.OpenConcurrency = DefaultOpenConcurrency
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.JanitorInterval <= 0 {
		cfg.JanitorInterval = DefaultJanitorInterval
	}
	if cfg.ReplicaLagMax <= 0 {
		cfg.ReplicaLagMax = DefaultReplicaLagMax
	}
	if cfg.ReplicaFetchWait <= 0 {
		cfg.ReplicaFetchWait = DefaultReplicaFetchWait
	}
	cfg.ReplicaFetchWait = min(cfg.ReplicaFetchWait, cfg.ReplicaLagMax/4)
	if cfg.Propose == nil {
		cfg.Propose = cfg.Metadata.Propose
	}
	if cfg.ReplicaBackoff <= 0 {
		cfg.ReplicaBackoff = DefaultReplicaBackoff
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	b := &Broker{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "broker", "node", cfg.NodeID),
		dir:     filepath.Join(cfg.DataDir, "partitions"),
		topics:  map[string]*topic{},
		cluster: meta.NewCluster(),
		applied: newBroadcast(),
		done:    make(chan struct{}),
		isrKick: make(chan struct{}, 1),
		isrDone: make(chan struct{}),
		hbDone:  make(chan struct{}),
	}
	b.fetchers.byLeader = map[int32]*fetcher{}
	b.fetchers.throttled = map[int32]*fetcher{}
	floor, err := b.prepareDir()
	if err != nil {
		return nil, err
	}
	var created bool
	if b.dirID, created, err = loadDirID(b.dir); err != nil {
		return nil, err
	}
	if created {
		b.log.Info("new data directory", "dir_id", b.dirID)
	}
	b.ret = retainer{storage.NewJanitor(cfg.JanitorInterval, b.log)}
	if c := cfg.Metadata.Metadata(); c != nil && c.Version >= floor && c.Version > 0 {
		// A replica that fails to open is reported on its own requests
		// (ErrReplicaUnavailable); the broker serves the others.
		if err := b.apply(ctx, c, true); err != nil {
			b.log.Error("apply metadata at start", "version", c.Version, "err", err)
		}
	} else if floor > 0 {
		b.log.Info("waiting for metadata at least as new as the partitions on disk", "version", floor)
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	go b.watch(loopCtx, floor)
	go b.isrLoop(loopCtx)
	go b.heartbeatLoop(loopCtx)
	return b, nil
}

// watch applies every newer snapshot in order until ctx ends. Snapshots
// older than floor (the version the partitions on disk were last
// reconciled with) are skipped: acting on them could delete live data.
func (b *Broker) watch(ctx context.Context, floor uint64) {
	defer close(b.done)
	swept := b.Version() > 0
	after := b.Version()
	for {
		c, err := b.cfg.Metadata.Watch(ctx, after)
		if err != nil {
			if ctx.Err() == nil {
				b.log.Error("metadata watch failed; broker stops following metadata", "err", err)
			}
			return
		}
		after = c.Version
		if c.Version < floor {
			continue // nothing is acted on, and nothing is published
		}
		if err := b.apply(ctx, c, !swept); err != nil {
			b.log.Error("apply metadata", "version", c.Version, "err", err)
		}
		swept = true
	}
}

// Version is the metadata version the broker has completely applied:
// replicas opened and closed, deleted topics' files removed.
func (b *Broker) Version() uint64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.version
}

// Cluster is the metadata snapshot the broker has applied.
func (b *Broker) Cluster() *meta.Cluster {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.cluster
}

// WaitForVersion blocks until the broker has applied metadata version v
// or newer, so that a client told "topic created" can produce to it at
// once.
func (b *Broker) WaitForVersion(ctx context.Context, v uint64) error {
	for {
		ch := b.applied.Wait()
		b.mu.RLock()
		cur, closed := b.version, b.closed
		b.mu.RUnlock()
		if cur >= v {
			return nil
		}
		if closed {
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for metadata version %d (at %d): %w", v, cur, ctx.Err())
		}
	}
}

// lookup returns the topic as this broker holds it.
func (b *Broker) lookup(name string) (*topic, error) {
	b.mu.RLock()
	t, closed := b.topics[name], b.closed
	b.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	if t == nil {
		return nil, fmt.Errorf("topic %q: %w", name, ErrUnknownTopic)
	}
	return t, nil
}

// partitionOf returns the local replica of topic/index.
func (b *Broker) partitionOf(name string, index int32) (*topic, *partition, error) {
	t, err := b.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	if index < 0 || int(index) >= len(t.meta.Partitions) {
		return t, nil, fmt.Errorf("topic %q has %d partitions, not %d: %w", name, len(t.meta.Partitions), index, ErrUnknownPartition)
	}
	p := t.parts[index]
	if p == nil {
		if err := t.broken[index]; err != nil {
			return t, nil, fmt.Errorf("%s-%d on node %d: %w: %w", name, index, b.cfg.NodeID, ErrReplicaUnavailable, err)
		}
		return t, nil, b.notLeader(t, index, fmt.Errorf("no replica on node %d", b.cfg.NodeID))
	}
	return t, p, nil
}

// enrich turns an error wrapping ErrNotLeader into a *NotLeaderError
// naming the leader; nil and other errors pass unchanged.
func (b *Broker) enrich(t *topic, index int32, err error) error {
	var nl *NotLeaderError
	if err == nil || !errors.Is(err, ErrNotLeader) || errors.As(err, &nl) {
		return err
	}
	return b.notLeader(t, index, err)
}

// notLeader builds the *NotLeaderError for a partition from the applied
// metadata; reason, if any, says why this broker cannot serve it.
func (b *Broker) notLeader(t *topic, index int32, reason error) error {
	a := &t.meta.Partitions[index]
	e := &NotLeaderError{Topic: t.meta.Name, Partition: index, LeaderID: int32(a.Leader), LeaderEpoch: a.LeaderEpoch}
	if reason != nil {
		e.Reason = reason.Error()
	}
	if br, ok := b.Cluster().Broker(a.Leader); ok {
		e.LeaderAddr = br.HTTPAddr
	}
	return e
}

// Close stops following metadata, waits for in-flight operations and
// closes every log. Long-polling fetches return at once.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.applied.Notify()
	b.cancel()
	<-b.done
	<-b.isrDone
	<-b.hbDone
	b.closeFetchers()
	b.ret.j.Close()
	return b.closeAll()
}

func (b *Broker) closeAll() error {
	b.applyMu.Lock()
	defer b.applyMu.Unlock()
	b.mu.Lock()
	topics := b.topics
	b.topics = map[string]*topic{}
	b.mu.Unlock()
	var all []*partition
	for _, t := range topics {
		for _, p := range t.parts {
			if p != nil {
				all = append(all, p)
			}
		}
	}
	return closeParallel(all, b.cfg.OpenConcurrency)
}

// closeParallel closes partitions, n at a time: a close waits for a
// final commit (the clean flag, and an fsync under durability replicated),
// so a thousand in a row would take seconds.
func closeParallel(parts []*partition, n int) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, n)
	)
	for _, p := range parts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := p.close(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// topicPartitioner builds a topic's partitioner on first use (a Wasm one
// needs a context and may fail; a failure is not kept, the next produce
// tries again) and keeps it while the topic's spec stays the same, so
// round-robin keeps its position.
type topicPartitioner struct {
	spec    meta.PartitionerSpec
	plugin  int // the plugin version spec resolved to when built (wasm only)
	plugins PluginResolver

	mu sync.Mutex
	p  partitioner.Partitioner
}

func (tp *topicPartitioner) get(ctx context.Context, c *meta.Cluster) (partitioner.Partitioner, error) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.p != nil {
		return tp.p, nil
	}
	var err error
	if tp.spec.Name == meta.PartitionerWasm {
		if tp.plugins == nil {
			return nil, fmt.Errorf("partitioner %s: this node runs no plugins: %w", tp.spec, ErrPartitioner)
		}
		tp.p, err = tp.plugins.Partitioner(ctx, tp.spec, c)
	} else {
		tp.p, err = partitioner.Builtin(tp.spec.Name)
	}
	if err != nil {
		tp.p = nil
		return nil, fmt.Errorf("partitioner %s: %w: %w", tp.spec, ErrPartitioner, err)
	}
	return tp.p, nil
}
