package chaos

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice/storage"
	"go.uber.org/goleak"
)

// dumpEnv makes the test binary a replica reader: it prints the records
// of the partition file named by the variable and exits. The harness runs
// it as a child process, so a file that makes the storage layer panic
// costs the child, not the test.
const dumpEnv = "SLUICE_CHAOS_DUMP_REPLICA"

func TestMain(m *testing.M) {
	if path := os.Getenv(dumpEnv); path != "" {
		if err := dumpReplica(os.Stdout, path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	flag.Parse()
	code := func() int {
		if testing.Short() {
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "sluice-chaos-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "sluice")
		start := time.Now()
		out, err := exec.Command("go", "build", "-o", bin, "github.com/sluicehq/sluice/cmd/sluice").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build sluice: %v\n%s", err, out)
			return 1
		}
		if testing.Verbose() {
			fmt.Printf("built %s in %v\n", bin, time.Since(start).Round(time.Millisecond))
		}
		if err := writeSecurity(bin, dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		sluiceBin = bin
		return m.Run()
	}()
	if code == 0 {
		// Every goroutine of the harness (workload, fabric, process
		// waiters) has an owner that stopped it.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// replicaDump is what the replica reader prints: the file's bounds, its
// high-watermark checkpoint and every record from the log start.
type replicaDump struct {
	Start, End, HW int64
	Offsets        []int64
	Values         []string
}

func dumpReplica(w io.Writer, path string) error {
	// Work on a copy: opening a log may repair or rewrite parts of it.
	tmp, err := os.MkdirTemp("", "sluice-chaos-dump-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	cp := filepath.Join(tmp, filepath.Base(path))
	if err := os.WriteFile(cp, b, 0o600); err != nil {
		return err
	}
	l, err := storage.Open(cp, storage.Options{})
	if err != nil {
		return err
	}
	defer l.Close()
	d := replicaDump{Start: l.StartOffset(), End: l.EndOffset(), HW: l.HighWatermark()}
	for from := d.Start; from < d.End; {
		res, err := l.Read(from, 1<<20, d.End)
		if err != nil {
			return fmt.Errorf("read %s from %d: %w", path, from, err)
		}
		if len(res.Batches) == 0 {
			break
		}
		prev := from
		for _, bt := range res.Batches {
			for _, r := range bt.Records {
				if r.Offset >= from {
					d.Offsets = append(d.Offsets, r.Offset)
					d.Values = append(d.Values, string(r.Value))
					from = r.Offset + 1
				}
			}
		}
		if from == prev {
			from = res.Batches[len(res.Batches)-1].LastOffset + 1
		}
	}
	return json.NewEncoder(w).Encode(d)
}
