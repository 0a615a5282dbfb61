package membership

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
	"time"
)

// TestColdStartMutualJoin starts two nodes that list each other as seeds,
// the first before the second exists: the first keeps retrying instead of
// failing, and both end in one cluster.
func TestColdStartMutualJoin(t *testing.T) {
	addrA, addrB := freeUDPTCPAddr(t), freeUDPTCPAddr(t)
	cfgA := fastConfig(1, addrB)
	cfgA.BindAddr = addrA
	cfgA.RetryJoinMaxBackoff = 200 * time.Millisecond
	cfgB := fastConfig(2, addrA)
	cfgB.BindAddr = addrB

	type started struct {
		m   *Membership
		err error
	}
	first := make(chan started, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		m, err := Start(ctx, cfgA)
		first <- started{m, err}
	}()
	// A is retrying now: B is not up. Give it a few failed attempts.
	time.Sleep(500 * time.Millisecond)
	select {
	case s := <-first:
		if s.m != nil {
			_ = s.m.Close()
		}
		t.Fatalf("Start returned before any seed was up: %v", s.err)
	default:
	}
	b := start(t, cfgB)
	s := <-first
	if s.err != nil {
		t.Fatalf("first node: %v", s.err)
	}
	t.Cleanup(func() { _ = s.m.Close() })
	waitEvent(t, s.m, EventJoin, 2)
	waitEvent(t, b, EventJoin, 1)
}

// TestRetryJoinTimeout: with no seed ever answering, Start gives up after
// RetryJoinTimeout with an error naming the seeds, and leaves nothing
// running (goleak checks).
func TestRetryJoinTimeout(t *testing.T) {
	dead := freeUDPTCPAddr(t)
	cfg := fastConfig(1, dead)
	cfg.RetryJoinTimeout = 300 * time.Millisecond
	cfg.RetryJoinMaxBackoff = 50 * time.Millisecond
	m, err := Start(context.Background(), cfg)
	if err == nil {
		_ = m.Close()
		t.Fatal("Start succeeded with no seed up")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want a deadline error", err)
	}
}

func TestBackoffJitterStaysInBounds(t *testing.T) {
	for range 1000 {
		w := time.Duration(rand.Int64N(int64(time.Second))) + time.Millisecond
		const cap = 700 * time.Millisecond
		d := backoff(w, cap)
		if d < min(w*3/4, cap)-time.Nanosecond || d > w*5/4+time.Nanosecond || d > cap {
			t.Fatalf("backoff(%v) = %v: outside ±25%% or above the cap", w, d)
		}
	}
}

// freeUDPTCPAddr returns a loopback address whose port is free for TCP and
// UDP now, from a range no other package's tests use (7000-9999; chaos
// takes 4000-6999, testnode 10000-19999, the controller tests 20000-31999).
func freeUDPTCPAddr(t *testing.T) string {
	t.Helper()
	for range 200 {
		addr := "127.0.0.1:" + strconv.Itoa(7000+rand.IntN(3000))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		return addr
	}
	t.Fatal("no free port")
	return ""
}
