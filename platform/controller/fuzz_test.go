package controller

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/platform/meta"
)

// FuzzDecodeEntry: whatever bytes a raft entry holds, decodeEntry returns
// a command or an error wrapping ErrCorruptMetadata, never panics; a
// command it accepts survives encodeEntry and decodeEntry unchanged in
// shape. Seeds: testdata/fuzz/FuzzDecodeEntry.
func FuzzDecodeEntry(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		cmd, err := decodeEntry(data)
		if err != nil {
			if !errors.Is(err, ErrCorruptMetadata) {
				t.Fatalf("error %v does not wrap ErrCorruptMetadata", err)
			}
			return
		}
		again, err := encodeEntry(cmd)
		if err != nil {
			t.Fatalf("accepted command does not encode: %v", err)
		}
		back, err := decodeEntry(again)
		if err != nil || back.Op != cmd.Op {
			t.Fatalf("re-encoded command: %+v, %v", back, err)
		}
	})
}

// FuzzReadSnapshot: whatever bytes a snapshot holds, readSnapshot returns
// a cluster or an error wrapping ErrCorruptMetadata, never panics.
// Seeds: testdata/fuzz/FuzzReadSnapshot.
func FuzzReadSnapshot(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := readSnapshot(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrCorruptMetadata) {
				t.Fatalf("error %v does not wrap ErrCorruptMetadata", err)
			}
			return
		}
		if c.Topics == nil || c.Brokers == nil || c.Plugins == nil {
			t.Fatal("restored cluster has nil maps")
		}
	})
}

// TestWriteControllerFuzzSeeds regenerates the seed corpora when
// SLUICE_WRITE_FUZZ_SEED is set.
func TestWriteControllerFuzzSeeds(t *testing.T) {
	if os.Getenv("SLUICE_WRITE_FUZZ_SEED") == "" {
		t.Skip("set SLUICE_WRITE_FUZZ_SEED=1 to regenerate testdata/fuzz/FuzzDecodeEntry and FuzzReadSnapshot")
	}
	write := func(target, name string, data []byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, cmd := range map[string]meta.Command{"register": registerCmd, "create": createCmd} {
		env := envelopedEntry(t, 1, cmd).Data
		write("FuzzDecodeEntry", name+"-enveloped", env)
		legacy, err := cmd.Encode()
		if err != nil {
			t.Fatal(err)
		}
		write("FuzzDecodeEntry", name+"-legacy", legacy)
	}
	snap := snapshotBytes(t, clusterWithTopic(t))
	write("FuzzReadSnapshot", "enveloped", snap)
	write("FuzzReadSnapshot", "legacy", snap[len(snapshotMagic):len(snap)-snapshotTrailerSize])
}
