package storage

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// precheck refuses an existing file whose page structure bbolt cannot
// safely map (see checkBoltFile). A path that does not exist passes: Open
// creates it. An existing empty file does not: bbolt would silently make
// it a new database, and a replica file that lost its contents is a lost
// replica, not a new empty log.
func precheck(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%w: not a regular file (%s)", ErrCorrupt, info.Mode().Type())
	}
	unlock, err := lockShared(f, lockTimeout)
	if err != nil {
		return err
	}
	defer unlock()
	if info, err = f.Stat(); err != nil { // as of holding the lock
		return err
	}
	data, unmap := mapReadOnly(f, info.Size())
	defer unmap()
	if data != nil {
		return checkBoltBytes(data)
	}
	return checkBoltFile(f, info.Size())
}

// openBolt opens the bbolt file at path, turning bbolt's complaints about
// the file, and any panic or memory fault it raises on this goroutine, into
// errors wrapping ErrCorrupt.
func openBolt(path string, replicated bool) (db *bolt.DB, err error) {
	defer guardBolt(&err)()
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        lockTimeout,
		NoSync:         replicated,
		NoGrowSync:     replicated,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil && (errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) || errors.Is(err, berrors.ErrVersionMismatch)) {
		err = fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return db, err
}

// guardBolt makes a damaged page fail the calling bbolt operation instead
// of the process: it turns memory faults on this goroutine into panics
// (debug.SetPanicOnFault) and a panic into an error wrapping ErrCorrupt.
// Use as `defer guardBolt(&err)()`.
func guardBolt(err *error) func() {
	prev := debug.SetPanicOnFault(true)
	return func() {
		debug.SetPanicOnFault(prev)
		if r := recover(); r != nil {
			*err = fmt.Errorf("%w: bbolt: %v", ErrCorrupt, r)
		}
	}
}
