package broker

import "sync"

// readiness is one partition's list of waiting follower fetches: Notify
// signals each subscribed channel (buffered, capacity 1) without
// blocking, so an append wakes only the fetch sessions that wait on that
// partition, and a signal sent between a look and a wait is kept.
type readiness struct {
	mu   sync.Mutex
	subs []chan struct{}
}

func (r *readiness) subscribe(ch chan struct{}) {
	r.mu.Lock()
	r.subs = append(r.subs, ch)
	r.mu.Unlock()
}

func (r *readiness) unsubscribe(ch chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, c := range r.subs {
		if c == ch {
			last := len(r.subs) - 1
			r.subs[i] = r.subs[last]
			r.subs[last] = nil
			r.subs = r.subs[:last]
			return
		}
	}
}

// Notify signals every subscriber.
func (r *readiness) Notify() {
	r.mu.Lock()
	for _, ch := range r.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	r.mu.Unlock()
}
