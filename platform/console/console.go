package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
)

//go:embed static
var static embed.FS

// Prefix is the path under which the console's assets are served; the
// page itself is also served at "/".
const Prefix = "/console/"

// indexFile is the page served at "/" and Prefix.
const indexFile = "index.html"

// ErrNoIndex means the embedded assets lack the page itself: a broken
// build, never a run-time condition.
var ErrNoIndex = errors.New("console: embedded assets have no " + indexFile)

// contentTypes maps the extensions the console ships to their media
// types. Set here rather than taken from the system's MIME tables, which
// differ between machines (a text/plain script is refused under nosniff).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".json": "application/json",
}

// contentSecurityPolicy allows the page to load only its own assets and
// to talk only to its own origin (HTTP API and WebSocket).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the console. The zero value is not usable; build one
// with New.
type Handler struct {
	assets  map[string]asset // by name relative to static/, e.g. "app.js"
	modTime time.Time        // the handler's start: assets change only with the binary
}

// New loads the embedded assets. It fails only on a broken build (an
// asset with an extension the console has no content type for, or no
// index page).
func New() (*Handler, error) {
	h := &Handler{assets: map[string]asset{}, modTime: time.Now()}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return fmt.Errorf("console: asset %s: no content type for %q", p, path.Ext(p))
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return fmt.Errorf("console: read asset %s: %w", p, err)
		}
		sum := sha256.Sum256(body)
		h.assets[strings.TrimPrefix(p, "static/")] = asset{
			body:        body,
			contentType: ct,
			etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := h.assets[indexFile]; !ok {
		return nil, ErrNoIndex
	}
	return h, nil
}

// ServeHTTP answers GET and HEAD: the page at "/" and Prefix, an asset at
// Prefix+name, and a JSON not_found error (the API's error shape) for
// anything else.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, wire.Errorf(wire.CodeMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
		return
	}
	name, ok := assetName(r.URL.Path)
	a, found := h.assets[name]
	if !ok || !found {
		writeError(w, wire.Errorf(wire.CodeNotFound, "no console asset at %s", r.URL.Path))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("ETag", a.etag)
	// Revalidate every time: a node upgrade changes the assets, and the
	// ETag makes an unchanged asset a 304.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	if name == indexFile {
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Frame-Options", "DENY")
	}
	http.ServeContent(w, r, name, h.modTime, bytes.NewReader(a.body))
}

// assetName maps a request path to an asset name; ok is false for paths
// outside the console.
func assetName(p string) (name string, ok bool) {
	if p == "/" || p == Prefix {
		return indexFile, true
	}
	rest, ok := strings.CutPrefix(p, Prefix)
	if !ok || rest == "" || strings.Contains(rest, "..") || strings.HasPrefix(rest, "/") {
		return "", false
	}
	return rest, true
}

// writeError writes the API's error body, {"error":{"code","message"}},
// with the code's status, so clients of a node see one error format.
func writeError(w http.ResponseWriter, e *wire.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Code.HTTPStatus())
	_ = json.NewEncoder(w).Encode(wire.ErrorResponse{Error: e})
}

// Router is what Mount registers routes on: a node's API server
// (*httpapi.Server) or an *http.ServeMux. Patterns use Go 1.22 ServeMux
// syntax.
type Router interface {
	Handle(pattern string, h http.Handler)
}

// Routes are the patterns Mount registers: the page at exactly "/", and
// everything under Prefix.
var Routes = []string{"GET /{$}", "GET " + Prefix}

// Mount builds a Handler and registers it on r for Routes.
func Mount(r Router) error {
	h, err := New()
	if err != nil {
		return err
	}
	for _, p := range Routes {
		r.Handle(p, h)
	}
	return nil
}
