package wsapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sluicehq/sluice/platform/groups"
	"github.com/sluicehq/sluice/record"
)

// Broker is what the endpoints need of the local broker. FromBroker adapts
// *broker.Broker.
type Broker interface {
	// Partitions returns the partition count of topic; an unknown topic is
	// an error the error mapping knows (broker.ErrUnknownTopic or
	// groups.ErrUnknownTopic).
	Partitions(ctx context.Context, topic string) (int32, error)
	// Fetch long-polls committed records of one partition from offset.
	// Records may begin before offset (whole batches); the caller skips
	// them.
	Fetch(ctx context.Context, req FetchRequest) (FetchResult, error)
	// ListOffset returns the log start (at == OffsetEarliest), the high
	// watermark (OffsetLatest) or the first offset with a timestamp >= at.
	ListOffset(ctx context.Context, topic string, partition int32, at int64) (int64, error)
	// Produce runs the topic's partitioner and appends; acks is "0", "1"
	// or "all". A whole-request failure is the error; partition failures
	// are per result.
	Produce(ctx context.Context, topic string, recs []record.Record, acks string) ([]ProduceResult, error)
}

// Positions for Broker.ListOffset.
const (
	OffsetEarliest int64 = -2
	OffsetLatest   int64 = -1
)

// FetchRequest asks for records of one partition.
type FetchRequest struct {
	Topic     string
	Partition int32
	Offset    int64
	MaxBytes  int
	MaxWait   time.Duration
}

// FetchResult is a fetch answer.
type FetchResult struct {
	Records       []record.Record
	NextOffset    int64
	HighWatermark int64
	LogStart      int64
	LogEnd        int64
}

// ProduceResult is where one record went, or its error.
type ProduceResult struct {
	Partition int32
	Offset    int64
	Err       error
}

// Processor transforms a batch of one partition on its way to a consumer;
// each output names the offset of the input it came from. It must be safe
// for concurrent use (one connection runs it for several partitions at
// once). If it also has a Close(context.Context) error method, the
// connection calls it when done.
type Processor interface {
	Process(ctx context.Context, partition int32, recs []record.Record) ([]Output, error)
}

// Output is one record a processor produced.
type Output struct {
	Record       record.Record
	SourceOffset int64
}

// ProcessorResolver builds a processor from a registry plugin: version 0
// means the latest. An unknown plugin is an error the error mapping knows
// (ErrUnknownProcessor, or the registry's own sentinel via Config.ErrorCode).
type ProcessorResolver interface {
	Processor(ctx context.Context, name string, version int, params map[string]string) (Processor, error)
}

