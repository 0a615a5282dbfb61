package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/record"
	bolt "go.etcd.io/bbolt"
)

// damageFixture writes a real log with small (inline) and large batches in
// two leader epochs, a high watermark and a time index, closes it and
// returns its bytes and the records it holds.
func damageFixture(t testing.TB) ([]byte, []record.Record) {
	t.Helper()
	l := openLog(t, Options{})
	var want []record.Record
	for i := 0; i < 12; i++ {
		rs := recs(fmt.Sprintf("b%d", i), 1+i%3)
		if i%4 == 3 {
			rs[0].Value = bytes.Repeat([]byte{byte('a' + i)}, 6000) // spills to overflow pages
		}
		for j := range rs {
			rs[j].Timestamp = int64(1000 + i)
		}
		epoch := int32(0)
		if i >= 6 {
			epoch = 3
		}
		mustAppend(t, l, rs, epoch)
		want = append(want, rs...)
	}
	if err := l.SetHighWatermark(l.EndOffset() - 2); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	return data, want
}

// outcome opens the damaged file and reads all of it. It fails the test if
// anything panics (a panic in a bbolt goroutine would kill the binary), if
// an error does not wrap ErrCorrupt or does not name the file, or if a
// read returns records other than those written. It reports whether Open
// refused the file.
func outcome(t *testing.T, path string, want []record.Record) (refused bool) {
	t.Helper()
	l, err := Open(path, Options{})
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("open: %v, want ErrCorrupt", err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Fatalf("open error %q does not name the file", err)
		}
		return true
	}
	defer l.Close()
	checkErr := func(what string, err error) bool {
		if err == nil {
			return false
		}
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
			t.Fatalf("%s on a damaged file: %v, want ErrCorrupt naming the file", what, err)
		}
		return true
	}
	var got []record.Record
	for from := l.StartOffset(); from < l.EndOffset(); {
		res, err := l.Read(from, 1<<20, l.EndOffset())
		if checkErr("read", err) {
			break
		}
		for _, b := range res.Batches {
			got = append(got, b.Records...)
			from = b.LastOffset + 1
		}
	}
	for i, r := range got {
		if i >= len(want) || !bytes.Equal(r.Value, want[i].Value) || !bytes.Equal(r.Key, want[i].Key) || r.Offset != int64(i) {
			t.Fatalf("damaged file returned record %d = %q at offset %d, wrote %q", i, r.Value, r.Offset, want[min(i, len(want)-1)].Value)
		}
	}
	_, err = l.OffsetForTimestamp(1005)
	checkErr("offset for timestamp", err)
	checkErr("verify", l.Verify())
	if hw := l.HighWatermark(); hw > int64(len(want)) {
		t.Fatalf("high watermark %d past the %d records written", hw, len(want))
	}
	_, err = l.ApplyRetention(time.Now(), Retention{Bytes: 1})
	checkErr("retention", err)
	return false
}

func writeDamaged(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "damaged.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func filePageSize(t *testing.T, data []byte) (pageSize, hwmBytes int64) {
	t.Helper()
	c := &fileChecker{r: bytes.NewReader(data), size: int64(len(data))}
	m, err := c.readMetas()
	if err != nil {
		t.Fatal(err)
	}
	return int64(m.pageSize), int64(m.hwm) * int64(m.pageSize)
}

