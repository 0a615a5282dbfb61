package platform_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/testtool"
	"github.com/sluicehq/sluice/sdk/wire"
)

// goExamples are the Go-SDK example plugins, built for wasip1 once per
// test binary (the first test that needs one pays the build).
var goExamples struct {
	once sync.Once
	wasm map[string][]byte
	err  error
}

// exampleWasm returns the module of examples/<name>, built with
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
func exampleWasm(t testing.TB, name string) []byte {
	t.Helper()
	goExamples.once.Do(func() { goExamples.wasm, goExamples.err = buildGoExamples() })
	if goExamples.err != nil {
		t.Fatal(goExamples.err)
	}
	b, ok := goExamples.wasm[name]
	if !ok {
		t.Fatalf("no example %q was built", name)
	}
	return b
}

// buildGoExamples builds every Go example into a temporary folder, reads
// the modules into memory and removes the folder (nothing is left behind
// whatever way the test binary ends).
func buildGoExamples() (map[string][]byte, error) {
	dir, err := os.MkdirTemp("", "sluice-platform-plugins-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	goBin := testtool.GoCommand()
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			return nil, fmt.Errorf("no go toolchain to build the example plugins: %w", err)
		}
	}
	names := []string{"json-partitioner", "filter-redact", "flatten"}
	out := map[string][]byte{}
	for _, n := range names {
		cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-o", filepath.Join(dir, n+".wasm"), "./examples/"+n)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build examples/%s for wasip1: %v\n%s", n, err, msg)
		}
		b, err := os.ReadFile(filepath.Join(dir, n+".wasm"))
		if err != nil {
			return nil, err
		}
		out[n] = b
	}
	return out, nil
}

// watModules caches WAT files compiled by wat2wasm, by path.
var watModules sync.Map

// watWasm compiles a WAT file (path relative to the repository root) with
// wat2wasm, which .ci/run installs (Debian's wabt). Where it is absent the
// test is skipped, saying so.
func watWasm(t testing.TB, path string) []byte {
	t.Helper()
	if b, ok := watModules.Load(path); ok {
		return b.([]byte)
	}
	bin := testtool.Need(t, testtool.WAT2Wasm)
	out := filepath.Join(t.TempDir(), filepath.Base(path)+".wasm")
	if msg, err := exec.Command(bin, filepath.Join("..", path), "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", path, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	watModules.Store(path, b)
	return b
}

// httpc drives a node through its public HTTP API.
type httpc struct {
	t    testing.TB
	base string
}

// do sends a request and returns the status and body.
func (h httpc) do(method, path, ctype string, body []byte) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.base+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, raw
}

// ok sends a JSON request (in may be nil) and decodes a 2xx answer into
// out (may be nil); any other status fails the test.
func (h httpc) ok(method, path string, in, out any) {
	h.t.Helper()
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			h.t.Fatal(err)
		}
	}
	st, raw := h.do(method, path, wire.MediaTypeJSON, body)
	if st >= 300 {
		h.t.Fatalf("%s %s: %d %s", method, path, st, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			h.t.Fatalf("%s %s: %v in %.300s", method, path, err, raw)
		}
	}
}

// apiError decodes an error answer and checks its status and code.
func (h httpc) apiError(st int, raw []byte, status int, code wire.Code) *wire.Error {
	h.t.Helper()
	var er wire.ErrorResponse
	if err := json.Unmarshal(raw, &er); err != nil || er.Error == nil {
		h.t.Fatalf("want error %d %s, got %d %.300s", status, code, st, raw)
	}
	if st != status || er.Error.Code != code {
		h.t.Fatalf("got %d %s (%s), want %d %s", st, er.Error.Code, er.Error.Message, status, code)
	}
	return er.Error
}

// upload posts a module; query is e.g. "kind=partitioner&param.field=x".
func (h httpc) upload(name, query string, wasm []byte) (int, []byte) {
	h.t.Helper()
	return h.do(http.MethodPost, "/v1/plugins/"+name+"?"+query, wire.MediaTypeWasm, wasm)
}

// mustUpload uploads a module and returns the new version.
func (h httpc) mustUpload(name, query string, wasm []byte) wire.PluginVersion {
	h.t.Helper()
	st, raw := h.upload(name, query, wasm)
	if st != http.StatusCreated {
		h.t.Fatalf("upload %s: %d %s", name, st, raw)
	}
	var v wire.PluginVersion
	if err := json.Unmarshal(raw, &v); err != nil {
		h.t.Fatal(err)
	}
	return v
}

// produce sends records as JSON and returns the status and raw answer.
func (h httpc) produce(topic string, recs []wire.ProduceRecord) (int, []byte) {
	h.t.Helper()
	body, err := json.Marshal(wire.ProduceRequest{Records: recs})
	if err != nil {
		h.t.Fatal(err)
	}
	return h.do(http.MethodPost, "/v1/topics/"+topic+"/records", wire.MediaTypeJSON, body)
}

// fetch reads one partition from offset with extra query parameters.
func (h httpc) fetch(topic string, partition int32, offset int64, query string) wire.FetchResponse {
	h.t.Helper()
	var fr wire.FetchResponse
	h.ok(http.MethodGet, fmt.Sprintf("/v1/topics/%s/partitions/%d/records?offset=%d&%s", topic, partition, offset, query), nil, &fr)
	return fr
}

// mustProduce sends records and returns where each went.
func (h httpc) mustProduce(topic string, recs []wire.ProduceRecord) []wire.ProduceResult {
	h.t.Helper()
	st, raw := h.produce(topic, recs)
	if st != http.StatusOK {
		h.t.Fatalf("produce to %s: %d %s", topic, st, raw)
	}
	var res wire.ProduceResponse
	if err := json.Unmarshal(raw, &res); err != nil {
		h.t.Fatal(err)
	}
	for i, r := range res.Results {
		if r.Error != nil {
			h.t.Fatalf("produce to %s: record %d: %s", topic, i, r.Error.Message)
		}
	}
	return res.Results
}
