package wire

// Plugin kinds.
const (
	KindPartitioner = "partitioner"
	KindProcessor   = "processor"
)

// Plugin upload query parameters (POST /v1/plugins/{name}); param.k=v sets a
// default parameter.
const (
	ParamKind           = "kind"             // "partitioner" | "processor"; required
	ParamMemoryPages    = "memory_pages"     // 64 KiB pages; default 1024 (64 MiB)
	ParamPluginTimeout  = "timeout_ms"       // per call; default 100
	ParamMaxOutputBytes = "max_output_bytes" // per call; default 16 MiB
)

// PluginLimits bound one instance of a plugin version. Zero means the
// server's default.
type PluginLimits struct {
	MemoryPages    uint32 `json:"memory_pages"`
	TimeoutMs      int64  `json:"timeout_ms"`
	MaxOutputBytes int64  `json:"max_output_bytes"`
}

// PluginVersion is one immutable upload, the answer of POST
// /v1/plugins/{name} (status 201) and an entry of Plugin.Versions.
type PluginVersion struct {
	Name    string `json:"name"`
	Version int32  `json:"version"`
	Kind    string `json:"kind"`
	// Size in bytes and SHA256 (hex) of the module.
	Size       int64             `json:"size"`
	SHA256     string            `json:"sha256"`
	ABIVersion int32             `json:"abi_version"`
	Exports    []string          `json:"exports,omitempty"`
	Params     map[string]string `json:"params,omitempty"`
	Limits     PluginLimits      `json:"limits"`
	// CreatedAt in ms since the Unix epoch.
	CreatedAt int64 `json:"created_at"`
}

// Ref is "name@version".
func (v *PluginVersion) Ref() string { return PluginRef(v.Name, v.Version) }

// Plugin is the answer of GET /v1/plugins/{name} and an entry of
// GET /v1/plugins.
type Plugin struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Latest int32  `json:"latest"`
	// Versions are ordered by version.
	Versions []PluginVersion `json:"versions"`
	// UsedBy lists what uses the plugin: "topic:NAME" for a topic's
	// partitioner (pins the version), "consumer:..." for live consumers.
	UsedBy []string `json:"used_by,omitempty"`
}

// PluginList is the answer of GET /v1/plugins, sorted by name.
type PluginList struct {
	Plugins []Plugin `json:"plugins"`
}
