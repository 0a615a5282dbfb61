package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/sluicehq/sluice/sdk/wire"
)

// UploadOptions describe a plugin upload. Zero limits mean the server's
// defaults.
type UploadOptions struct {
	// Kind is wire.KindPartitioner or wire.KindProcessor; required.
	Kind string
	// Params are the default parameters of this version.
	Params         map[string]string
	MemoryPages    uint32
	TimeoutMs      int64
	MaxOutputBytes int64
}

// UploadPlugin uploads a Wasm module as the next version of plugin name.
// Fails with ErrInvalidPlugin (the message says why) or ErrRecordTooLarge.
func (c *Client) UploadPlugin(ctx context.Context, name string, module []byte, opts UploadOptions) (*wire.PluginVersion, error) {
	q := url.Values{wire.ParamKind: {opts.Kind}}
	for k, v := range opts.Params {
		q.Set(wire.ParamPrefix+k, v)
	}
	if opts.MemoryPages > 0 {
		q.Set(wire.ParamMemoryPages, strconv.FormatUint(uint64(opts.MemoryPages), 10))
	}
	if opts.TimeoutMs > 0 {
		q.Set(wire.ParamPluginTimeout, strconv.FormatInt(opts.TimeoutMs, 10))
	}
	if opts.MaxOutputBytes > 0 {
		q.Set(wire.ParamMaxOutputBytes, strconv.FormatInt(opts.MaxOutputBytes, 10))
	}
	if module == nil {
		module = []byte{}
	}
	_, _, body, err := c.do(ctx, request{method: http.MethodPost, path: "/v1/plugins/" + seg(name), query: q, body: module, ctype: wire.MediaTypeWasm})
	if err != nil {
		return nil, fmt.Errorf("upload plugin %s: %w", name, err)
	}
	var v wire.PluginVersion
	if err := jsonUnmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("upload plugin %s: %w", name, err)
	}
	return &v, nil
}

// ListPlugins returns every plugin with its versions, sorted by name.
func (c *Client) ListPlugins(ctx context.Context) ([]wire.Plugin, error) {
	var l wire.PluginList
	if err := c.doJSON(ctx, http.MethodGet, "/v1/plugins", nil, nil, &l); err != nil {
		return nil, fmt.Errorf("list plugins: %w", err)
	}
	return l.Plugins, nil
}

// DescribePlugin returns one plugin. Fails with ErrUnknownPlugin.
func (c *Client) DescribePlugin(ctx context.Context, name string) (*wire.Plugin, error) {
	var p wire.Plugin
	if err := c.doJSON(ctx, http.MethodGet, "/v1/plugins/"+seg(name), nil, nil, &p); err != nil {
		return nil, fmt.Errorf("describe plugin %s: %w", name, err)
	}
	return &p, nil
}

// DeletePlugin deletes all versions of a plugin (version 0) or one version.
// Fails with ErrPluginInUse while a topic uses it.
func (c *Client) DeletePlugin(ctx context.Context, name string, version int32) error {
	path := "/v1/plugins/" + seg(name)
	if version > 0 {
		path += "/versions/" + strconv.FormatInt(int64(version), 10)
	}
	if err := c.doJSON(ctx, http.MethodDelete, path, nil, nil, nil); err != nil {
		return fmt.Errorf("delete plugin %s: %w", wire.PluginRef(name, version), err)
	}
	return nil
}
