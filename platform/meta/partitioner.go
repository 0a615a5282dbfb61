package meta

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
)

// Partitioner names in PartitionerSpec.Name.
const (
	PartitionerAuto       = "auto"       // hash with a key, round-robin without (default)
	PartitionerHash       = "hash"       // Kafka's murmur2 of the key
	PartitionerRoundRobin = "roundrobin" // spread evenly, keys ignored
	PartitionerSticky     = "sticky"     // hash with a key, sticky runs without (partitioner.RunBytes)
	PartitionerWasm       = "wasm"       // a partitioner plugin from the registry
)

// PartitionerSpec is a topic's choice of partitioner.
type PartitionerSpec struct {
	// Name is auto, hash, roundrobin, sticky or wasm; empty means auto.
	Name string `json:"name"`
	// Plugin names the registry plugin (Name == wasm only).
	Plugin string `json:"plugin,omitempty"`
	// Version of the plugin. CreateTopic and AlterTopic store the version
	// a 0 resolves to (the latest then); a stored 0 comes only from an
	// earlier release and means the latest, until the plugin's next upload
	// pins it (see pinPartitioner).
	Version int `json:"version,omitempty"`
	// Params are handed to the plugin at instantiation.
	Params map[string]string `json:"params,omitempty"`
}

// ParsePartitionerSpec parses "auto", "hash", "roundrobin", "sticky", "wasm:NAME" or
// "wasm:NAME@VERSION". The empty string means auto.
func ParsePartitionerSpec(s string) (PartitionerSpec, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", PartitionerAuto:
		return PartitionerSpec{Name: PartitionerAuto}, nil
	case PartitionerHash, PartitionerRoundRobin, PartitionerSticky:
		return PartitionerSpec{Name: s}, nil
	}
	rest, ok := strings.CutPrefix(s, PartitionerWasm+":")
	if !ok {
		return PartitionerSpec{}, fmt.Errorf("partitioner %q: want auto, hash, roundrobin, sticky or wasm:NAME[@VERSION]: %w", s, ErrInvalidRequest)
	}
	spec := PartitionerSpec{Name: PartitionerWasm, Plugin: rest}
	if name, ver, ok := strings.Cut(rest, "@"); ok {
		v, err := strconv.Atoi(ver)
		if err != nil || v < 1 {
			return PartitionerSpec{}, fmt.Errorf("partitioner %q: version must be a positive integer: %w", s, ErrInvalidRequest)
		}
		spec.Plugin, spec.Version = name, v
	}
	if !validPluginName(spec.Plugin) {
		return PartitionerSpec{}, fmt.Errorf("partitioner %q: bad plugin name: %w", s, ErrInvalidRequest)
	}
	return spec, nil
}

// String is the inverse of ParsePartitionerSpec (Params are not shown).
func (s PartitionerSpec) String() string {
	switch {
	case s.Name == "":
		return PartitionerAuto
	case s.Name != PartitionerWasm:
		return s.Name
	case s.Version == 0:
		return PartitionerWasm + ":" + s.Plugin
	default:
		return fmt.Sprintf("%s:%s@%d", PartitionerWasm, s.Plugin, s.Version)
	}
}

func (s PartitionerSpec) clone() PartitionerSpec {
	s.Params = maps.Clone(s.Params)
	return s
}

// Version pinning. A topic's Wasm partitioner decides which partition each
// key goes to, so a different plugin version may send a key elsewhere and
// break per-key order. A topic therefore names an exact version once
// created: CreateTopic and AlterTopic resolve "wasm:NAME" to the version
// latest at that moment and store "wasm:NAME@N". Changing the version is an
// explicit AlterTopic.
//
// Topics stored unpinned by an earlier release (Version 0) keep following
// the latest version as before, until the next upload of their plugin:
// UploadPlugin first pins them to the version they were using, so the new
// upload changes nothing for them either.

// pinPartitioner returns spec naming exactly pv's version.
func pinPartitioner(spec PartitionerSpec, pv *PluginVersion) PartitionerSpec {
	spec.Version = pv.Version
	return spec
}

// pinFollowers pins every topic whose partitioner follows the latest
// version of plugin name (Version 0) to that latest version. UploadPlugin
// runs it before adding a version, so an upload never moves a topic's keys.
func (a *applier) pinFollowers(name string) {
	cur := a.cur()
	pv, err := cur.PluginVersion(name, 0)
	if err != nil {
		return // no version yet: nothing can follow it
	}
	for _, tn := range cur.UsersOfPlugin(name, 0) {
		t := cur.Topics[tn]
		if t.Partitioner.Version != 0 {
			continue
		}
		n := *t // partitions are shared, as in alterTopic
		n.Partitioner = pinPartitioner(t.Partitioner.clone(), pv)
		a.putTopic(&n)
	}
}
