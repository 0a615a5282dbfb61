package broker

import "sync"

// broadcast wakes every waiter at once: a waiter takes the current channel
// and blocks on it; Notify closes it and installs a fresh one. The cost
// of a wake-up is one close, whatever the number of long-polling fetches.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBroadcast() *broadcast { return &broadcast{ch: make(chan struct{})} }

// Wait returns a channel that is closed at the next Notify.
func (b *broadcast) Wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

// Notify wakes everyone waiting on the channel Wait returned.
func (b *broadcast) Notify() {
	b.mu.Lock()
	close(b.ch)
	b.ch = make(chan struct{})
	b.mu.Unlock()
}
