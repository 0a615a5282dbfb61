package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/sluicehq/sluice/platform/auth"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/sdk/wire"
)

// PluginValidator checks a module at upload time; *plugins.Host satisfies
// it. The error wraps plugins.ErrInvalidModule and says why.
type PluginValidator interface {
	Validate(ctx context.Context, wasm []byte, kind plugins.Kind) (plugins.Info, error)
}

// Limits of the plugin registry routes.
const (
	// MaxPluginBytes is the largest module an upload accepts (16 MiB); a
	// larger body is refused with record_too_large before it is read.
	MaxPluginBytes = 16 << 20
	// MaxPluginTimeoutMs bounds a plugin's per-call time limit (60 s): a
	// partitioner runs inside every produce to its topic.
	MaxPluginTimeoutMs = 60_000
	// MaxPluginOutputBytes bounds a plugin's per-call output limit (256 MiB).
	MaxPluginOutputBytes = 256 << 20
)

// HandlePlugins registers the plugin registry routes of docs/api.md
// (upload, list, describe, delete) on s. Uploads are validated by v, then
// stored through the controller quorum (Config.Admin), so every node can
// run every version. Call it before the server starts serving.
func (s *Server) HandlePlugins(v PluginValidator) {
	h := &pluginRoutes{s: s, v: v}
	s.HandleFunc(wire.RouteListPlugins, h.list)
	s.HandleFunc(wire.RouteUploadPlugin, h.upload)
	s.HandleFunc(wire.RouteDescribePlugin, h.describe)
	s.HandleFunc(wire.RouteDeletePlugin, h.deleteAll)
	s.HandleFunc(wire.RouteDeletePluginVersion, h.deleteVersion)
}

type pluginRoutes struct {
	s *Server
	v PluginValidator
}

func (h *pluginRoutes) upload(w http.ResponseWriter, r *http.Request) {
	up, err := h.parseUpload(w, r)
	if err != nil {
		h.s.writeError(w, r, err)
		return
	}
	res, err := h.s.propose(r.Context(), meta.Command{Op: meta.OpUploadPlugin, UploadPlugin: up})
	if err != nil {
		h.s.writeError(w, r, &PluginError{Plugin: up.Name, Err: err})
		return
	}
	if res.Plugin == nil {
		h.s.writeError(w, r, fmt.Errorf("upload plugin %s: the controller answered no version", up.Name))
		return
	}
	// Topics following the latest version use the new one on this node's
	// broker once the answer is out.
	if err := h.s.awaitLocal(r.Context(), res.Version); err != nil {
		h.s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, wirePluginVersion(res.Plugin))
}

// parseUpload reads and checks an upload request: name, kind, limits,
// default parameters and the module itself (validated by the host).
func (h *pluginRoutes) parseUpload(w http.ResponseWriter, r *http.Request) (*meta.UploadPlugin, error) {
	name := r.PathValue("name")
	if err := wire.ValidatePluginName(name); err != nil {
		return nil, badRequest("%v", err)
	}
	q := r.URL.Query()
	kindText := q.Get(wire.ParamKind)
	if kindText == "" {
		return nil, badRequest("%s is required: partitioner or processor", wire.ParamKind)
	}
	kind, err := plugins.ParseKind(kindText)
	if err != nil {
		return nil, badRequest("%s: %v", wire.ParamKind, err)
	}
	var limits meta.PluginLimits
	pages, err := limitParam(q.Get(wire.ParamMemoryPages), wire.ParamMemoryPages, int64(plugins.DefaultMaxMemoryPages))
	if err != nil {
		return nil, err
	}
	limits.MemoryPages = uint32(pages)
	if limits.CallTimeoutMs, err = limitParam(q.Get(wire.ParamPluginTimeout), wire.ParamPluginTimeout, MaxPluginTimeoutMs); err != nil {
		return nil, err
	}
	out, err := limitParam(q.Get(wire.ParamMaxOutputBytes), wire.ParamMaxOutputBytes, MaxPluginOutputBytes)
	if err != nil {
		return nil, err
	}
	limits.MaxOutputBytes = int(out)

	if r.ContentLength > MaxPluginBytes {
		return nil, wire.Errorf(wire.CodeRecordTooLarge, "plugin module is %d bytes, the limit is %d (16 MiB)", r.ContentLength, MaxPluginBytes)
	}
	// The version count and an announced size over the registry quota
	// are refused before the body is read.
	if err := h.s.cfg.Metadata().CheckPluginQuota(name, int(max(r.ContentLength, 0))); err != nil {
		return nil, err
	}
	wasm, err := readBody(w, r, MaxPluginBytes, nil)
	if err != nil {
		var tooBig *http.MaxBytesError
		var we *wire.Error
		switch {
		case errors.As(err, &tooBig):
			return nil, wire.Errorf(wire.CodeRecordTooLarge, "plugin module is larger than the limit of %d bytes (16 MiB)", MaxPluginBytes)
		case errors.As(err, &we):
			return nil, err // too slow, or over the node's in-flight limit
		}
		return nil, badRequest("read plugin module: %v", err)
	}
	// Quotas before validation: a refused upload costs neither the
	// compiler's time nor a raft entry. Apply checks them again.
	if err := h.s.cfg.Metadata().CheckPluginQuota(name, len(wasm)); err != nil {
		return nil, err
	}
	info, err := h.v.Validate(r.Context(), wasm, kind)
	if err != nil {
		return nil, &PluginError{Plugin: name, Err: fmt.Errorf("plugin %s: %w", name, err)}
	}
	effective := limits.MemoryPages
	if effective == 0 {
		effective = plugins.DefaultMemoryPages
	}
	if info.MemoryMin > effective {
		return nil, &PluginError{Plugin: name, Err: fmt.Errorf("plugin %s: %w: the module starts with %d memory pages, more than its limit of %d (raise %s)",
			name, plugins.ErrInvalidModule, info.MemoryMin, effective, wire.ParamMemoryPages)}
	}
	return &meta.UploadPlugin{
		Name:    name,
		Kind:    string(kind),
		Wasm:    wasm,
		Params:  pluginParams(q),
		Limits:  limits,
		Exports: info.Exports,
	}, nil
}

