package controller

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/sluicehq/sluice/platform/meta"
	"go.etcd.io/bbolt"
)

// panickingStore is a raft store whose every call panics, as bbolt does on
// a damaged page.
type panickingStore struct{}

func (panickingStore) FirstIndex() (uint64, error) {
	panic("assertion failed: page 2: has unexpected type/flags: fd")
}
func (panickingStore) LastIndex() (uint64, error)       { panic("page fault") }
func (panickingStore) GetLog(uint64, *raft.Log) error   { panic("page fault") }
func (panickingStore) StoreLog(*raft.Log) error         { panic("page fault") }
func (panickingStore) StoreLogs([]*raft.Log) error      { panic("page fault") }
func (panickingStore) DeleteRange(uint64, uint64) error { panic("page fault") }
func (panickingStore) Set([]byte, []byte) error         { panic("page fault") }
func (panickingStore) Get([]byte) ([]byte, error)       { panic("page fault") }
func (panickingStore) SetUint64([]byte, uint64) error   { panic("page fault") }
func (panickingStore) GetUint64([]byte) (uint64, error) { panic("page fault") }

// TestGuardedStoreTurnsPanicsIntoErrors: every store call that panics
// returns an error wrapping ErrCorruptMetadata that names the file.
func TestGuardedStoreTurnsPanicsIntoErrors(t *testing.T) {
	s := &guardedStore{path: "/data/controller/raft.db", logs: panickingStore{}, stable: panickingStore{}}
	calls := map[string]func() error{
		"FirstIndex":  func() error { _, err := s.FirstIndex(); return err },
		"LastIndex":   func() error { _, err := s.LastIndex(); return err },
		"GetLog":      func() error { return s.GetLog(1, &raft.Log{}) },
		"StoreLog":    func() error { return s.StoreLog(&raft.Log{}) },
		"StoreLogs":   func() error { return s.StoreLogs(nil) },
		"DeleteRange": func() error { return s.DeleteRange(1, 2) },
		"Set":         func() error { return s.Set([]byte("k"), nil) },
		"Get":         func() error { _, err := s.Get([]byte("k")); return err },
		"SetUint64":   func() error { return s.SetUint64([]byte("k"), 1) },
		"GetUint64":   func() error { _, err := s.GetUint64([]byte("k")); return err },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, ErrCorruptMetadata) || !strings.Contains(err.Error(), "/data/controller/raft.db") {
			t.Errorf("%s: %v; want ErrCorruptMetadata naming the file", name, err)
		}
	}
}

// TestDamagedRaftFileFailsStartWithoutPanic: a raft.db whose page headers
// past the two meta pages are overwritten (bbolt panics reading such a
// file) makes Start return an error wrapping ErrCorruptMetadata instead of
// crashing the process.
func TestDamagedRaftFileFailsStartWithoutPanic(t *testing.T) {
	dir := t.TempDir()
	c := startSingle(t, dir, nil)
	ctx := ctxT(t, 10*time.Second)
	if _, err := c.RegisterBroker(ctx, meta.Broker{ID: 1, HTTPAddr: "127.0.0.1:8080"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "raft.db")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const pageSize = 4096 // bbolt's default on this platform's page size
	if len(b) < 3*pageSize {
		t.Fatalf("raft.db has %d bytes", len(b))
	}
	for off := 2 * pageSize; off+16 <= len(b); off += pageSize {
		b[off+8], b[off+9] = 0xfd, 0xfd // the page's type flags
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(1, dir, freeAddr(t))
	cfg.Bootstrap = true
	c, err = Start(context.Background(), cfg)
	if err == nil {
		_ = c.Close()
		t.Fatal("Start succeeded on a damaged raft.db")
	}
	if !errors.Is(err, ErrCorruptMetadata) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Start: %v; want ErrCorruptMetadata naming %s", err, path)
	}
}

// TestUndecodableEntryFailsStartWithoutPanic: raft panics in NewRaft when
// it cannot read back an entry between its snapshot and its last one
// (scanning for configuration changes); with the first entry's bytes
// replaced by garbage in the real raft.db, Start returns an error wrapping
// ErrCorruptMetadata instead.
func TestUndecodableEntryFailsStartWithoutPanic(t *testing.T) {
	dir := t.TempDir()
	c := startSingle(t, dir, nil)
	ctx := ctxT(t, 10*time.Second)
	if _, err := c.RegisterBroker(ctx, meta.Broker{ID: 1, HTTPAddr: "127.0.0.1:8080"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "raft.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("logs"))
		if b == nil {
			return errors.New("no logs bucket")
		}
		k, _ := b.Cursor().First()
		if k == nil {
			return errors.New("empty log")
		}
		return b.Put(k, []byte{0xc1, 0xc1, 0xc1}) // not msgpack
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(1, dir, freeAddr(t))
	cfg.Bootstrap = true
	c, err = Start(context.Background(), cfg)
	if err == nil {
		_ = c.Close()
		t.Fatal("Start succeeded with an undecodable entry")
	}
	if !errors.Is(err, ErrCorruptMetadata) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Start: %v; want ErrCorruptMetadata naming %s", err, path)
	}
}
