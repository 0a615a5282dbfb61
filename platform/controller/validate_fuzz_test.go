package controller

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/platform/meta"
)

// FuzzCheckCommand feeds the internal propose route's body (a JSON
// meta.Command from another node) through DecodeCommand and CheckCommand:
// neither panics, and a command CheckCommand accepts names no path.
func FuzzCheckCommand(f *testing.F) {
	for _, s := range []string{
		`{"op":"create_topic","create_topic":{"name":"orders","partitions":3}}`,
		`{"op":"create_topic","create_topic":{"name":"../../x","id":"../y"}}`,
		`{"op":"upload_plugin","upload_plugin":{"name":"p","kind":"processor","wasm":"AGFzbQEAAAA="}}`,
		`{"op":"register_broker","register_broker":{"broker":{"id":2,"http_addr":"http://h:1","cluster_addr":"https://h:2"}}}`,
		`{"op":"alter_partition","alter_partition":{"topic":"t","partition":0,"leader":1,"isr":[1,2]}}`,
		`{"op":"delete_plugin","delete_plugin":{"name":".."}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, err := meta.DecodeCommand(b)
		if err != nil {
			return
		}
		if CheckCommand(&cmd) != nil {
			return
		}
		var names []string
		switch {
		case cmd.CreateTopic != nil:
			names = append(names, cmd.CreateTopic.Name, cmd.CreateTopic.Partitioner.Plugin)
		case cmd.DeleteTopic != nil:
			names = append(names, cmd.DeleteTopic.Name)
		case cmd.UploadPlugin != nil:
			names = append(names, cmd.UploadPlugin.Name)
		case cmd.DeletePlugin != nil:
			names = append(names, cmd.DeletePlugin.Name)
		}
		for _, n := range names {
			if n != "" && (filepath.Base(n) != n || strings.ContainsAny(n, `/\`) || n == "." || n == "..") {
				t.Fatalf("accepted %s with a path name %q", cmd.Op, n)
			}
		}
		if cmd.CreateTopic != nil && cmd.CreateTopic.ID != "" {
			t.Fatalf("accepted a proposer's topic id %q", cmd.CreateTopic.ID)
		}
	})
}
