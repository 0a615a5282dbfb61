package meta

import (
	"maps"
	"slices"
	"time"
)

// Plugin kinds.
const (
	PluginKindPartitioner = "partitioner"
	PluginKindProcessor   = "processor"
)

// PluginLimits bound one instance of a plugin. Zero fields mean "the host's
// default".
type PluginLimits struct {
	MemoryPages    uint32 `json:"memory_pages,omitempty"`
	CallTimeoutMs  int64  `json:"call_timeout_ms,omitempty"`
	MaxOutputBytes int    `json:"max_output_bytes,omitempty"`
}

// PluginVersion is one immutable upload of a plugin.
type PluginVersion struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Kind    string `json:"kind"`
	// SHA256 (hex) of Wasm, computed by Apply; a cache key that cannot go stale.
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
	Wasm   []byte `json:"wasm"`
	// Params are default parameters (a topic's PartitionerSpec.Params
	// override them key by key).
	Params    map[string]string `json:"params,omitempty"`
	Limits    PluginLimits      `json:"limits"`
	Exports   []string          `json:"exports,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
}

// Plugin is a named plugin with its versions, oldest first.
type Plugin struct {
	Name     string          `json:"name"`
	Versions []PluginVersion `json:"versions"`
	// LastVersion is the highest version ever uploaded under this name, so a
	// deleted version number is never given to new content.
	LastVersion int `json:"last_version"`
}

// Latest returns the newest version, or nil when there is none.
func (p *Plugin) Latest() *PluginVersion {
	if len(p.Versions) == 0 {
		return nil
	}
	return &p.Versions[len(p.Versions)-1]
}

func (p *Plugin) clone() *Plugin {
	n := *p
	n.Versions = slices.Clone(p.Versions)
	for i := range n.Versions {
		n.Versions[i].Params = maps.Clone(n.Versions[i].Params)
		n.Versions[i].Exports = slices.Clone(n.Versions[i].Exports)
	}
	return &n
}
