package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/sluicehq/sluice/sdk/wire"
)

// PluginLogs returns the plugin's log lines with seq > after (at most
// limit; 0: the server's maximum) kept by the node this client talks to.
// Pass the answer's Next as after to follow.
func (c *Client) PluginLogs(ctx context.Context, name string, after uint64, limit int) (*wire.PluginLogs, error) {
	q := url.Values{}
	if after > 0 {
		q.Set(wire.ParamLogsAfter, strconv.FormatUint(after, 10))
	}
	if limit > 0 {
		q.Set(wire.ParamLogsLimit, strconv.Itoa(limit))
	}
	var out wire.PluginLogs
	if err := c.doJSON(ctx, http.MethodGet, "/v1/plugins/"+seg(name)+"/logs", q, nil, &out); err != nil {
		return nil, fmt.Errorf("plugin logs %s: %w", name, err)
	}
	return &out, nil
}
