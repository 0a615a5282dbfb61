package controller

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// guardedStore is the raft log and stable store raft uses: the bbolt file
// (raft.db) behind calls that cannot take the process down. bbolt panics
// on a page it finds damaged ("assertion failed: page N: has unexpected
// type/flags") and a pointer past the file faults; either on a store call
// becomes that call's error, wrapping ErrCorruptMetadata and naming the
// file. raft then refuses to start on it (Start fails with the error, the
// node exits naming raft.db) or fails the one operation, instead of the
// node dying of a panic. Recovery is as for a refused entry: remove the
// node's controller data (docs/controller.md, "Integrity").
type guardedStore struct {
	path   string
	logs   raft.LogStore
	stable raft.StableStore
}

// openRaftStore opens raft.db; a file bbolt panics on while opening it
// (a damaged freelist or meta page) gives an error wrapping
// ErrCorruptMetadata.
func openRaftStore(path string) (store *raftboltdb.BoltStore, err error) {
	g := &guardedStore{path: path}
	defer g.guard(&err)()
	return raftboltdb.New(raftboltdb.Options{
		Path:        path,
		BoltOptions: &bbolt.Options{Timeout: 5 * time.Second},
	})
}

// newRaft is raft.NewRaft, which panics when the last entry of the log
// cannot be read back (not found, or not decodable: a damaged raft.db);
// that panic becomes an error wrapping ErrCorruptMetadata.
func newRaft(path string, rc *raft.Config, fsm raft.FSM, logs raft.LogStore, stable raft.StableStore, snaps raft.SnapshotStore, trans raft.Transport) (r *raft.Raft, err error) {
	g := &guardedStore{path: path}
	defer g.guard(&err)()
	return raft.NewRaft(rc, fsm, logs, stable, snaps, trans)
}

// guard turns a panic (or a memory fault, via debug.SetPanicOnFault) on
// this goroutine into *err. Use as `defer s.guard(&err)()`.
func (s *guardedStore) guard(err *error) func() {
	prev := debug.SetPanicOnFault(true)
	return func() {
		debug.SetPanicOnFault(prev)
		if r := recover(); r != nil {
			*err = fmt.Errorf("raft log %s: %w: recovered panic: %v", s.path, ErrCorruptMetadata, r)
		}
	}
}

func (s *guardedStore) FirstIndex() (i uint64, err error) {
	defer s.guard(&err)()
	return s.logs.FirstIndex()
}

func (s *guardedStore) LastIndex() (i uint64, err error) {
	defer s.guard(&err)()
	return s.logs.LastIndex()
}

func (s *guardedStore) GetLog(index uint64, log *raft.Log) (err error) {
	defer s.guard(&err)()
	return s.logs.GetLog(index, log)
}

func (s *guardedStore) StoreLog(log *raft.Log) (err error) {
	defer s.guard(&err)()
	return s.logs.StoreLog(log)
}

func (s *guardedStore) StoreLogs(logs []*raft.Log) (err error) {
	defer s.guard(&err)()
	return s.logs.StoreLogs(logs)
}

func (s *guardedStore) DeleteRange(min, max uint64) (err error) {
	defer s.guard(&err)()
	return s.logs.DeleteRange(min, max)
}

func (s *guardedStore) Set(key, val []byte) (err error) {
	defer s.guard(&err)()
	return s.stable.Set(key, val)
}

func (s *guardedStore) Get(key []byte) (v []byte, err error) {
	defer s.guard(&err)()
	return s.stable.Get(key)
}

func (s *guardedStore) SetUint64(key []byte, val uint64) (err error) {
	defer s.guard(&err)()
	return s.stable.SetUint64(key, val)
}

func (s *guardedStore) GetUint64(key []byte) (v uint64, err error) {
	defer s.guard(&err)()
	return s.stable.GetUint64(key)
}
