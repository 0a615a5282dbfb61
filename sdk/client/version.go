package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sluicehq/sluice/sdk/wire"
)

// Version asks the node which build of Sluice it runs.
func (c *Client) Version(ctx context.Context) (*wire.BuildVersion, error) {
	var v wire.BuildVersion
	if err := c.doJSON(ctx, http.MethodGet, "/v1/version", nil, nil, &v); err != nil {
		return nil, fmt.Errorf("server version: %w", err)
	}
	return &v, nil
}
