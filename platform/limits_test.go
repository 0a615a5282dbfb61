package platform_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/groups"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

func openFDCount(t *testing.T) int {
	t.Helper()
	names, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd on this system: %v", err)
	}
	return len(names)
}

// A node's replica capacity is its file limit less the reserve (at most
// half the limit): a topic that would pass it is refused with 409
// quota_exceeded before any partition file is created, and the node stays
// healthy.
func TestTopicsPastTheFileDescriptorBudgetAreRefused(t *testing.T) {
	n := testnode.Start(t, testnode.WithConfig(func(c *platform.Config) {
		c.FileLimit = 400
		c.FDReserve = 300 // capped at half the limit: room for 200 partition files
	}))
	a := api{t: t, base: n.URL()}
	// The node creates __consumer_offsets on its own; its replicas count
	// too.
	held := func() int { return n.Controller().Metadata().ReplicaCounts()[1] }
	eventually(t, "__consumer_offsets created", func() (bool, string) {
		_, ok := n.Controller().Metadata().Topics[groups.OffsetsTopic]
		return ok, fmt.Sprintf("%d replicas held", held())
	})
	if st := a.json("POST", "/v1/topics", wire.CreateTopicRequest{Name: "fits", Partitions: 150}, nil); st != 201 {
		t.Fatalf("first topic: %d", st)
	}
	body, _ := json.Marshal(wire.CreateTopicRequest{Name: "toobig", Partitions: 100})
	st, raw := a.call("POST", "/v1/topics", wire.MediaTypeJSON, "", body)
	var er wire.ErrorResponse
	_ = json.Unmarshal(raw, &er)
	want := fmt.Sprintf("would place 100 replicas on broker 1, which holds %d of at most 200", held())
	if st != 409 || er.Error == nil || er.Error.Code != wire.CodeQuotaExceeded || !strings.Contains(er.Error.Message, want) {
		t.Fatalf("second topic: %d %s, want 409 quota_exceeded naming the budget", st, raw)
	}
	matches, _ := filepath.Glob(filepath.Join(n.Config.DataDir, "partitions", "toobig-*"))
	if len(matches) != 0 {
		t.Fatalf("partition files of the refused topic exist: %v", matches)
	}
	var h wire.Health
	if st := a.json("GET", "/healthz", nil, &h); st != 200 || h.Status != "ok" {
		t.Fatalf("healthz: %d %+v", st, h)
	}
	rest := 200 - held()
	if st := a.json("POST", "/v1/topics", wire.CreateTopicRequest{Name: "rest", Partitions: int32(rest)}, nil); st != 201 {
		t.Fatalf("a topic that fits the rest (%d partitions): %d", rest, st)
	}
	if got := held(); got != 200 {
		t.Fatalf("node holds %d replicas, want its capacity of 200", got)
	}
}

// /healthz warns when 80% of the file limit is in use and answers 503
// out_of_file_descriptors from 95%, and recovers when descriptors are
// closed.
func TestHealthReflectsFileDescriptors(t *testing.T) {
	const limit = 800 // the process needs a real limit above it
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur < limit+200 {
		t.Skipf("RLIMIT_NOFILE %d (%v): the test opens %d files", rl.Cur, err, limit)
	}
	n := testnode.Start(t, testnode.WithConfig(func(c *platform.Config) {
		c.FileLimit = limit
		c.FDReserve = 100
	}))
	a := api{t: t, base: n.URL()}
	health := func() (int, wire.Health) {
		var h wire.Health
		st, raw := a.call("GET", "/healthz", "", "", nil)
		if err := json.Unmarshal(raw, &h); err != nil {
			t.Fatalf("healthz answer %s: %v", raw, err)
		}
		return st, h
	}
	if st, h := health(); st != 200 || len(h.Warnings) != 0 {
		t.Fatalf("before: %d %+v", st, h)
	}
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	openTo := func(target int) {
		for openFDCount(t) < target {
			f, err := os.Open(os.DevNull)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	// Margins of 5% (40 descriptors) on each side of the thresholds keep
	// the node's own connections from moving the answer.
	openTo(limit)
	if st, h := health(); st != 503 || h.Status != platform.HealthOutOfFDs || len(h.Warnings) != 1 {
		t.Fatalf("at 100%%: %d %+v, want 503 %s", st, h, platform.HealthOutOfFDs)
	}
	// Close down to ~85%: healthy again, with a warning.
	for openFDCount(t) > limit*85/100 {
		files[len(files)-1].Close()
		files = files[:len(files)-1]
	}
	if st, h := health(); st != 200 || h.Status != "ok" || len(h.Warnings) != 1 || !strings.Contains(h.Warnings[0], "file descriptors") {
		t.Fatalf("at 85%%: %d %+v, want 200 with a warning", st, h)
	}
	for _, f := range files {
		f.Close()
	}
	files = nil
	if st, h := health(); st != 200 || len(h.Warnings) != 0 {
		t.Fatalf("after closing: %d %+v", st, h)
	}
}

func TestFileLimitBelowTheReserveIsRefused(t *testing.T) {
	cfg := platform.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.FileLimit = 10
	_, err := platform.Start(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "a node needs at least 64 file descriptors") {
		t.Fatalf("err = %v", err)
	}
}

// longTestsEnv enables tests that take minutes (docs/testing.md).
const longTestsEnv = "SLUICE_LONG_TESTS"

// The scenario, literally: with a file limit of 20,000, a node
// creates one 10,000-partition topic (10,000 open partition files) and
// refuses a second before opening any of its files, and stays healthy.
// Long (it creates 10,000 bbolt files): runs with SLUICE_LONG_TESTS=1.
func TestTwoTenThousandPartitionTopics(t *testing.T) {
	if os.Getenv(longTestsEnv) == "" {
		t.Skipf("long test: set %s=1 to run it", longTestsEnv)
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur < 20000 {
		t.Skipf("RLIMIT_NOFILE %d (%v): the test needs 20,000", rl.Cur, err)
	}
	n := testnode.Start(t, testnode.WithConfig(func(c *platform.Config) { c.FileLimit = 20000 }))
	a := api{t: t, base: n.URL()}
	if st := a.json("POST", "/v1/topics", wire.CreateTopicRequest{Name: "first", Partitions: 10000}, nil); st != 201 {
		t.Fatalf("first topic: %d", st)
	}
	body, _ := json.Marshal(wire.CreateTopicRequest{Name: "second", Partitions: 10000})
	st, raw := a.call("POST", "/v1/topics", wire.MediaTypeJSON, "", body)
	var er wire.ErrorResponse
	_ = json.Unmarshal(raw, &er)
	if st != 409 || er.Error == nil || er.Error.Code != wire.CodeQuotaExceeded {
		t.Fatalf("second topic: %d %s, want 409 quota_exceeded", st, raw)
	}
	t.Logf("refused: %s", er.Error.Message)
	var h wire.Health
	if st := a.json("GET", "/healthz", nil, &h); st != 200 || h.Status != "ok" {
		t.Fatalf("healthz: %d %+v", st, h)
	}
	t.Logf("open file descriptors with the first topic: %d", openFDCount(t))
}