// TestDamagedFileIsCorruptNeverAPanic: a partition file with bytes flipped
// in its meta pages or page headers, truncated below its last page, empty,
// or garbage is refused by Open with ErrCorrupt naming the file; no damage
// makes Open or a later call panic or return records that were not written.
func TestDamagedFileIsCorruptNeverAPanic(t *testing.T) {
	orig, want := damageFixture(t)
	ps, hwmBytes := filePageSize(t, orig)
	flip := func(offs ...int64) []byte {
		d := bytes.Clone(orig)
		for _, o := range offs {
			d[o] ^= 0x5a
		}
		return d
	}
	refused := []struct {
		name string
		data []byte
	}{
		{"both meta pages' magic", flip(16, ps+16)},
		{"both meta pages' checksums", flip(16+60, ps+16+60)},
		{"both meta pages' high-water marks", flip(16+40, ps+16+40)},
		{"zero length", nil},
		{"truncated to 100 bytes", orig[:100]},
		{"truncated to one page", orig[:ps]},
		{"truncated to two pages", orig[:2*ps]},
		{"truncated to half", orig[:hwmBytes/2]},
		{"truncated by one byte below the last page", orig[:hwmBytes-1]},
		{"garbage", garbage(len(orig))},
		{"all 0xff", bytes.Repeat([]byte{0xff}, len(orig))},
		{"text", bytes.Repeat([]byte("not a log "), 2000)},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if !outcome(t, writeDamaged(t, tc.data), want) {
				t.Fatal("damaged file opened")
			}
		})
	}
	// One meta page damaged: bbolt falls back to the other one, which may
	// point at an older (intact) tree; either way no panic and no garbage.
	for _, off := range []int64{16, 16 + 40, ps + 16, ps + 16 + 40} {
		t.Run(fmt.Sprintf("one meta page at %d", off), func(t *testing.T) {
			outcome(t, writeDamaged(t, flip(off)), want)
		})
	}
	// Every page header field and a spread of bytes in every page.
	pages := hwmBytes / ps
	n := 0
	for p := int64(2); p < pages; p++ {
		for _, in := range []int64{0, 3, 8, 10, 11, 12, 16, 19, 20, 24, 28, 31, 40, ps / 3, ps / 2, ps - 1} {
			off := p*ps + in
			t.Run(fmt.Sprintf("page %d byte %d", p, in), func(t *testing.T) {
				if outcome(t, writeDamaged(t, flip(off)), want) {
					n++
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no flipped byte in any page was refused; the structure check does not run")
	}
}

func garbage(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestDamagedSideValuesAreCorrupt: a flipped bit in the high-watermark
// checkpoint, an epoch cache entry, a meta key or a time index entry makes
// Open (or the lookup using it) fail with ErrCorrupt, never a wrong offset.
func TestDamagedSideValuesAreCorrupt(t *testing.T) {
	orig, _ := damageFixture(t)
	cases := []struct {
		name   string
		bucket []byte
		key    []byte // nil: the first key of the bucket
	}{
		{"high watermark", bucketMeta, keyHW},
		{"log end", bucketMeta, keyEnd},
		{"clean flag", bucketMeta, keyClean},
		{"epoch entry", bucketEpochs, nil},
		{"time index entry", bucketTindex, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeDamaged(t, orig)
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error {
				b := tx.Bucket(tc.bucket)
				k := tc.key
				if k == nil {
					k, _ = b.Cursor().First()
				}
				v := bytes.Clone(b.Get(k))
				v[0] ^= 0x01 // one bit: a higher or lower offset, same length
				return b.Put(k, v)
			})
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			l, err := Open(path, Options{})
			if err == nil {
				defer l.Close()
				_, err = l.OffsetForTimestamp(0)
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err %v, want ErrCorrupt naming %s", err, path)
			}
		})
	}
}

// TestLegacyUnsealedValuesStillOpen: a file whose side values are bare
// 8-byte values (as written before they were sealed) opens and reads, and
// the values are sealed when next written.
func TestLegacyUnsealedValuesStillOpen(t *testing.T) {
	orig, want := damageFixture(t)
	path := writeDamaged(t, orig)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketEpochs, bucketTindex} {
			b := tx.Bucket(name)
			var kvs [][2][]byte
			_ = b.ForEach(func(k, v []byte) error {
				kvs = append(kvs, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
				return nil
			})
			for _, kv := range kvs {
				v := kv[1]
				switch len(v) {
				case sealedLen:
					v = v[:8]
				case 5:
					v = v[:1]
				}
				if err := b.Put(kv[0], v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open legacy file: %v", err)
	}
	defer l.Close()
	if got := readAll(t, l, 0); len(got) != len(want) {
		t.Fatalf("read %d records, wrote %d", len(got), len(want))
	}
	if err := l.SetHighWatermark(l.EndOffset()); err != nil {
		t.Fatal(err)
	}
	if err := l.CheckpointHighWatermark(); err != nil {
		t.Fatal(err)
	}
	err = l.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyHW); len(v) != sealedLen {
			return fmt.Errorf("hw checkpoint of %d bytes after a write, want sealed", len(v))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzOpenDamagedFile: whatever bytes a partition file holds, Open and the
// reads after it return data or an error wrapping ErrCorrupt; nothing
// panics (a panic in a bbolt goroutine would stop the fuzzer's process).
// The seed corpus holds an intact small log (testdata/fuzz/FuzzOpenDamagedFile).
func FuzzOpenDamagedFile(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		// The mapped check and the ReadAt one (non-unix) agree.
		if e1, e2 := checkBoltBytes(data), checkBoltFile(bytes.NewReader(data), int64(len(data))); (e1 == nil) != (e2 == nil) {
			t.Fatalf("mapped check %v, ReadAt check %v", e1, e2)
		}
		path := filepath.Join(t.TempDir(), "fuzz.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := Open(path, Options{})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("open: %v, want ErrCorrupt", err)
			}
			return
		}
		defer l.Close()
		for from := l.StartOffset(); from < l.EndOffset(); {
			res, err := l.Read(from, 1<<20, l.EndOffset())
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("read: %v", err)
				}
				break
			}
			if len(res.Batches) == 0 {
				t.Fatalf("read at %d below end %d returned nothing", from, l.EndOffset())
			}
			from = res.Batches[len(res.Batches)-1].LastOffset + 1
		}
		if _, err := l.OffsetForTimestamp(0); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("offset for timestamp: %v", err)
		}
		if _, err := l.Append(context.Background(), recs("fuzz", 2), l.LatestEpoch()+1); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Logf("append: %v", err)
		}
	})
}

