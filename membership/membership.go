// Package membership is Sluice's view of which nodes exist: a thin wrapper
// around hashicorp/serf gossip. Every node joins with typed tags (node id,
// roles, advertised HTTP and raft addresses, rack); Members lists what serf
// knows and Events streams joins, failures, leaves, updates and reaps as typed
// values.
//
// The serf event handler never blocks: serf calls into a goroutine that only
// parses tags and does a non-blocking send on a buffered channel. If nobody
// reads Events and the buffer fills up, further events are dropped and
// counted (Dropped). Consumers that must not miss a change (the controller's
// reconcile loop) also re-read Members periodically, so a dropped event delays
// a change but never loses it.
//
// Every node belongs to a named cluster (Config.Cluster). The name is
// memberlist's packet label, so gossip from a node of another cluster is
// refused (a join to it fails), and it is a tag: Members and Events never
// report a member whose tag names another cluster. A mistyped --join or a
// demo cluster started on another cluster's ports cannot make foreign nodes
// part of this one.
//
// membership knows nothing of the platform packages.
package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
)

// ErrClosed is returned by calls on a closed Membership.
var ErrClosed = errors.New("membership closed")

// DefaultCluster is the cluster name of a Config that names none.
const DefaultCluster = "sluice"

// maxClusterName keeps the gossip label within memberlist's 255 bytes.
const maxClusterName = 200

// labelPrefix namespaces the memberlist label.
const labelPrefix = "sluice-cluster:"

// Config configures a node's membership. Zero durations take the defaults
// of memberlist.DefaultLocalConfig (a local network), which the comments
// name; tests shorten them.
type Config struct {
	// NodeName is the serf node name; default "node-<NodeID>". Unique.
	NodeName string
	// BindAddr is host:port to gossip on (UDP and TCP). Port 0 picks a free
	// port; default "0.0.0.0:7946".
	BindAddr string
	// AdvertiseAddr is host:port other nodes use; default: the bound address.
	AdvertiseAddr string
	// Cluster names the cluster this node belongs to; default
	// DefaultCluster. Nodes gossip only with nodes of the same name.
	Cluster string
	// Tags describe this node to the others.
	Tags Tags
	// Join lists serf addresses (host:port) of other members. Start retries
	// the join with backoff until one of them answers (any live member will
	// do, and in a cold start the nodes may list each other), until
	// RetryJoinTimeout passes or until Start's context ends.
	Join []string
	// RetryJoinTimeout bounds how long Start keeps retrying Join; 0 retries
	// until Start's context ends (as Consul's retry_join does).
	RetryJoinTimeout time.Duration
	// RetryJoinMaxBackoff caps the wait between join attempts (default 5s;
	// the first wait is 100ms, doubling, with jitter).
	RetryJoinMaxBackoff time.Duration
	// Logger receives serf's and memberlist's logs; nil discards them.
	Logger *slog.Logger
	// EventBuffer is the capacity of the Events channel; default 1024.
	EventBuffer int

	// ProbeInterval between failure-detector probes (default 1s).
	ProbeInterval time.Duration
	// ProbeTimeout for one probe's ack (default 200ms).
	ProbeTimeout time.Duration
	// GossipInterval between gossip rounds (default 100ms).
	GossipInterval time.Duration
	// SuspicionMult scales how long a suspect stays suspect before it is
	// declared failed (default 3).
	SuspicionMult int
	// ReapInterval between checks for failed/left members to forget
	// (default 15s); ReconnectTimeout is how long a failed member is kept
	// (default 24h); TombstoneTimeout how long a left one is (default 24h).
	ReapInterval, ReconnectTimeout, TombstoneTimeout time.Duration
	// LeavePropagateDelay lets a leave gossip out before shutdown (default 1s).
	LeavePropagateDelay time.Duration

	// Keys, when not empty, encrypt the gossip (see keyring.go): the first
	// is the primary key; each is 16, 24 or 32 bytes. A node whose keyring
	// lacks the cluster's primary key cannot join it.
	Keys [][]byte
	// KeyringFile keeps the keyring across restarts: serf rewrites it on
	// every install, use and remove, and when it exists at start it is
	// used instead of Keys. Empty keeps the keyring in memory only.
	KeyringFile string
}

// EventType says what happened to a member.
type EventType string

const (
	EventJoin   EventType = "join"   // a member joined (or came back)
	EventLeave  EventType = "leave"  // a member left gracefully
	EventFailed EventType = "failed" // a member stopped answering
	EventUpdate EventType = "update" // a member's tags changed
	EventReap   EventType = "reap"   // serf forgot a failed or left member
)

// Event is one change to one member.
type Event struct {
	Type   EventType
	Member Member
}

// Membership is a running serf agent. Methods are safe for concurrent use.
type Membership struct {
	serf    *serf.Serf
	log     *slog.Logger
	events  chan Event
	dropped atomic.Uint64
	cluster string
	foreign atomic.Uint64       // members of another cluster ignored
	keyring *memberlist.Keyring // nil: gossip in the clear

	closeOnce sync.Once
	closeErr  error
	stop      chan struct{}
	done      chan struct{}
}

