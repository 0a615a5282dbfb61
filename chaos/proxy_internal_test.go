package chaos

import (
	"bufio"
	"net"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

func TestProcAddr(t *testing.T) {
	got, err := procAddr("127.0.0.1:8080")
	if err != nil || got != "0100007F:1F90" {
		t.Fatalf("procAddr = %q, %v; want 0100007F:1F90", got, err)
	}
	got, _ = procAddr("127.0.2.3:80")
	if got != "0302007F:0050" {
		t.Fatalf("procAddr = %q", got)
	}
}

// TestFabricCutsAndHeals drives the fabric with this process as node 2
// and an echo server as node 1: traffic flows, the owner is recognised, a
// cut hangs the connection (no bytes, no error), the heal closes it and a
// new connection flows again; gossip packets are forwarded from the
// sender's advertised address and dropped while cut.
func TestFabricCutsAndHeals(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the fabric needs Linux")
	}
	ports := freePorts(t, 2)
	tcpPort, udpPort := ports[0], ports[1]
	echo, err := net.Listen("tcp", net.JoinHostPort(realHost(1), strconv.Itoa(tcpPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					c.Write(append(sc.Bytes(), '\n'))
				}
			}()
		}
	}()
	// Node 1's gossip socket, and node 2's (this process) bound at its
	// real address as serf binds it.
	u1, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(realHost(1)), Port: udpPort})
	if err != nil {
		t.Fatal(err)
	}
	defer u1.Close()
	u2, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(realHost(2)), Port: udpPort})
	if err != nil {
		t.Fatal(err)
	}
	defer u2.Close()

	f := newFabric(func() map[int]int32 { return map[int]int32{os.Getpid(): 2} })
	defer f.close()
	if err := f.addNode(1, []int{tcpPort}, udpPort); err != nil {
		t.Fatal(err)
	}
	if err := f.addNode(2, nil, udpPort); err != nil {
		t.Fatal(err)
	}
	proxied := net.JoinHostPort(proxyHost(1), strconv.Itoa(tcpPort))

	roundTrip := func(c net.Conn, msg string, wait time.Duration) (string, error) {
		c.SetDeadline(time.Now().Add(wait))
		if _, err := c.Write([]byte(msg + "\n")); err != nil {
			return "", err
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		return line, err
	}
	c, err := net.Dial("tcp", proxied)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := roundTrip(c, "hello", 10*time.Second); err != nil || got != "hello\n" {
		t.Fatalf("through the fabric: %q, %v", got, err)
	}
	if got := f.owner(c2server(t, f)); got != 2 {
		t.Fatalf("owner = %d, want 2", got)
	}

	udpTo1 := func() (string, error) {
		proxy1 := &net.UDPAddr{IP: net.ParseIP(proxyHost(1)), Port: udpPort}
		if _, err := u2.WriteToUDP([]byte("ping"), proxy1); err != nil {
			return "", err
		}
		buf := make([]byte, 16)
		u1.SetReadDeadline(time.Now().Add(time.Second))
		n, from, err := u1.ReadFromUDP(buf)
		if err != nil {
			return "", err
		}
		return string(buf[:n]) + " from " + from.String(), nil
	}
	want := "ping from " + net.JoinHostPort(proxyHost(2), strconv.Itoa(udpPort))
	if got, err := udpTo1(); err != nil || got != want {
		t.Fatalf("gossip through the fabric: %q, %v; want %q", got, err, want)
	}

	f.partition([]int32{2}, []int32{1})
	if _, err := roundTrip(c, "lost", 300*time.Millisecond); err == nil {
		t.Fatal("a cut connection answered")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("a cut connection should hang, got %v", err)
	}
	if _, err := udpTo1(); err == nil {
		t.Fatal("a gossip packet crossed the cut")
	}
	f.heal()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
		t.Fatal("a connection held across the cut survived the heal")
	}
	c3, err := net.Dial("tcp", proxied)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if got, err := roundTrip(c3, "again", 10*time.Second); err != nil || got != "again\n" {
		t.Fatalf("after the heal: %q, %v", got, err)
	}
}

// c2server returns the fabric's accepted side of the test's first
// connection (the one whose owner it looks up).
func c2server(t *testing.T, f *fabric) net.Conn {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		if _, port, _ := net.SplitHostPort(c.LocalAddr().String()); c.LocalAddr().(*net.TCPAddr).IP.String() == proxyHost(1) && port != "" {
			return c
		}
	}
	t.Fatal("no accepted connection")
	return nil
}
