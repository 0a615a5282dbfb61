package chaos

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fabric is a fault-injecting network between nodes. Each node listens on
// its own loopback address (127.0.1.ID) and advertises another
// (127.0.2.ID) where the fabric listens on the same ports and forwards to
// it, so every node-to-node connection and gossip packet passes through
// the fabric and can be cut per pair of nodes.
//
// TCP: the fabric learns which node opened a connection from the kernel's
// socket table (/proc/net/tcp and /proc/PID/fd: the connecting socket's
// inode belongs to exactly one node process); a connection from no node
// (the test's own clients) is never cut. A cut pair's connections hang: no
// byte crosses, new ones are accepted but never forwarded, and all of them
// are closed at the heal, as after a real partition's timeouts.
//
// UDP (serf gossip): a packet is known by its source address (the
// sender's bound serf socket) and forwarded from the fabric's socket of the
// sender's advertised address, so the receiver sees it come from the
// sender's advertised address and replies through the fabric too. Packets
// of a cut pair are dropped.
type fabric struct {
	pids func() map[int]int32 // live node processes: pid -> node id

	mu     sync.Mutex
	cut    map[[2]int32]bool
	healed chan struct{} // closed (and replaced) at every heal
	closed bool
	lns    []net.Listener
	udp    map[int32]*net.UDPConn // by node: the socket at its advertised serf address
	real   map[string]int32       // real serf address -> node
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newFabric(pids func() map[int]int32) *fabric {
	return &fabric{
		pids:   pids,
		cut:    map[[2]int32]bool{},
		healed: make(chan struct{}),
		udp:    map[int32]*net.UDPConn{},
		real:   map[string]int32{},
		conns:  map[net.Conn]bool{},
	}
}

// realHost and proxyHost are the loopback hosts of node id's listeners
// and of the fabric in front of them.
func realHost(id int32) string  { return fmt.Sprintf("127.0.1.%d", id) }
func proxyHost(id int32) string { return fmt.Sprintf("127.0.2.%d", id) }

// addNode makes the fabric listen at node id's advertised addresses: TCP
// on each of ports, UDP on serfPort.
func (f *fabric) addNode(id int32, ports []int, serfPort int) error {
	for _, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(proxyHost(id), strconv.Itoa(p)))
		if err != nil {
			return fmt.Errorf("fabric: %w", err)
		}
		f.mu.Lock()
		f.lns = append(f.lns, ln)
		f.mu.Unlock()
		target := net.JoinHostPort(realHost(id), strconv.Itoa(p))
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.acceptLoop(ln, id, target)
		}()
	}
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(proxyHost(id)), Port: serfPort})
	if err != nil {
		return fmt.Errorf("fabric: %w", err)
	}
	realSerf := &net.UDPAddr{IP: net.ParseIP(realHost(id)), Port: serfPort}
	f.mu.Lock()
	f.udp[id] = u
	f.real[realSerf.String()] = id
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.udpLoop(u, id, realSerf)
	}()
	return nil
}

// partition cuts every pair between side and the other nodes, both ways.
func (f *fabric) partition(side []int32, others []int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range side {
		for _, b := range others {
			f.cut[[2]int32{a, b}] = true
			f.cut[[2]int32{b, a}] = true
		}
	}
}

// heal restores every pair; connections held across the cut close.
func (f *fabric) heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.cut)
	close(f.healed)
	f.healed = make(chan struct{})
}

// isCut reports whether src -> dst is cut, with the channel closed at the
// next heal.
func (f *fabric) isCut(src, dst int32) (bool, chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cut[[2]int32{src, dst}] || f.cut[[2]int32{dst, src}], f.healed
}

// close stops every listener and connection and waits for the fabric's
// goroutines.
func (f *fabric) close() {
	f.mu.Lock()
	f.closed = true
	for _, ln := range f.lns {
		ln.Close()
	}
	for _, u := range f.udp {
		u.Close()
	}
	for c := range f.conns {
		c.Close()
	}
	close(f.healed)
	f.healed = make(chan struct{})
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *fabric) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		c.Close()
		return false
	}
	f.conns[c] = true
	return true
}

func (f *fabric) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	c.Close()
}

func (f *fabric) acceptLoop(ln net.Listener, dst int32, target string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if !f.track(c) {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer f.untrack(c)
			f.serve(c, dst, target)
		}()
	}
}

// serve forwards one connection from whichever node opened it to dst.
func (f *fabric) serve(c net.Conn, dst int32, target string) {
	src := f.owner(c)
	if cut, healed := f.isCut(src, dst); cut {
		<-healed // held, never forwarded
		return
	}
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return
	}
	if !f.track(up) {
		return
	}
	defer f.untrack(up)
	done := make(chan struct{}, 2)
	pipe := func(to, from net.Conn) {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := from.Read(buf)
			if n > 0 {
				if cut, healed := f.isCut(src, dst); cut {
					<-healed // the bytes never arrive; the heal closes both
					return
				}
				if _, werr := to.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	// One side ended: end both, so the other pipe returns too.
	c.Close()
	up.Close()
	<-done
}

func (f *fabric) udpLoop(u *net.UDPConn, dst int32, target *net.UDPAddr) {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := u.ReadFromUDP(buf)
		if err != nil {
			return
		}
		f.mu.Lock()
		src, known := f.real[from.String()]
		out := f.udp[src]
		f.mu.Unlock()
		if !known || out == nil {
			continue
		}
		if cut, _ := f.isCut(src, dst); cut {
			continue
		}
		_, _ = out.WriteToUDP(buf[:n], target)
	}
}

// owner is the node whose process opened c, -1 when none did (or it
// cannot be told).
func (f *fabric) owner(c net.Conn) int32 {
	inode, err := socketInode(c.RemoteAddr().String(), c.LocalAddr().String())
	if err != nil {
		return -1
	}
	want := "socket:[" + inode + "]"
	for pid, id := range f.pids() {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if l, err := os.Readlink(dir + "/" + e.Name()); err == nil && l == want {
				return id
			}
		}
	}
	return -1
}

// socketInode finds the inode of the IPv4 TCP socket local -> remote in
// /proc/net/tcp.
func socketInode(local, remote string) (string, error) {
	l, err := procAddr(local)
	if err != nil {
		return "", err
	}
	r, err := procAddr(remote)
	if err != nil {
		return "", err
	}
	fh, err := os.Open("/proc/net/tcp")
	if err != nil {
		return "", err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 9 && fs[1] == l && fs[2] == r {
			return fs[9], nil
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return "", fmt.Errorf("no socket %s -> %s", local, remote)
}

// procAddr spells an IPv4 host:port as /proc/net/tcp does: the address as
// a little-endian 32-bit hex number, then the port in hex.
func procAddr(hostport string) (string, error) {
	ap, err := net.ResolveTCPAddr("tcp", hostport)
	if err != nil {
		return "", err
	}
	ip := ap.IP.To4()
	if ip == nil {
		return "", fmt.Errorf("%s: not IPv4", hostport)
	}
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], ap.Port), nil
}