// Start creates the serf agent, joins cfg.Join and starts delivering events.
// ctx bounds only the start (the join); Close stops the agent.
func Start(ctx context.Context, cfg Config) (*Membership, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.NodeName == "" {
		cfg.NodeName = "node-" + strconv.Itoa(int(cfg.Tags.NodeID))
	}
	if cfg.BindAddr == "" {
		cfg.BindAddr = "0.0.0.0:7946"
	}
	if cfg.EventBuffer <= 0 {
		cfg.EventBuffer = 1024
	}
	if cfg.Cluster == "" {
		cfg.Cluster = DefaultCluster
	}
	if len(cfg.Cluster) > maxClusterName {
		return nil, fmt.Errorf("cluster name of %d bytes: at most %d", len(cfg.Cluster), maxClusterName)
	}
	sc, err := serfConfig(cfg, log)
	if err != nil {
		return nil, err
	}
	serfEvents := make(chan serf.Event, 256)
	sc.EventCh = serfEvents
	s, err := serf.Create(sc)
	if err != nil {
		return nil, fmt.Errorf("start serf on %s: %w", cfg.BindAddr, err)
	}
	m := &Membership{
		serf:    s,
		log:     log.With("node", cfg.NodeName),
		events:  make(chan Event, cfg.EventBuffer),
		cluster: cfg.Cluster,
		keyring: sc.MemberlistConfig.Keyring,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go m.forward(serfEvents)
	if len(cfg.Join) > 0 {
		if err := m.retryJoin(ctx, cfg); err != nil {
			_ = m.Close()
			return nil, err
		}
	}
	m.log.Info("membership started", "serf_addr", m.Local().SerfAddr)
	return m, nil
}

func serfConfig(cfg Config, log *slog.Logger) (*serf.Config, error) {
	host, port, err := splitHostPort(cfg.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("serf bind address %q: %w", cfg.BindAddr, err)
	}
	ml := memberlist.DefaultLocalConfig()
	ml.Name = cfg.NodeName
	// Packets and streams of another cluster carry another label (or
	// none) and are dropped by memberlist before serf sees them.
	ml.Label = labelPrefix + cfg.Cluster
	ml.BindAddr, ml.BindPort = host, port
	ml.AdvertisePort = port
	if cfg.AdvertiseAddr != "" {
		ah, ap, err := splitHostPort(cfg.AdvertiseAddr)
		if err != nil {
			return nil, fmt.Errorf("serf advertise address %q: %w", cfg.AdvertiseAddr, err)
		}
		if ah, err = advertiseIP(ah); err != nil {
			return nil, fmt.Errorf("serf advertise address %q: %w", cfg.AdvertiseAddr, err)
		}
		ml.AdvertiseAddr, ml.AdvertisePort = ah, ap
	}
	setDur(&ml.ProbeInterval, cfg.ProbeInterval)
	setDur(&ml.ProbeTimeout, cfg.ProbeTimeout)
	setDur(&ml.GossipInterval, cfg.GossipInterval)
	if cfg.SuspicionMult > 0 {
		ml.SuspicionMult = cfg.SuspicionMult
	}
	std := newStdLogger(log)
	ml.Logger = std

	sc := serf.DefaultConfig()
	sc.NodeName = cfg.NodeName
	sc.Tags = cfg.Tags.encode(cfg.Cluster)
	sc.MemberlistConfig = ml
	sc.Logger = std
	sc.LogOutput = nil
	sc.EnableNameConflictResolution = true
	setDur(&sc.ReapInterval, cfg.ReapInterval)
	setDur(&sc.ReconnectTimeout, cfg.ReconnectTimeout)
	setDur(&sc.TombstoneTimeout, cfg.TombstoneTimeout)
	setDur(&sc.LeavePropagateDelay, cfg.LeavePropagateDelay)
	kr, err := loadKeyring(cfg.KeyringFile, cfg.Keys)
	if err != nil {
		return nil, err
	}
	if kr != nil {
		ml.Keyring = kr
		ml.GossipVerifyIncoming, ml.GossipVerifyOutgoing = true, true
		sc.KeyringFile = cfg.KeyringFile
	}
	return sc, nil
}

func setDur(dst *time.Duration, v time.Duration) {
	if v > 0 {
		*dst = v
	}
}

// advertiseIP returns host when it is an IP address, else the address it
// resolves to (IPv4 first): memberlist gossips an IP, while a node may
// advertise a DNS name (a compose service, a Kubernetes pod name) for its
// other addresses. A name that does not resolve yet (a pod whose DNS
// record is not published) is retried for up to advertiseResolveWait.
func advertiseIP(host string) (string, error) {
	if net.ParseIP(host) != nil {
		return host, nil
	}
	deadline := time.Now().Add(advertiseResolveWait)
	for {
		ips, err := net.DefaultResolver.LookupIP(context.Background(), "ip", host)
		if err == nil && len(ips) > 0 {
			for _, ip := range ips {
				if ip.To4() != nil {
					return ip.String(), nil
				}
			}
			return ips[0].String(), nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("%s resolves to no address", host)
			}
			return "", err
		}
		time.Sleep(time.Second)
	}
}

