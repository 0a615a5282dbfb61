package wire

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxPluginNameLen is the longest plugin name accepted.
const MaxPluginNameLen = 128

// PluginRef formats "name@version"; version 0 formats just "name" (latest).
func PluginRef(name string, version int32) string {
	if version == 0 {
		return name
	}
	return name + "@" + strconv.FormatInt(int64(version), 10)
}

// ParsePluginRef splits "name" or "name@N" (N >= 1). Version 0 means latest.
func ParsePluginRef(s string) (name string, version int32, err error) {
	name, v, has := strings.Cut(s, "@")
	if err := ValidatePluginName(name); err != nil {
		return "", 0, err
	}
	if !has {
		return name, 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("plugin reference %q: version must be a positive integer", s)
	}
	return name, int32(n), nil
}

// ValidatePluginName reports why name is not a valid plugin name: 1 to 128
// characters from [a-zA-Z0-9._-].
func ValidatePluginName(name string) error {
	if name == "" {
		return fmt.Errorf("plugin name is empty")
	}
	if len(name) > MaxPluginNameLen {
		return fmt.Errorf("plugin name is %d characters, the limit is %d", len(name), MaxPluginNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			continue
		}
		return fmt.Errorf("plugin name %q: character %q not allowed (use a-z A-Z 0-9 . _ -)", name, c)
	}
	return nil
}

// ParsePartitioner splits a topic's partitioner spec. For built-ins it
// returns the name with wasm false; for "wasm:NAME[@N]" the plugin name and
// version (0 = latest) with wasm true.
func ParsePartitioner(spec string) (name string, version int32, wasm bool, err error) {
	switch spec {
	case "", PartitionerAuto:
		return PartitionerAuto, 0, false, nil
	case PartitionerHash, PartitionerRoundRobin, PartitionerSticky:
		return spec, 0, false, nil
	}
	ref, ok := strings.CutPrefix(spec, PartitionerWasmPrefix)
	if !ok {
		return "", 0, false, fmt.Errorf("partitioner %q: want auto, hash, roundrobin, sticky or wasm:NAME[@N]", spec)
	}
	name, version, err = ParsePluginRef(ref)
	if err != nil {
		return "", 0, false, fmt.Errorf("partitioner %q: %w", spec, err)
	}
	return name, version, true, nil
}
