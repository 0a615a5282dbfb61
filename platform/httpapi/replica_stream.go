package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/replwire"
	"github.com/sluicehq/sluice/sdk/wire"
)

// RouteReplicaStream opens a follower's replication stream
// (docs/replication.md): a GET with "Connection: Upgrade" and "Upgrade:
// sluice-replication/1" on the cluster listener, answered 101, after
// which the connection carries replwire frames both ways until either
// end closes it. The caller is the verified node of the cluster listener;
// every fetch and positions frame must name it as the replica, else the
// stream ends with a TypeError frame.
const RouteReplicaStream = "GET /internal/v1/replica-stream"

// replicaStreamIdle is how long a leader waits for the follower's next
// frame, or for an answer to be written, before it closes the stream (a
// follower sends a frame at least every long-poll; an idle follower with
// nothing to fetch opens a new stream when it has again). It bounds what
// a vanished peer holds.
const replicaStreamIdle = 30 * time.Second

// replicaStreamQueue is how many fetches a stream holds unanswered (a
// follower pipelines one ahead; more only queue).
const replicaStreamQueue = 4

func (s *Server) replicaStream(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Broker == nil {
		s.writeError(w, r, badRequest("this node has no broker role"))
		return
	}
	from, err := caller(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	conn, rd, ok := s.upgradeStream(w, r, "replica stream", replwire.Protocol)
	if !ok {
		return
	}
	defer conn.Close()
	(&leaderStream{b: s.cfg.Broker, from: from, conn: conn, rd: rd, log: s.log.With("replica", from)}).run(r.Context())
}

// leaderStream is the leader's end of one replication stream. Its reader
// goroutine decodes frames in order: positions (and the acknowledged
// offsets of fetches) are recorded as they arrive, fetches queue for the
// serving loop, which answers them in order, each long-polled as on the
// request route.
type leaderStream struct {
	b    *broker.Broker
	from int32
	conn net.Conn
	rd   *bufio.Reader
	log  *slog.Logger
	wmu  sync.Mutex // serialises writes to conn
}

func (l *leaderStream) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { l.conn.Close() })
	defer stop()
	reqs := make(chan *broker.ReplicaFetchRequest, replicaStreamQueue)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(reqs)
		err := l.read(ctx, reqs)
		if errors.Is(err, clusternet.ErrForbidden) || errors.Is(err, replwire.ErrFrame) {
			l.fail(err)
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && ctx.Err() == nil {
			l.log.Debug("replication stream ended", "err", err)
		}
		cancel()
	}()
	var out, arena []byte
	for req := range reqs {
		resp, a, err := l.b.ReplicaFetchInto(ctx, req, arena[:0])
		arena = a
		if err != nil {
			if ctx.Err() == nil {
				l.fail(err)
			}
			break
		}
		out = replwire.AppendResponse(out[:0], resp)
		l.wmu.Lock()
		_ = l.conn.SetWriteDeadline(time.Now().Add(replicaStreamIdle))
		_, err = l.conn.Write(out)
		l.wmu.Unlock()
		if err != nil {
			break
		}
		if cap(out) > 4<<20 || cap(arena) > 4<<20 {
			out, arena = nil, nil // do not keep one huge answer's buffers for the stream's life
		}
	}
	cancel()
	wg.Wait()
}

// fail sends the follower a TypeError frame saying why the stream ends.
func (l *leaderStream) fail(err error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	_ = l.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = l.conn.Write(replwire.AppendError(nil, err.Error()))
}

// read decodes the follower's frames until the stream ends.
func (l *leaderStream) read(ctx context.Context, reqs chan<- *broker.ReplicaFetchRequest) error {
	var buf []byte
	var pos []broker.ReplicaPosition
	for {
		_ = l.conn.SetReadDeadline(time.Now().Add(replicaStreamIdle))
		typ, body, nb, err := replwire.ReadFrame(l.rd, buf)
		buf = nb
		if err != nil {
			return err
		}
		switch typ {
		case replwire.TypeFetch:
			req := new(broker.ReplicaFetchRequest)
			if err := replwire.DecodeFetch(body, req); err != nil {
				return err
			}
			if req.ReplicaID != l.from {
				return fmt.Errorf("%w: node %d sent a replica fetch as node %d", clusternet.ErrForbidden, l.from, req.ReplicaID)
			}
			// The acknowledged offsets count now, in stream order with
			// the positions frames; the serving loop only reads.
			pos = pos[:0]
			for i := range req.Partitions {
				rp := &req.Partitions[i]
				if rp.AckedOffset >= 0 {
					pos = append(pos, broker.ReplicaPosition{Topic: rp.Topic, Partition: rp.Partition, LeaderEpoch: rp.LeaderEpoch, Offset: rp.AckedOffset})
					rp.AckedOffset = -1
				}
			}
			if err := l.b.ReplicaPositions(l.from, pos); errors.Is(err, broker.ErrClosed) {
				return err
			}
			select {
			case reqs <- req:
			case <-ctx.Done():
				return ctx.Err()
			}
		case replwire.TypePositions:
			replica, pos, err := replwire.DecodePositions(body)
			if err != nil {
				return err
			}
			if replica != l.from {
				return fmt.Errorf("%w: node %d sent replica positions as node %d", clusternet.ErrForbidden, l.from, replica)
			}
			if err := l.b.ReplicaPositions(l.from, pos); errors.Is(err, broker.ErrClosed) {
				return err
			}
		default:
			return fmt.Errorf("%w: frame type %d from a follower", replwire.ErrFrame, typ)
		}
	}
}

