package storage

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/record"
)

// crashEnv names the log file the crash child appends to.
const crashEnv = "SLUICE_STORAGE_CRASH_CHILD_LOG"

// TestCrashChild is the child half of TestSIGKILLLosesNoAcknowledgedAppend:
// it appends from several goroutines in fsync mode and prints every
// acknowledged append as "ack <base> <count> <tag>" until it is killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("child process of TestSIGKILLLosesNoAcknowledgedAppend")
	}
	l, err := Open(path, Options{Durability: DurabilityFsync})
	if err != nil {
		fmt.Println("open failed:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // never outlive a lost parent
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ctx.Err() == nil; seq++ {
				tag := fmt.Sprintf("w%d.%d", w, seq)
				n := 1 + seq%5
				base, err := l.Append(ctx, crashRecs(tag, n), 0)
				if err != nil {
					return
				}
				mu.Lock()
				fmt.Printf("ack %d %d %s\n", base, n, tag)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	os.Exit(0)
}

func crashRecs(tag string, n int) []record.Record {
	out := make([]record.Record, n)
	for i := range out {
		out[i] = record.Record{Key: []byte(tag), Value: []byte(fmt.Sprintf("%s/%d", tag, i))}
	}
	return out
}

// TestSIGKILLLosesNoAcknowledgedAppend: a process killed with SIGKILL in
// the middle of a stream of fsync-mode appends loses none that Append had
// acknowledged, and the file opens cleanly and verifies afterwards.
func TestSIGKILLLosesNoAcknowledgedAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	type ack struct {
		base int64
		n    int
		tag  string
	}
	var acks []ack
	killAt := 300
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var a ack
		if _, err := fmt.Sscanf(sc.Text(), "ack %d %d %s", &a.base, &a.n, &a.tag); err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		acks = append(acks, a)
		if len(acks) == killAt {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	if len(acks) < killAt {
		t.Fatalf("child stopped after %d acks: %v", len(acks), err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v", err)
	}
	t.Logf("child acknowledged %d appends before it died", len(acks))

	l, err := Open(path, Options{Durability: DurabilityFsync})
	if err != nil {
		t.Fatalf("open after SIGKILL: %v", err)
	}
	defer l.Close()
	if err := l.Verify(); err != nil {
		t.Fatalf("verify after SIGKILL: %v", err)
	}
	byOffset := map[int64]record.Record{}
	for _, r := range readAll(t, l, 0) {
		byOffset[r.Offset] = r
	}
	for _, a := range acks {
		for i := 0; i < a.n; i++ {
			r, ok := byOffset[a.base+int64(i)]
			want := fmt.Sprintf("%s/%d", a.tag, i)
			if !ok || string(r.Value) != want {
				t.Fatalf("acknowledged record %d (%s) lost or wrong: %q", a.base+int64(i), want, r.Value)
			}
		}
	}
	if int64(len(byOffset)) != l.EndOffset() {
		t.Fatalf("%d records for end offset %d", len(byOffset), l.EndOffset())
	}
}
