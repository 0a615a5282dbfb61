package platform

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/platform/httpapi"
	"github.com/sluicehq/sluice/platform/meta"
)

// checkPartitioners wraps the node's Admin so that a topic create or alter
// naming a Wasm partitioner is refused (invalid_request, naming the
// plugin) when the plugin cannot start with the topic's parameters, before
// the change reaches the controller: a missing required parameter shows at
// `topic create`, not at the first produce. The started partitioner stays
// warm for that first produce.
func (rt *pluginRuntime) checkPartitioners(admin httpapi.Admin) httpapi.Admin {
	if admin == nil {
		return nil
	}
	return checkedAdmin{Admin: admin, rt: rt}
}

type checkedAdmin struct {
	httpapi.Admin
	rt *pluginRuntime
}

func (a checkedAdmin) Propose(ctx context.Context, cmd meta.Command) (meta.Result, error) {
	var spec *meta.PartitionerSpec
	switch {
	case cmd.CreateTopic != nil:
		spec = &cmd.CreateTopic.Partitioner
	case cmd.AlterTopic != nil:
		spec = cmd.AlterTopic.Partitioner
	}
	if spec != nil && spec.Name == meta.PartitionerWasm {
		if err := a.rt.tryPartitioner(ctx, *spec); err != nil {
			return meta.Result{}, err
		}
	}
	return a.Admin.Propose(ctx, cmd)
}

// tryPartitioner starts the partitioner spec names (in the metadata this
// node holds) with its parameters. A plugin this node does not know, or of
// the wrong kind, is left to the controller, which refuses it with the
// authoritative metadata.
func (rt *pluginRuntime) tryPartitioner(ctx context.Context, spec meta.PartitionerSpec) error {
	ref, pv, err := resolvePartitioner(spec, rt.metadata())
	if err != nil {
		return nil
	}
	wp := &wasmPartitioner{rt: rt, ref: ref, module: moduleOf(pv), params: mergeParams(pv.Params, spec.Params)}
	e, err := rt.parts.acquire(ctx, ref, wp.build)
	if err != nil {
		return &httpapi.PluginError{Plugin: ref.id(), Err: fmt.Errorf("%w: partitioner %s cannot start with the topic's parameters: %v",
			meta.ErrInvalidRequest, ref.id(), err)}
	}
	rt.parts.release(ctx, e)
	return nil
}