// Config configures a Handler. Zero values mean the documented defaults.
type Config struct {
	// Broker serves fetches, offsets and produces. Required.
	Broker Broker
	// Groups is the consumer group coordinator. Required.
	Groups *groups.Coordinator
	// Processors resolves processor plugins; nil refuses every processor
	// with unknown_plugin.
	Processors ProcessorResolver
	// NodeID is reported as the coordinator of every group.
	NodeID int32
	// Logger; default slog.Default().
	Logger *slog.Logger
	// ErrorCode, if set, is asked first to map an error to an API code
	// (return "" to fall through to the built-in mapping). The node can
	// pass the HTTP API's mapping so both APIs agree.
	ErrorCode func(error) string

	// MaxBufferedBytes bounds the records one consume connection holds
	// (fetched and processed, not yet sent), counting record payload plus
	// RecordOverhead each; a processor's output is what counts, so one
	// that expands records is run on pieces of a fetch and the rest is
	// fetched again once the buffer drains. The bound may be passed by
	// at most one record per served partition (a fetch always returns one
	// whole record), or, with a processor, the output of about one input
	// record. Default 8 MiB.
	MaxBufferedBytes int64
	// FetchMaxBytes caps one fetch. Default 1 MiB.
	FetchMaxBytes int
	// FetchMinBytes: a partition is not fetched while less budget than
	// this is free (avoids many tiny fetches). Default 16 KiB, at most
	// MaxBufferedBytes/4.
	FetchMinBytes int
	// FetchMaxWait is the long-poll wait of one fetch. Default 500ms.
	FetchMaxWait time.Duration
	// MaxFrameRecords caps the records in one frame. Default 500.
	MaxFrameRecords int
	// PingInterval is how often the server pings; any client frame or pong
	// counts as a heartbeat. Default 5s (and at most a third of a group's
	// session timeout).
	PingInterval time.Duration
	// IdleTimeout closes a connection that sent nothing (no message, no
	// pong) for this long. Default 3 × PingInterval.
	IdleTimeout time.Duration
	// WriteTimeout bounds one frame write. Default 10s.
	//
	// Invariant (checked by NewHandler): the coordinator's
	// RebalanceTimeout is more than twice WriteTimeout. A connection
	// takes revocations between frames, so when a partition is revoked
	// at most one records frame of it is still being written (at most
	// WriteTimeout), then the revoked frame (at most WriteTimeout); only
	// after both may the coordinator give the partition to another
	// member without the old one still receiving its records.
	WriteTimeout time.Duration
	// CloseGrace is how long the server waits for the client's close frame
	// after sending its own. Default 1s.
	CloseGrace time.Duration
	// MaxMessageBytes is the largest client frame accepted. Default 16 MiB.
	MaxMessageBytes int64
	// ProduceMaxInFlight is how many produce batches a connection may have
	// read but not answered; at the limit the server stops reading.
	// Default 64.
	ProduceMaxInFlight int
	// Peers, if set, returns the base URLs ("http://host:port") of the
	// other nodes that coordinate groups; the group list merges theirs
	// (each node lists the groups it coordinates). Nil: a one-node list.
	Peers func() []string
	// ProxyTransport carries requests passed to the node that coordinates
	// their group (WebSocket consume with a group, group admin); nil means
	// http.DefaultTransport.
	ProxyTransport http.RoundTripper
	// CheckOrigin decides whether to accept a browser's cross-origin
	// upgrade. The node passes its origin policy (auth.OriginPolicy.Check:
	// the listener's own origin and --allowed-origins); the default, for
	// tests and embedders, accepts every origin.
	CheckOrigin func(r *http.Request) bool
}

// RecordOverhead is the memory a buffered record is counted for beyond its
// payload (struct, slices, headers).
const RecordOverhead = 64

func (c Config) withDefaults() (Config, error) {
	if c.Broker == nil || c.Groups == nil {
		return c, fmt.Errorf("wsapi: Config.Broker and Config.Groups are required")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxBufferedBytes <= 0 {
		c.MaxBufferedBytes = 8 << 20
	}
	if c.FetchMaxBytes <= 0 {
		c.FetchMaxBytes = 1 << 20
	}
	if c.FetchMinBytes <= 0 {
		c.FetchMinBytes = 16 << 10
	}
	c.FetchMinBytes = int(min(int64(c.FetchMinBytes), c.MaxBufferedBytes/4, int64(c.FetchMaxBytes)))
	c.FetchMinBytes = max(c.FetchMinBytes, 1)
	if c.FetchMaxWait <= 0 {
		c.FetchMaxWait = 500 * time.Millisecond
	}
	if c.MaxFrameRecords <= 0 {
		c.MaxFrameRecords = 500
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 5 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 3 * c.PingInterval
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if rt := c.Groups.RebalanceTimeout(); rt <= 2*c.WriteTimeout {
		return c, fmt.Errorf("wsapi: the group coordinator's RebalanceTimeout %v must be more than twice WriteTimeout %v (a revoked partition's last frame and the revoked frame must be written before it moves)", rt, c.WriteTimeout)
	}
	if c.CloseGrace <= 0 {
		c.CloseGrace = time.Second
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 16 << 20
	}
	if c.ProduceMaxInFlight <= 0 {
		c.ProduceMaxInFlight = 64
	}
	if c.CheckOrigin == nil {
		c.CheckOrigin = func(*http.Request) bool { return true }
	}
	return c, nil
}
