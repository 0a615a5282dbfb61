package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/httpapi"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// Timings of the plugin runtime.
const (
	// processorIdle is how long a processor started for HTTP fetches stays
	// warm after its last fetch.
	processorIdle = time.Minute
	// pluginSweepEvery is how often idle processors are looked for when no
	// metadata change comes.
	pluginSweepEvery = 10 * time.Second
	// processorBatch is the most records one call into a fetch processor
	// gets: a 1 MiB fetch of small records is split into several calls, so
	// that the plugin's per-call time limit bounds a call's work, not the
	// fetch size a consumer happens to ask for.
	processorBatch = 256
	// partitionerBatch is the most records one call into a partitioner
	// gets, for the same reason: a 10,000-record produce is several calls.
	partitionerBatch = 1024
	// pluginCacheDir is the compilation cache's folder under Config.DataDir.
	pluginCacheDir = "plugin-cache"
)

// pluginRuntime runs the node's Wasm plugins on one plugins.Host (with
// its compilation cache under DataDir/plugin-cache, so a restart does not
// recompile). It is the broker's PluginResolver (topic partitioners) and
// the HTTP API's ProcessorRunner (fetch processors), and it drops started
// plugins the node no longer needs: partitioners once no topic names them
// (after the local broker applied that metadata), processors after
// processorIdle without a fetch or once their version is deleted.
type pluginRuntime struct {
	host     *plugins.Host
	log      *slog.Logger
	metadata func() *meta.Cluster

	metrics *pluginMetrics

	parts *pluginCache[*plugins.WasmPartitioner]
	procs *pluginCache[*plugins.Processor]

	idle       time.Duration // processorIdle; tests shorten it
	sweepEvery time.Duration // pluginSweepEvery; tests shorten it

	cancel context.CancelFunc // stops the janitor
	done   chan struct{}      // closed when the janitor returned; nil before start
}

var (
	_ broker.PluginResolver   = (*pluginRuntime)(nil)
	_ httpapi.ProcessorRunner = (*pluginRuntime)(nil)
)

// newPluginRuntime starts the plugin host for a node configured by cfg.
// metadata returns the newest metadata the node holds (where fetch
// processors are looked up).
func newPluginRuntime(ctx context.Context, cfg Config, metadata func() *meta.Cluster) (*pluginRuntime, error) {
	log := cfg.Logger.With("component", "plugins")
	metrics := newPluginMetrics()
	host, err := plugins.NewHost(ctx, plugins.Config{
		CacheDir:    filepath.Join(cfg.DataDir, pluginCacheDir),
		Logger:      log,
		Interpreter: cfg.PluginInterpreter,
		OnCall:      metrics.observe,
	})
	if err != nil {
		return nil, fmt.Errorf("start plugin host: %w", err)
	}
	return &pluginRuntime{
		host:       host,
		log:        log,
		metadata:   metadata,
		metrics:    metrics,
		parts:      newPluginCache[*plugins.WasmPartitioner](),
		procs:      newPluginCache[*plugins.Processor](),
		idle:       processorIdle,
		sweepEvery: pluginSweepEvery,
	}, nil
}

// start runs the janitor that drops unneeded plugins as metadata changes
// (b may be nil on a node without the broker role). Close stops it.
func (rt *pluginRuntime) start(source broker.MetadataSource, b *broker.Broker) {
	ctx, cancel := context.WithCancel(context.Background())
	rt.cancel, rt.done = cancel, make(chan struct{})
	go rt.janitor(ctx, source, b)
}

// register adds the plugin registry routes to the node's HTTP API and the
// runtime's gauges to its metrics registry.
func (rt *pluginRuntime) register(api *httpapi.Server) error {
	api.HandlePlugins(rt.host)
	api.HandlePluginLogs(rt.host)
	if err := rt.metrics.register(api.Registry()); err != nil {
		return err
	}
	for _, g := range []struct {
		kind string
		n    func() int
	}{{"partitioner", rt.parts.len}, {"processor", rt.procs.len}} {
		err := api.Registry().Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "sluice_plugins_started",
			Help:        "Plugin versions this node keeps started (warm instances), by kind: partitioners of topics, processors of recent fetches.",
			ConstLabels: prometheus.Labels{"kind": g.kind},
		}, func() float64 { return float64(g.n()) }))
		if err != nil {
			return fmt.Errorf("register plugin metrics: %w", err)
		}
	}
	return nil
}

// Close stops the janitor, closes every started plugin and the host.
func (rt *pluginRuntime) Close() error {
	if rt.cancel != nil {
		rt.cancel()
		<-rt.done
	}
	ctx := context.Background()
	rt.parts.close(ctx)
	rt.procs.close(ctx)
	if err := rt.host.Close(ctx); err != nil {
		return fmt.Errorf("close plugin host: %w", err)
	}
	return nil
}

