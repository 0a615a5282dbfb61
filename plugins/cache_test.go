package plugins

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"time"
)

// cacheFiles lists the files in dir with their modification times.
func cacheFiles(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	files := map[string]time.Time{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files[path] = info.ModTime()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// A restarted node (a second Host on the same CacheDir) loads compiled code
// from the cache: the first Host writes entries, the second writes none.
func TestCompilationCacheSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	wasm := buildWAT(t, watPartitioner)

	h1, err := NewHost(ctx, Config{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h1.Validate(ctx, wasm, KindPartitioner); err != nil {
		t.Fatal(err)
	}
	if err := h1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	before := cacheFiles(t, dir)
	if len(before) == 0 {
		t.Fatal("no compiled module in the cache directory")
	}

	h2, err := NewHost(ctx, Config{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close(ctx)
	p, err := h2.Partitioner(ctx, Module{Name: "wat", Version: 1, Wasm: wasm}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if err := p.Partition(ctx, someRecords, 3, make([]int32, 2)); err != nil {
		t.Fatal(err)
	}
	after := cacheFiles(t, dir)
	if len(after) != len(before) {
		t.Fatalf("cache went from %d to %d files: the second host compiled again", len(before), len(after))
	}
	for f, mt := range before {
		if !after[f].Equal(mt) {
			t.Errorf("%s rewritten by the second host", f)
		}
	}
}