// TestWriteFuzzSeed regenerates the seed of FuzzOpenDamagedFile when
// SLUICE_WRITE_FUZZ_SEED is set.
func TestWriteFuzzSeed(t *testing.T) {
	if os.Getenv("SLUICE_WRITE_FUZZ_SEED") == "" {
		t.Skip("set SLUICE_WRITE_FUZZ_SEED=1 to regenerate testdata/fuzz/FuzzOpenDamagedFile/seed-log")
	}
	l := openLog(t, Options{})
	for i := 0; i < 3; i++ {
		mustAppend(t, l, recs(fmt.Sprintf("s%d", i), 2), int32(i))
	}
	l.SetHighWatermark(l.EndOffset())
	path := l.Path()
	l.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, hwmBytes := filePageSize(t, data)
	data = data[:hwmBytes] // bbolt's preallocated tail is zeros
	dir := filepath.Join("testdata", "fuzz", "FuzzOpenDamagedFile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
	if err := os.WriteFile(filepath.Join(dir, "seed-log"), []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRetentionRefusesDamagedBatch: a flipped bit in a batch header's max
// timestamp (which would make a new batch look old) fails retention with
// ErrCorrupt instead of deleting the batch; nothing is removed.
func TestRetentionRefusesDamagedBatch(t *testing.T) {
	clock := &fakeClock{t: time.UnixMilli(1_000_000)}
	l := openLog(t, Options{Now: clock.Now})
	for i, ts := range []int64{1000, 999_000, 999_000} {
		rs := recs(fmt.Sprintf("r%d", i), 2)
		for j := range rs {
			rs[j].Timestamp = ts
		}
		mustAppend(t, l, rs, 0)
	}
	if err := l.SetHighWatermark(l.EndOffset()); err != nil {
		t.Fatal(err)
	}
	path := l.Path()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		sb := tx.Bucket(bucketBatches).Bucket(u64key(2)) // the middle batch
		raw := bytes.Clone(sb.Get(keyRaw))
		raw[offMaxTS] ^= 0x80 // max timestamp far in the past
		return sb.Put(keyRaw, raw)
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	l, err = Open(path, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	n, err := l.ApplyRetention(clock.Now(), Retention{Ms: 10_000})
	if !errors.Is(err, ErrCorrupt) || n != 0 || l.StartOffset() != 0 {
		t.Fatalf("retention over a damaged header: removed %d, start %d, err %v; want ErrCorrupt and nothing removed", n, l.StartOffset(), err)
	}
}

// TestFileInUseIsNotCorrupt: opening a file another handle holds (bbolt's
// exclusive lock) fails with a lock error, never ErrCorrupt, even while
// the holder writes to it.
func TestFileInUseIsNotCorrupt(t *testing.T) {
	l := openLog(t, Options{})
	mustAppend(t, l, recs("busy", 3), 0)
	_, err := Open(l.Path(), Options{})
	if err == nil || errors.Is(err, ErrCorrupt) {
		t.Fatalf("second open of a file in use: %v, want a lock error", err)
	}
}
