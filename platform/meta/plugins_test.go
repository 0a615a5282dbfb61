package meta

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
)

func TestUploadPlugin(t *testing.T) {
	s := newSeq(t)
	for v := 1; v <= 3; v++ {
		res := s.must(upload("geo", PluginKindPartitioner))
		if res.Plugin.Version != v {
			t.Fatalf("upload %d got version %d", v, res.Plugin.Version)
		}
	}
	pv, err := s.c.PluginVersion("geo", 0)
	if err != nil || pv.Version != 3 {
		t.Fatalf("latest: %+v %v", pv, err)
	}
	sum := sha256.Sum256(pv.Wasm)
	if pv.SHA256 != hex.EncodeToString(sum[:]) || pv.Size != len(pv.Wasm) || pv.CreatedAt.IsZero() {
		t.Fatalf("derived fields: %+v", pv)
	}
	for _, tc := range []struct {
		name string
		cmd  UploadPlugin
	}{
		{"bad name", UploadPlugin{Name: "a b", Kind: PluginKindProcessor, Wasm: []byte{0}}},
		{"bad kind", UploadPlugin{Name: "a", Kind: "filter", Wasm: []byte{0}}},
		{"empty module", UploadPlugin{Name: "a", Kind: PluginKindProcessor}},
	} {
		cmd := tc.cmd
		if _, err := s.try(Command{Op: OpUploadPlugin, UploadPlugin: &cmd}); !errors.Is(err, ErrInvalidRequest) {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
}

func TestDeletePlugin(t *testing.T) {
	del := func(name string, v int) Command {
		return Command{Op: OpDeletePlugin, DeletePlugin: &DeletePlugin{Name: name, Version: v}}
	}
	tests := []struct {
		name     string
		spec     *PartitionerSpec // partitioner of topic "t", nil: none
		del      Command
		want     error
		versions []int // remaining versions of geo
	}{
		{name: "unused version", del: del("geo", 2), versions: []int{1, 3}},
		{name: "all unused", del: del("geo", 0), versions: nil},
		{name: "pinned version in use", spec: wasmSpec("geo", 2), del: del("geo", 2), want: ErrPluginInUse},
		{name: "other version free", spec: wasmSpec("geo", 2), del: del("geo", 1), versions: []int{2, 3}},
		{name: "latest reference blocks latest", spec: wasmSpec("geo", 0), del: del("geo", 3), want: ErrPluginInUse},
		{name: "latest reference frees older", spec: wasmSpec("geo", 0), del: del("geo", 1), versions: []int{2, 3}},
		{name: "any reference blocks all", spec: wasmSpec("geo", 1), del: del("geo", 0), want: ErrPluginInUse},
		{name: "unknown plugin", del: del("nope", 0), want: ErrUnknownPlugin},
		{name: "unknown version", del: del("geo", 9), want: ErrUnknownPlugin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := withBrokers(t, 1)
			for range 3 {
				s.must(upload("geo", PluginKindPartitioner))
			}
			s.must(create("t", 1, 1, nil))
			if tc.spec != nil {
				s.must(Command{Op: OpAlterTopic, AlterTopic: &AlterTopic{Name: "t", Partitioner: tc.spec}})
				if users := s.c.UsersOfPlugin("geo", 0); len(users) != 1 || users[0] != "t" {
					t.Fatalf("UsersOfPlugin = %v", users)
				}
			}
			_, err := s.try(tc.del)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, ok := s.c.Plugins["geo"]
			if len(tc.versions) == 0 {
				if ok {
					t.Fatalf("plugin still there: %+v", p)
				}
				return
			}
			var got []int
			for _, v := range p.Versions {
				got = append(got, v.Version)
			}
			if len(got) != len(tc.versions) || got[0] != tc.versions[0] || got[1] != tc.versions[1] {
				t.Fatalf("versions %v, want %v", got, tc.versions)
			}
		})
	}
}

func TestDeletedVersionNumberNotReused(t *testing.T) {
	s := newSeq(t)
	s.must(upload("geo", PluginKindPartitioner))
	s.must(upload("geo", PluginKindPartitioner))
	s.must(Command{Op: OpDeletePlugin, DeletePlugin: &DeletePlugin{Name: "geo", Version: 2}})
	if v := s.must(upload("geo", PluginKindPartitioner)).Plugin.Version; v != 3 {
		t.Fatalf("re-upload got version %d, want 3", v)
	}
}
