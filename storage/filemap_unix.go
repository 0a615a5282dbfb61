//go:build unix

package storage

import (
	"errors"
	"fmt"
	"math"
	"os"
	"syscall"
	"time"
)

// lockShared takes a shared advisory lock on f, waiting up to timeout
// while another process holds bbolt's exclusive lock, so the structure
// check never reads a file another process is writing (and never calls a
// file in use corrupt). It returns the unlock function.
func lockShared(f *os.File, timeout time.Duration) (func(), error) {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock: %w", err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("lock: file in use by another process (timeout %v)", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mapReadOnly maps exactly size bytes of f read-only, so the structure
// check reads pages without a system call each. Every access goes through
// a Go slice of the file's length, so a bad offset is a bounds check, never
// a fault. It returns nil (and the caller reads with ReadAt) when the file
// cannot be mapped.
func mapReadOnly(f *os.File, size int64) ([]byte, func()) {
	if size <= 0 || size > math.MaxInt {
		return nil, func() {}
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, func() {}
	}
	return data, func() { _ = syscall.Munmap(data) }
}