// advertiseResolveWait bounds advertiseIP's retries.
var advertiseResolveWait = 30 * time.Second

func splitHostPort(addr string) (string, int, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", ps)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// forward is the serf event handler: it parses and hands on, never blocks.
func (m *Membership) forward(in <-chan serf.Event) {
	defer close(m.done)
	for {
		select {
		case <-m.stop:
			return
		case ev := <-in:
			me, ok := ev.(serf.MemberEvent)
			if !ok {
				continue
			}
			typ := eventType(me.Type)
			for _, sm := range me.Members {
				mem, err := parseMember(sm)
				if err != nil {
					m.log.Warn("ignoring serf member", "err", err)
					continue
				}
				if !m.ours(mem) {
					continue
				}
				m.logEvent(typ, mem)
				select {
				case m.events <- Event{Type: typ, Member: mem}:
				default:
					if n := m.dropped.Add(1); n == 1 || n%1000 == 0 {
						m.log.Warn("membership event dropped: nobody is reading Events", "dropped", n)
					}
				}
			}
		}
	}
}

func (m *Membership) logEvent(typ EventType, mem Member) {
	level := slog.LevelInfo
	if typ == EventUpdate || typ == EventReap {
		level = slog.LevelDebug
	}
	m.log.Log(context.Background(), level, "member "+string(typ), "member", mem.Name, "id", mem.ID, "serf_addr", mem.SerfAddr)
}

func eventType(t serf.EventType) EventType {
	switch t {
	case serf.EventMemberJoin:
		return EventJoin
	case serf.EventMemberLeave:
		return EventLeave
	case serf.EventMemberFailed:
		return EventFailed
	case serf.EventMemberReap:
		return EventReap
	default:
		return EventUpdate
	}
}

// Join contacts the given serf addresses; it succeeds if at least one
// answered. ctx is checked before the attempt (serf's join is bounded by its
// own TCP timeout).
func (m *Membership) Join(ctx context.Context, addrs []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("join %v: %w", addrs, err)
	}
	n, err := m.serf.Join(addrs, true)
	if n == 0 {
		return fmt.Errorf("join %v: %w", addrs, err)
	}
	return nil
}

// Members returns every member serf knows (alive, failed or left until it is
// reaped), excluding nodes whose tags are not Sluice's.
func (m *Membership) Members() []Member {
	sms := m.serf.Members()
	out := make([]Member, 0, len(sms))
	for _, sm := range sms {
		if mem, err := parseMember(sm); err == nil && m.ours(mem) {
			out = append(out, mem)
		}
	}
	return out
}

// ours reports whether mem belongs to this node's cluster; it logs the
// first foreign member and every 1000th after.
func (m *Membership) ours(mem Member) bool {
	if mem.Cluster == m.cluster {
		return true
	}
	if n := m.foreign.Add(1); n == 1 || n%1000 == 0 {
		m.log.Warn("ignoring a member of another cluster", "member", mem.Name, "id", mem.ID,
			"serf_addr", mem.SerfAddr, "its_cluster", mem.Cluster, "cluster", m.cluster)
	}
	return false
}

// Cluster returns the name of the cluster this node belongs to.
func (m *Membership) Cluster() string { return m.cluster }

// Local returns this node as a member.
func (m *Membership) Local() Member {
	mem, _ := parseMember(m.serf.LocalMember())
	return mem
}

// Events delivers membership changes in the order serf reports them. The
// channel is closed by Close.
func (m *Membership) Events() <-chan Event { return m.events }

// Dropped counts events lost because the Events buffer was full.
func (m *Membership) Dropped() uint64 { return m.dropped.Load() }

// Leave tells the cluster this node is leaving on purpose (others see
// StatusLeft, not failed), waiting LeavePropagateDelay for the news to
// spread. Call Close right afterwards: a node that left but keeps answering
// probes can stay "alive" to peers that missed the leave gossip.
func (m *Membership) Leave() error {
	if err := m.serf.Leave(); err != nil {
		return fmt.Errorf("serf leave: %w", err)
	}
	return nil
}

// SetRaftReady tells the cluster that this node's controller has caught up
// with the quorum's log (the member's RaftReady becomes true). Tags start
// without it at every Start.
func (m *Membership) SetRaftReady() error {
	tags := maps.Clone(m.serf.LocalMember().Tags)
	if tags[tagRaftReady] == "1" {
		return nil
	}
	tags[tagRaftReady] = "1"
	if err := m.serf.SetTags(tags); err != nil {
		return fmt.Errorf("set serf tags: %w", err)
	}
	return nil
}

// Close shuts serf down (without leaving: others will see this node fail
// unless Leave was called first), stops event delivery and closes Events.
func (m *Membership) Close() error {
	m.closeOnce.Do(func() {
		if err := m.serf.Shutdown(); err != nil {
			m.closeErr = fmt.Errorf("serf shutdown: %w", err)
		}
		close(m.stop)
		<-m.done
		close(m.events)
	})
	return m.closeErr
}