// limitParam parses an optional positive limit no larger than max; empty
// is 0 (the host's default).
func limitParam(v, name string, max int64) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > max {
		return 0, badRequest("%s=%q: want an integer from 1 to %d", name, v, max)
	}
	return n, nil
}

func (h *pluginRoutes) list(w http.ResponseWriter, r *http.Request) {
	c := h.s.cfg.Metadata()
	ans := wire.PluginList{Plugins: []wire.Plugin{}}
	for _, name := range c.PluginNames() {
		if !auth.Visible(r.Context(), meta.ResourcePlugin, name) {
			continue
		}
		ans.Plugins = append(ans.Plugins, wirePlugin(c, c.Plugins[name]))
	}
	writeJSON(w, http.StatusOK, ans)
}

func (h *pluginRoutes) describe(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	c := h.s.cfg.Metadata()
	p, ok := c.Plugins[name]
	if !ok || len(p.Versions) == 0 {
		h.s.writeError(w, r, unknownPlugin(name))
		return
	}
	writeJSON(w, http.StatusOK, wirePlugin(c, p))
}

func (h *pluginRoutes) deleteAll(w http.ResponseWriter, r *http.Request) {
	h.delete(w, r, r.PathValue("name"), 0)
}

func (h *pluginRoutes) deleteVersion(w http.ResponseWriter, r *http.Request) {
	v := r.PathValue("version")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		h.s.writeError(w, r, badRequest("plugin version %q: want a positive integer", v))
		return
	}
	h.delete(w, r, r.PathValue("name"), n)
}

func (h *pluginRoutes) delete(w http.ResponseWriter, r *http.Request, name string, version int) {
	ref := wire.PluginRef(name, int32(version))
	if _, err := h.s.cfg.Metadata().PluginVersion(name, version); err != nil {
		// Known locally first: a fresh error names the plugin even when
		// the controller is behind a forwarder.
		h.s.writeError(w, r, &PluginError{Plugin: ref, Err: err})
		return
	}
	res, err := h.s.propose(r.Context(), meta.Command{Op: meta.OpDeletePlugin, DeletePlugin: &meta.DeletePlugin{Name: name, Version: version}})
	if err != nil {
		h.s.writeError(w, r, &PluginError{Plugin: ref, Err: err})
		return
	}
	if err := h.s.awaitLocal(r.Context(), res.Version); err != nil {
		h.s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func unknownPlugin(name string) error {
	return &PluginError{Plugin: name, Err: fmt.Errorf("plugin %q does not exist: %w", name, meta.ErrUnknownPlugin)}
}

// wirePlugin describes p with the topics whose partitioner uses it.
func wirePlugin(c *meta.Cluster, p *meta.Plugin) wire.Plugin {
	out := wire.Plugin{Name: p.Name, Versions: make([]wire.PluginVersion, len(p.Versions))}
	for i := range p.Versions {
		out.Versions[i] = wirePluginVersion(&p.Versions[i])
	}
	if l := p.Latest(); l != nil {
		out.Kind, out.Latest = l.Kind, int32(l.Version)
	}
	for _, t := range c.UsersOfPlugin(p.Name, 0) {
		out.UsedBy = append(out.UsedBy, "topic:"+t)
	}
	slices.Sort(out.UsedBy)
	return out
}

// wirePluginVersion describes one version with its effective limits (the
// host's defaults where the upload left them zero).
func wirePluginVersion(v *meta.PluginVersion) wire.PluginVersion {
	lim := wire.PluginLimits{
		MemoryPages:    v.Limits.MemoryPages,
		TimeoutMs:      v.Limits.CallTimeoutMs,
		MaxOutputBytes: int64(v.Limits.MaxOutputBytes),
	}
	if lim.MemoryPages == 0 {
		lim.MemoryPages = plugins.DefaultMemoryPages
	}
	if lim.TimeoutMs == 0 {
		lim.TimeoutMs = plugins.DefaultCallTimeout.Milliseconds()
	}
	if lim.MaxOutputBytes == 0 {
		lim.MaxOutputBytes = plugins.DefaultMaxOutputBytes
	}
	return wire.PluginVersion{
		Name:       v.Name,
		Version:    int32(v.Version),
		Kind:       v.Kind,
		Size:       int64(v.Size),
		SHA256:     v.SHA256,
		ABIVersion: plugins.ABIVersion,
		Exports:    v.Exports,
		Params:     v.Params,
		Limits:     lim,
		CreatedAt:  v.CreatedAt.UnixMilli(),
	}
}
