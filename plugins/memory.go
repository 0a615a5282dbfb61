package plugins

import (
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// limitedMemory backs one instance's linear memory and refuses to grow it
// past the plugin's limit, so memory.grow returns -1 there. It remembers the
// refusal so that the trap that usually follows is reported as
// ErrMemoryLimit, not as an anonymous trap.
type limitedMemory struct {
	limit  uint64
	buf    []byte
	denied atomic.Bool
}

var _ experimental.LinearMemory = (*limitedMemory)(nil)

func (m *limitedMemory) allocator() experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(capacity, _ uint64) experimental.LinearMemory {
		m.buf = make([]byte, 0, min(capacity, m.limit))
		return m
	})
}

// Reallocate implements experimental.LinearMemory.
func (m *limitedMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.denied.Store(true)
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size] // never shrinks, so the new tail is still zero
		return m.buf
	}
	// Grow geometrically (bounded by the limit) so a module that grows a
	// page at a time does not copy its memory on every grow.
	c := max(size, min(uint64(cap(m.buf))*2, m.limit))
	nb := make([]byte, size, c)
	copy(nb, m.buf)
	m.buf = nb
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *limitedMemory) Free() { m.buf = nil }
