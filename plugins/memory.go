package plugins

import (
	"errors"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// errNodeBudget marks a memory refusal due to the node's budget (beside
// ErrMemoryLimit), so that the back-off does not count it against the
// plugin.
var errNodeBudget = errors.New("node plugin memory budget")

// memBudget is the node-wide budget for the linear memory of every plugin
// instance (Config.MemoryBudget), in use or idle in a pool. Instances
// reserve what they allocate (their buffer's capacity) before allocating
// it and return it when closed. When a reservation does not fit, idle
// instances of any plugin are closed first (evict) to make room.
type memBudget struct {
	limit int64
	used  atomic.Int64
	// evict closes idle instances until at least need bytes were
	// returned, or none is left. Nil: nothing to evict.
	evict func(need int64)
}

// reserve takes n bytes from the budget, evicting idle instances once if
// they do not fit. The count never passes the limit, not even for a moment
// (a compare-and-swap, not an add taken back): a reader (metrics, tests)
// never sees more than the limit in use, and two reservations that would
// each fit alone never both fail for having been counted together.
func (b *memBudget) reserve(n int64) bool {
	if n <= 0 {
		return true
	}
	for attempt := range 2 {
		for {
			used := b.used.Load()
			if used+n > b.limit {
				break
			}
			if b.used.CompareAndSwap(used, used+n) {
				return true
			}
		}
		if attempt == 0 && b.evict != nil {
			b.evict(n - (b.limit - b.used.Load()))
		}
	}
	return false
}

func (b *memBudget) release(n int64) { b.used.Add(-n) }

// limitedMemory backs one instance's linear memory and refuses to grow it
// past the plugin's limit, or past what the node's budget has left, so
// memory.grow returns -1 there. It remembers the refusal so that the trap
// that usually follows is reported as ErrMemoryLimit, not as an anonymous
// trap.
type limitedMemory struct {
	limit  uint64
	budget *memBudget
	// reserved is what this memory holds of the budget: its buffer's
	// capacity. newInstance reserves the initial memory before
	// instantiating, so the first allocation cannot fail.
	reserved int64
	buf      []byte
	denied   atomic.Bool
	// overBudget says the refusal was the node's budget, not the limit.
	overBudget atomic.Bool
}

var _ experimental.LinearMemory = (*limitedMemory)(nil)

func (m *limitedMemory) allocator() experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(capacity, _ uint64) experimental.LinearMemory {
		m.buf = make([]byte, 0, m.reserved)
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
	// page at a time does not copy its memory on every grow; if the budget
	// cannot give that much, grow to the exact size.
	c := max(size, min(uint64(cap(m.buf))*2, m.limit))
	if !m.budget.reserve(int64(c) - m.reserved) {
		c = size
		if !m.budget.reserve(int64(c) - m.reserved) {
			m.overBudget.Store(true)
			m.denied.Store(true)
			return nil
		}
	}
	m.reserved = int64(c)
	nb := make([]byte, size, c)
	copy(nb, m.buf)
	m.buf = nb
	return m.buf
}

// Free implements experimental.LinearMemory: the module was closed.
func (m *limitedMemory) Free() {
	m.buf = nil
	m.releaseAll()
}

// releaseAll returns the memory's reservation (also when instantiation
// failed before wazero took the memory over).
func (m *limitedMemory) releaseAll() {
	m.budget.release(m.reserved)
	m.reserved = 0
}
