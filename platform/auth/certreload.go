package auth

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// DefaultCertCheckInterval is how often CertReloader looks at its files
// (on the next handshake after the interval, never from a goroutine).
const DefaultCertCheckInterval = time.Second

// CertReloader serves a certificate and key pair from files and picks up
// new ones without a restart: GetCertificate, on a handshake at least
// CheckInterval after the last look, compares the files' modification
// times and sizes and loads the pair again when they changed; Reload
// does so at once (SIGHUP). A pair that fails to load (a half-written
// file) is logged and the previous certificate kept, so rotation never
// takes the listener down.
type CertReloader struct {
	certFile, keyFile string
	interval          time.Duration
	now               func() time.Time
	log               *slog.Logger

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     [2]fileStamp
	lastCheck time.Time
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// NewCertReloader loads the pair once (an error if it cannot) and returns
// the reloader. interval 0 means DefaultCertCheckInterval; now nil the
// wall clock; log nil slog.Default().
func NewCertReloader(certFile, keyFile string, interval time.Duration, now func() time.Time, log *slog.Logger) (*CertReloader, error) {
	if interval <= 0 {
		interval = DefaultCertCheckInterval
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	r := &CertReloader{certFile: certFile, keyFile: keyFile, interval: interval, now: now, log: log}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload loads the pair from the files now.
func (r *CertReloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.load()
}

func (r *CertReloader) load() error {
	stamp, err := r.stamps()
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("load tls certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert, r.stamp, r.lastCheck = &cert, stamp, r.now()
	return nil
}

func (r *CertReloader) stamps() ([2]fileStamp, error) {
	var out [2]fileStamp
	for i, f := range []string{r.certFile, r.keyFile} {
		st, err := os.Stat(f)
		if err != nil {
			return out, fmt.Errorf("tls certificate: %w", err)
		}
		out[i] = fileStamp{mod: st.ModTime(), size: st.Size()}
	}
	return out, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.lastCheck) >= r.interval {
		r.lastCheck = now
		if stamp, err := r.stamps(); err == nil && stamp != r.stamp {
			if err := r.load(); err != nil {
				r.log.Warn("tls certificate changed but does not load; serving the previous one", "err", err)
			} else {
				r.log.Info("tls certificate reloaded", "cert", r.certFile)
			}
		}
	}
	return r.cert, nil
}

// Certificate returns the certificate served now.
func (r *CertReloader) Certificate() *tls.Certificate {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cert
}
