package storage

import (
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Janitor applies retention to many logs from one goroutine, and
// checkpoints their high watermarks on the same tick.
type Janitor struct {
	interval time.Duration
	log      *slog.Logger

	mu   sync.Mutex
	logs map[*Log]Retention

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// NewJanitor starts a janitor that visits its logs every interval (default
// one minute if interval <= 0). logger may be nil for slog.Default(). Close
// stops it.
func NewJanitor(interval time.Duration, logger *slog.Logger) *Janitor {
	if interval <= 0 {
		interval = time.Minute
	}
	if logger == nil {
		logger = slog.Default()
	}
	j := &Janitor{
		interval: interval,
		log:      logger,
		logs:     make(map[*Log]Retention),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go j.run()
	return j
}

// Add puts l under the janitor's care with retention r (or changes its
// retention if it is already there).
func (j *Janitor) Add(l *Log, r Retention) {
	j.mu.Lock()
	j.logs[l] = r
	j.mu.Unlock()
}

// Update changes the retention of l; it is Add under a name that reads
// well when a topic's configuration changes.
func (j *Janitor) Update(l *Log, r Retention) { j.Add(l, r) }

// Remove takes l out of the janitor's care. A sweep already running may
// still visit it; call Remove before closing the log to keep the log quiet.
func (j *Janitor) Remove(l *Log) {
	j.mu.Lock()
	delete(j.logs, l)
	j.mu.Unlock()
}

// Close stops the janitor and waits for its goroutine.
func (j *Janitor) Close() {
	j.once.Do(func() { close(j.stop) })
	<-j.done
}

func (j *Janitor) run() {
	defer close(j.done)
	t := time.NewTicker(j.interval)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
			j.sweep()
		}
	}
}

// sweep visits every log once. A closed log is dropped from the set.
func (j *Janitor) sweep() {
	j.mu.Lock()
	work := make(map[*Log]Retention, len(j.logs))
	for l, r := range j.logs {
		work[l] = r
	}
	j.mu.Unlock()
	for l, r := range work {
		select {
		case <-j.stop:
			return
		default:
		}
		n, err := l.ApplyRetention(l.opts.Now(), r)
		if err == nil {
			err = l.CheckpointHighWatermark()
		}
		switch {
		case errors.Is(err, ErrClosed):
			j.Remove(l)
		case err != nil:
			j.log.Error("retention failed", "log", l.Path(), "err", err)
		case n > 0:
			j.log.Info("retention removed batches", "log", l.Path(), "batches", n, "start", l.StartOffset())
		}
	}
}
