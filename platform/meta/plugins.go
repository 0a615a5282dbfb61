package meta

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
)

func (a *applier) uploadPlugin(up *UploadPlugin) error {
	if !validPluginName(up.Name) {
		return fmt.Errorf("plugin name %q: want [a-zA-Z0-9._-]{1,%d}: %w", up.Name, MaxPluginNameLen, ErrInvalidRequest)
	}
	if up.Kind != PluginKindPartitioner && up.Kind != PluginKindProcessor {
		return fmt.Errorf("plugin %q kind %q: want partitioner or processor: %w", up.Name, up.Kind, ErrInvalidRequest)
	}
	if len(up.Wasm) == 0 {
		return fmt.Errorf("plugin %q: empty module: %w", up.Name, ErrInvalidRequest)
	}
	if err := a.cur().CheckPluginQuota(up.Name, len(up.Wasm)); err != nil {
		return err
	}
	var p *Plugin
	if old, ok := a.cur().Plugins[up.Name]; ok {
		p = old.clone()
	} else {
		p = &Plugin{Name: up.Name}
	}
	a.pinFollowers(up.Name)
	sum := sha256.Sum256(up.Wasm)
	p.LastVersion++
	p.Versions = append(p.Versions, PluginVersion{
		Name:      up.Name,
		Version:   p.LastVersion,
		Kind:      up.Kind,
		SHA256:    hex.EncodeToString(sum[:]),
		Size:      len(up.Wasm),
		Wasm:      slices.Clone(up.Wasm),
		Params:    maps.Clone(up.Params),
		Limits:    up.Limits,
		Exports:   slices.Clone(up.Exports),
		CreatedAt: a.now,
	})
	a.putPlugin(p)
	a.res.Plugin = p.Latest()
	return nil
}

// deletePlugin deletes one version, or all versions (Version 0), unless a
// topic's partitioner uses it: a partitioner naming no version uses the
// latest one. A plugin left without versions disappears; its name may be
// reused and versions start from 1 again (caches must key on SHA256).
func (a *applier) deletePlugin(dp *DeletePlugin) error {
	cur := a.cur()
	if dp.Version < 0 {
		return fmt.Errorf("plugin %s@%d: %w", dp.Name, dp.Version, ErrInvalidRequest)
	}
	old, ok := cur.Plugins[dp.Name]
	if !ok {
		return fmt.Errorf("plugin %q: %w", dp.Name, ErrUnknownPlugin)
	}
	if dp.Version != 0 {
		if _, err := cur.PluginVersion(dp.Name, dp.Version); err != nil {
			return err
		}
	}
	if users := cur.UsersOfPlugin(dp.Name, dp.Version); len(users) > 0 {
		what := dp.Name
		if dp.Version != 0 {
			what = fmt.Sprintf("%s@%d", dp.Name, dp.Version)
		}
		return fmt.Errorf("plugin %s is the partitioner of topic(s) %s: %w", what, strings.Join(users, ", "), ErrPluginInUse)
	}
	if dp.Version == 0 {
		a.res.Plugin = old.Latest()
		a.removePlugin(dp.Name)
		return nil
	}
	p := old.clone()
	i := slices.IndexFunc(p.Versions, func(v PluginVersion) bool { return v.Version == dp.Version })
	a.res.Plugin = &old.Versions[i]
	p.Versions = slices.Delete(p.Versions, i, i+1)
	if len(p.Versions) == 0 {
		a.removePlugin(dp.Name)
		return nil
	}
	a.putPlugin(p)
	return nil
}
