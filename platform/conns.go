package platform

import (
	"net"
	"net/http"
	"sync"
)

// freshConns tracks HTTP connections that have not sent a request yet.
// http.Server.Shutdown waits up to 5 s for such a connection before it
// counts it as idle, and HTTP clients open them routinely (a dial that
// lost the race to a reused connection stays in the client's pool), so
// without this a node's Close would often wait 5 s for nothing. Closing
// them is safe: no request has started on them.
type freshConns struct {
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closing bool
}

// track is the http.Server's ConnState hook.
func (f *freshConns) track(c net.Conn, st http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st != http.StateNew {
		delete(f.conns, c)
		return
	}
	if f.closing {
		_ = c.Close()
		return
	}
	if f.conns == nil {
		f.conns = map[net.Conn]struct{}{}
	}
	f.conns[c] = struct{}{}
}

// closeAll closes every connection still without a request, and any that
// arrives from now on.
func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closing = true
	for c := range f.conns {
		_ = c.Close()
	}
	clear(f.conns)
}