// OpenReplicaStream opens a replication stream to leader's cluster
// listener; it implements broker.ReplicaStreamer. The stream is an
// HTTP/1.1 upgrade over the peer client's transport (its mTLS identity);
// the client must have no Timeout (which would make the upgraded
// connection read-only). It lives until closed or until ctx ends.
func (p *Peer) OpenReplicaStream(ctx context.Context, leader *meta.Broker) (broker.ReplicaStream, error) {
	base, err := clusterAddr(leader)
	if err != nil {
		return nil, err
	}
	u := base + "/internal/v1/replica-stream"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", replwire.Protocol)
	req.Header.Set(clusternet.NodeHeader, strconv.Itoa(int(p.NodeID)))
	resp, err := p.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("open replication stream to %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var er wire.ErrorResponse
		unsupported := resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed
		if json.Unmarshal(raw, &er) == nil && er.Error != nil {
			if unsupported {
				return nil, fmt.Errorf("open replication stream to %s: %w: %w", u, broker.ErrStreamUnsupported, er.Error)
			}
			return nil, fmt.Errorf("open replication stream to %s: %w", u, er.Error)
		}
		if unsupported {
			return nil, fmt.Errorf("open replication stream to %s: %w: status %d", u, broker.ErrStreamUnsupported, resp.StatusCode)
		}
		return nil, fmt.Errorf("open replication stream to %s: status %d: %.200s", u, resp.StatusCode, raw)
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		return nil, fmt.Errorf("open replication stream to %s: the upgraded connection is not writable (an http.Client with a Timeout cannot carry streams)", u)
	}
	st := &followerStream{rwc: rwc, rd: bufio.NewReaderSize(rwc, 64<<10), replica: p.NodeID}
	st.watchdog = time.AfterFunc(time.Hour, func() { st.Close() })
	st.watchdog.Stop()
	return st, nil
}

// followerStream is the follower's end of a replication stream.
type followerStream struct {
	rwc      io.ReadWriteCloser
	rd       *bufio.Reader
	replica  int32
	out, in  []byte
	resp     broker.ReplicaFetchResponse
	watchdog *time.Timer // closes the stream when an answer is overdue

	closeOnce sync.Once
	closeErr  error
}

func (s *followerStream) Fetch(req *broker.ReplicaFetchRequest) error {
	s.out = replwire.AppendFetch(s.out[:0], req)
	if err := s.write(); err != nil {
		return fmt.Errorf("send replica fetch: %w", err)
	}
	return nil
}

func (s *followerStream) Positions(pos []broker.ReplicaPosition) error {
	s.out = replwire.AppendPositions(s.out[:0], s.replica, pos)
	if err := s.write(); err != nil {
		return fmt.Errorf("send replica positions: %w", err)
	}
	return nil
}

// write sends s.out; a leader that takes no bytes for replicaStreamIdle
// has the stream closed under it.
func (s *followerStream) write() error {
	s.watchdog.Reset(replicaStreamIdle)
	_, err := s.rwc.Write(s.out)
	s.watchdog.Stop()
	return err
}

func (s *followerStream) Recv(wait time.Duration) (*broker.ReplicaFetchResponse, error) {
	s.watchdog.Reset(wait)
	typ, body, buf, err := replwire.ReadFrame(s.rd, s.in)
	s.watchdog.Stop()
	s.in = buf
	if err != nil {
		return nil, fmt.Errorf("receive replica fetch answer: %w", err)
	}
	switch typ {
	case replwire.TypeResponse:
		s.resp = broker.ReplicaFetchResponse{}
		if err := replwire.DecodeResponse(body, &s.resp); err != nil {
			return nil, err
		}
		return &s.resp, nil
	case replwire.TypeError:
		return nil, fmt.Errorf("the leader ended the replication stream: %.500s", body)
	}
	return nil, fmt.Errorf("%w: frame type %d from a leader", replwire.ErrFrame, typ)
}

func (s *followerStream) Close() error {
	s.closeOnce.Do(func() {
		s.watchdog.Stop()
		s.closeErr = s.rwc.Close()
	})
	return s.closeErr
}
