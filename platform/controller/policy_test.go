package controller

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/sluicehq/sluice/platform/meta"
)

// TestRefusedProposalsNeverReachRaft: commands CheckCommand, the node
// policy or the plugin validator refuse leave the raft log as it was, and
// a refused plugin upload is validated on the controller whoever proposed
// it.
func TestRefusedProposalsNeverReachRaft(t *testing.T) {
	validated := 0
	c := startSingle(t, t.TempDir(), func(cfg *Config) {
		cfg.ValidatePlugin = func(_ context.Context, up *meta.UploadPlugin) error {
			validated++
			up.Exports = []string{"checked"}
			if string(up.Wasm) != "good" {
				return errors.New("not a module")
			}
			return nil
		}
	})
	ctx := ctxT(t, 20*time.Second)
	for _, id := range []meta.NodeID{1, 2} {
		if _, err := c.RegisterBroker(ctx, meta.Broker{ID: id, HTTPAddr: "127.0.0.1:8080"}); err != nil {
			t.Fatal(err)
		}
	}
	last := c.raft.LastIndex()
	for _, tc := range []struct {
		name string
		from meta.NodeID // 1 is the controller itself
		cmd  meta.Command
		want error
	}{
		{"traversal id", 1, meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{Name: "t", ID: "../../x"}}, meta.ErrInvalidRequest},
		{"traversal name", 2, meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{Name: "../x"}}, meta.ErrInvalidRequest},
		{"fence from node 2", 2, meta.Command{Op: meta.OpFenceBroker, FenceBroker: &meta.FenceBroker{ID: 1}}, clusternet.ErrForbidden},
		{"internal from node 2", 2, meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{Name: "__x", Internal: true}}, clusternet.ErrForbidden},
		{"isr for another leader", 2, meta.Command{Op: meta.OpAlterPartition, AlterPartition: &meta.AlterPartition{Topic: "t", Leader: 1, ISR: []meta.NodeID{1}}}, clusternet.ErrForbidden},
		{"unregistered node", 3, meta.Command{Op: meta.OpDeleteTopic, DeleteTopic: &meta.DeleteTopic{Name: "t"}}, clusternet.ErrForbidden},
		{"bad module", 2, meta.Command{Op: meta.OpUploadPlugin, UploadPlugin: &meta.UploadPlugin{Name: "p", Kind: meta.PluginKindProcessor, Wasm: []byte("bad")}}, nil},
	} {
		_, err := c.ProposeFrom(ctx, tc.from, tc.cmd)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if got := c.raft.LastIndex(); got != last {
		t.Fatalf("raft log grew from %d to %d with refused proposals", last, got)
	}
	res, err := c.ProposeFrom(ctx, 2, meta.Command{Op: meta.OpUploadPlugin, UploadPlugin: &meta.UploadPlugin{
		Name: "p", Kind: meta.PluginKindProcessor, Wasm: []byte("good"), Exports: []string{"claimed"}}})
	if err != nil || res.Plugin == nil {
		t.Fatalf("a good upload: %+v %v", res, err)
	}
	if validated != 2 {
		t.Fatalf("the validator ran %d times, want 2", validated)
	}
	if pv, err := c.Metadata().PluginVersion("p", 0); err != nil || len(pv.Exports) != 1 || pv.Exports[0] != "checked" {
		t.Fatalf("stored exports %+v %v, want the validator's", pv, err)
	}
}