func (rt *pluginRuntime) janitor(ctx context.Context, source broker.MetadataSource, b *broker.Broker) {
	defer close(rt.done)
	var after uint64
	for {
		wctx, cancel := context.WithTimeout(ctx, rt.sweepEvery)
		c, err := source.Watch(wctx, after)
		cancel()
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil:
			after = c.Version
			// The broker keeps using a topic's old partitioner until it
			// applied the change; sweeping after that avoids rebuilding it.
			if b != nil {
				if err := b.WaitForVersion(ctx, c.Version); err != nil {
					if ctx.Err() != nil {
						return
					}
					rt.log.Debug("plugin janitor: broker did not apply metadata", "version", c.Version, "err", err)
				}
			}
			if n := rt.sweepPartitioners(ctx, c); n > 0 {
				rt.log.Info("released partitioner plugins no topic uses", "count", n, "metadata_version", c.Version)
			}
		case !errors.Is(err, context.DeadlineExceeded):
			// The source failed (closing, or unreachable): wait, then retry.
			t := time.NewTimer(rt.sweepEvery)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		rt.sweepProcessors(ctx, source.Metadata(), time.Now())
	}
}

// sweepPartitioners drops the partitioners no topic of c uses.
func (rt *pluginRuntime) sweepPartitioners(ctx context.Context, c *meta.Cluster) int {
	inUse := map[string]bool{}
	for _, t := range c.Topics {
		if t.Partitioner.Name != meta.PartitionerWasm {
			continue
		}
		if ref, _, err := resolvePartitioner(t.Partitioner, c); err == nil {
			inUse[ref.key] = true
		}
	}
	return rt.parts.sweep(ctx, func(e *cacheEntry[*plugins.WasmPartitioner]) bool { return !inUse[e.ref.key] })
}

// sweepProcessors drops fetch processors idle since before now-idle or
// whose version c no longer has.
func (rt *pluginRuntime) sweepProcessors(ctx context.Context, c *meta.Cluster, now time.Time) int {
	return rt.procs.sweep(ctx, func(e *cacheEntry[*plugins.Processor]) bool {
		if e.users == 0 && now.Sub(e.lastUsed) > rt.idle {
			return true
		}
		pv, err := c.PluginVersion(e.ref.name, e.ref.version)
		return err != nil || pv.SHA256 != e.ref.sha256
	})
}

// moduleRef identifies one started plugin: a plugin version (by name,
// version and content hash, since a deleted name may be reused), its
// limits and its parameters.
type moduleRef struct {
	name    string
	version int
	sha256  string
	key     string // everything above, with kind, limits and parameters
}

// id is "name@version", as errors name the plugin.
func (r moduleRef) id() string { return fmt.Sprintf("%s@%d", r.name, r.version) }

// newModuleRef returns pv's reference with params (merged already).
func newModuleRef(kind plugins.Kind, pv *meta.PluginVersion, params map[string]string) moduleRef {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s@%d|%s|%d/%d/%d", kind, pv.Name, pv.Version, pv.SHA256,
		pv.Limits.MemoryPages, pv.Limits.CallTimeoutMs, pv.Limits.MaxOutputBytes)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		b.WriteString("|" + url.QueryEscape(k) + "=" + url.QueryEscape(params[k]))
	}
	return moduleRef{name: pv.Name, version: pv.Version, sha256: pv.SHA256, key: b.String()}
}

// mergeParams returns the version's default parameters overridden key by
// key by the user's (a topic's partitioner params, a fetch's param.K).
func mergeParams(defaults, given map[string]string) map[string]string {
	out := make(map[string]string, len(defaults)+len(given))
	maps.Copy(out, defaults)
	maps.Copy(out, given)
	return out
}

// moduleOf is the host's view of a plugin version.
func moduleOf(pv *meta.PluginVersion) plugins.Module {
	return plugins.Module{
		Name:    pv.Name,
		Version: pv.Version,
		Wasm:    pv.Wasm,
		Limits: plugins.Limits{
			MemoryPages:    pv.Limits.MemoryPages,
			CallTimeout:    time.Duration(pv.Limits.CallTimeoutMs) * time.Millisecond,
			MaxOutputBytes: pv.Limits.MaxOutputBytes,
		},
	}
}

// resolvePartitioner finds the plugin version a topic's wasm spec means in
// c (its own version, or the latest) and the merged parameters.
func resolvePartitioner(spec meta.PartitionerSpec, c *meta.Cluster) (moduleRef, *meta.PluginVersion, error) {
	pv, err := c.PluginVersion(spec.Plugin, spec.Version)
	if err != nil {
		return moduleRef{}, nil, err
	}
	if pv.Kind != meta.PluginKindPartitioner {
		return moduleRef{}, nil, fmt.Errorf("plugin %s@%d is a %s, not a partitioner: %w", pv.Name, pv.Version, pv.Kind, meta.ErrInvalidRequest)
	}
	return newModuleRef(plugins.KindPartitioner, pv, mergeParams(pv.Params, spec.Params)), pv, nil
}

