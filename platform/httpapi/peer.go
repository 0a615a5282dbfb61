package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// Peer calls other nodes' internal routes on their cluster listeners
// (meta.Broker.ClusterAddr): it forwards produce batches to partition
// leaders (it is a broker.Forwarder), long-polls a controller's metadata
// and proposes to it. A failure the other node reports comes back as its
// *wire.Error, which this package's error mapping passes on unchanged.
type Peer struct {
	// HTTP is the client used; nil means http.DefaultClient. On a secure
	// cluster its transport presents this node's certificate and trusts
	// the cluster CA (clusternet.TLS.ClientConfig).
	HTTP *http.Client
	// NodeID is this node; it is sent in clusternet.NodeHeader, which
	// only a cluster plane without TLS reads (with TLS the certificate
	// names the node).
	NodeID int32

	streams produceStreams // forwarded produce, one stream per leader
}

// clusterAddr is b's cluster-plane base URL.
func clusterAddr(b *meta.Broker) (string, error) {
	if b.ClusterAddr == "" {
		return "", fmt.Errorf("node %d has no cluster address (it serves no node-to-node routes)", b.ID)
	}
	return b.ClusterAddr, nil
}

func (p *Peer) client() *http.Client {
	if p.HTTP != nil {
		return p.HTTP
	}
	return http.DefaultClient
}

// ForwardTimeout bounds a forwarded produce whose context has no deadline.
const ForwardTimeout = time.Duration(wire.DefaultProduceTimeoutMs) * time.Millisecond

// Forward appends recs to partition of topic on its leader; it
// implements broker.Forwarder.
func (p *Peer) Forward(ctx context.Context, leader *meta.Broker, topic string, partition int32, recs []record.Record, acks broker.Acks) (int64, error) {
	return p.forward(ctx, leader, topic, partition, recs, acks, nil, 0)
}

// WatchMetadata long-polls the controller at base for metadata newer than
// after; it returns nil (and no error) when none came within wait.
func (p *Peer) WatchMetadata(ctx context.Context, base string, after uint64, wait time.Duration) (*meta.Cluster, error) {
	u := fmt.Sprintf("%s/internal/v1/metadata?after=%d&%s=%d", base, after, wire.ParamMaxWaitMs, wait.Milliseconds())
	c := new(meta.Cluster)
	status, err := p.do(ctx, http.MethodGet, u, "", nil, c)
	if err != nil || status == http.StatusNoContent {
		return nil, err
	}
	return c, nil
}

// Propose commits cmd through the controller at base.
func (p *Peer) Propose(ctx context.Context, base string, cmd meta.Command) (meta.Result, error) {
	body, err := json.Marshal(cmd)
	if err != nil {
		return meta.Result{}, fmt.Errorf("encode %s: %w", cmd.Op, err)
	}
	var res meta.Result
	_, err = p.do(ctx, http.MethodPost, base+"/internal/v1/propose", wire.MediaTypeJSON, body, &res)
	return res, err
}

// do sends a request and decodes a JSON answer into out, or the error
// answer into a *wire.Error.
func (p *Peer) do(ctx context.Context, method, u, contentType string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set(clusternet.NodeHeader, strconv.Itoa(int(p.NodeID)))
	resp, err := p.client().Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: read answer: %w", method, u, err)
	}
	if resp.StatusCode == http.StatusNoContent {
		return resp.StatusCode, nil
	}
	if resp.StatusCode >= 300 {
		var er wire.ErrorResponse
		if json.Unmarshal(raw, &er) == nil && er.Error != nil {
			return resp.StatusCode, er.Error
		}
		return resp.StatusCode, fmt.Errorf("%s %s: status %d: %.200s", method, u, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, u, err)
	}
	return resp.StatusCode, nil
}

// PartitionState asks the node at base (its cluster address) for the log state of the topic's
// partitions it leads.
func (p *Peer) PartitionState(ctx context.Context, base, topic string) ([]broker.PartitionInfo, error) {
	var out []broker.PartitionInfo
	_, err := p.do(ctx, http.MethodGet, base+"/internal/v1/topics/"+url.PathEscape(topic)+"/partitions", "", nil, &out)
	return out, err
}