// Partitioner implements broker.PluginResolver: the topic's plugin version
// resolved in c, started at once (so a module that refuses its parameters
// fails here, naming itself) and shared by every topic with the same
// version, limits and parameters.
func (rt *pluginRuntime) Partitioner(ctx context.Context, spec meta.PartitionerSpec, c *meta.Cluster) (partitioner.Partitioner, error) {
	ref, pv, err := resolvePartitioner(spec, c)
	if err != nil {
		return nil, &httpapi.PluginError{Plugin: wire.PluginRef(spec.Plugin, int32(spec.Version)), Err: err}
	}
	wp := &wasmPartitioner{
		rt:     rt,
		ref:    ref,
		module: moduleOf(pv),
		params: mergeParams(pv.Params, spec.Params),
	}
	e, err := rt.parts.acquire(ctx, ref, wp.build)
	if err != nil {
		return nil, &httpapi.PluginError{Plugin: ref.id(), Err: err}
	}
	rt.parts.release(ctx, e)
	return wp, nil
}

// wasmPartitioner is the broker's handle on a topic's partitioner. Each
// batch takes the shared started plugin from the cache; should the janitor
// have dropped it (the topic changed a moment ago and the broker still
// runs the old spec), it is started again.
type wasmPartitioner struct {
	rt     *pluginRuntime
	ref    moduleRef
	module plugins.Module
	params map[string]string
}

func (w *wasmPartitioner) build(ctx context.Context) (*plugins.WasmPartitioner, error) {
	return w.rt.host.Partitioner(ctx, w.module, w.params)
}

// Partition implements partitioner.Partitioner.
func (w *wasmPartitioner) Partition(ctx context.Context, recs []record.Record, partitions int, out []int32) error {
	if len(out) != len(recs) {
		return fmt.Errorf("plugin %s: %d records, %d result slots: %w", w.ref.id(), len(recs), len(out), partitioner.ErrBadArgs)
	}
	e, err := w.rt.parts.acquire(ctx, w.ref, w.build)
	if err != nil {
		return &httpapi.PluginError{Plugin: w.ref.id(), Err: err}
	}
	defer w.rt.parts.release(ctx, e)
	for start := 0; start < len(recs); start += partitionerBatch {
		end := min(start+partitionerBatch, len(recs))
		if err := e.val.Partition(ctx, recs[start:end], partitions, out[start:end]); err != nil {
			return &httpapi.PluginError{Plugin: w.ref.id(), Err: err}
		}
	}
	return nil
}

// Process implements httpapi.ProcessorRunner: runs processor ref
// ("NAME" or "NAME@N") with params over recs. Every output record's Offset
// is its source record's offset.
func (rt *pluginRuntime) Process(ctx context.Context, ref string, params map[string]string, partition int32, recs []record.Record) ([]record.Record, error) {
	name, version, err := wire.ParsePluginRef(ref)
	if err != nil {
		return nil, &httpapi.PluginError{Plugin: ref, Err: fmt.Errorf("processor %q: %v: %w", ref, err, meta.ErrInvalidRequest)}
	}
	pv, err := rt.metadata().PluginVersion(name, int(version))
	if err != nil {
		return nil, &httpapi.PluginError{Plugin: ref, Err: err}
	}
	mref := newModuleRef(plugins.KindProcessor, pv, mergeParams(pv.Params, params))
	if pv.Kind != meta.PluginKindProcessor {
		return nil, &httpapi.PluginError{Plugin: mref.id(), Err: fmt.Errorf("plugin %s is a %s, not a processor: %w", mref.id(), pv.Kind, meta.ErrInvalidRequest)}
	}
	module, merged := moduleOf(pv), mergeParams(pv.Params, params)
	e, err := rt.procs.acquire(ctx, mref, func(ctx context.Context) (*plugins.Processor, error) {
		return rt.host.Processor(ctx, module, merged)
	})
	if err != nil {
		return nil, &httpapi.PluginError{Plugin: mref.id(), Err: err}
	}
	defer rt.procs.release(ctx, e)
	res := make([]record.Record, 0, len(recs))
	for start := 0; start < len(recs); start += processorBatch {
		outs, err := e.val.Process(ctx, partition, recs[start:min(start+processorBatch, len(recs))])
		if err != nil {
			return nil, &httpapi.PluginError{Plugin: mref.id(), Err: err}
		}
		for i := range outs {
			r := outs[i].Record
			r.Offset = outs[i].SourceOffset
			res = append(res, r)
		}
	}
	return res, nil
}
