package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/platform/meta"
)

// versionFile, in the partitions directory, holds the metadata version the
// set of topic directories was last reconciled with. On start the broker
// acts on no older snapshot: a controller that has not yet replayed its
// log must not make the broker delete a topic it merely has not seen yet.
const versionFile = "metadata-version"

// prepareDir creates the partitions directory and returns the version floor.
func (b *Broker) prepareDir() (uint64, error) {
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return 0, fmt.Errorf("create partitions directory: %w", err)
	}
	raw, err := os.ReadFile(filepath.Join(b.dir, versionFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", versionFile, err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s %q: %w", versionFile, raw, err)
	}
	return v, nil
}

func (b *Broker) writeVersion(v uint64) error {
	path := filepath.Join(b.dir, versionFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.FormatUint(v, 10)+"\n"), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", versionFile, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", versionFile, err)
	}
	return nil
}

func topicDir(base string, t *meta.Topic) string {
	return filepath.Join(base, t.Name+"-"+t.ID)
}

func partitionPath(dir string, index int32) string {
	return filepath.Join(dir, strconv.Itoa(int(index))+".db")
}

func logOptions(cfg meta.TopicConfig) LogOptions {
	return LogOptions{
		Sync:           cfg.Durability != meta.DurabilityReplicated,
		MaxRecordBytes: cfg.MaxMessageBytes,
		RetentionMs:    cfg.RetentionMs,
		RetentionBytes: cfg.RetentionBytes,
	}
}

// apply makes the broker's replicas match snapshot c: topics gone (or
// re-created under a new ID) are closed, and their files deleted if c holds
// the tombstone of a DeleteTopic for their ID; new assignments are opened,
// roles and configuration follow the metadata. sweep also deletes
// directories of topics deleted (by a tombstoned DeleteTopic) while this
// node was down.
func (b *Broker) apply(ctx context.Context, c *meta.Cluster, sweep bool) error {
	b.applyMu.Lock()
	defer b.applyMu.Unlock()
	b.mu.RLock()
	old, closed := b.topics, b.closed
	b.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	var errs []error
	next := make(map[string]*topic, len(c.Topics))
	topicsChanged := false

	var removed []*topic
	for name, t := range old {
		if nt, ok := c.Topics[name]; ok && nt.ID == t.meta.ID {
			continue
		}
		topicsChanged = true
		removed = append(removed, t)
	}

	for name, mt := range c.Topics {
		cur := old[name]
		if cur != nil && cur.meta.ID != mt.ID {
			cur = nil // re-created: the old one is removed below
		}
		t, err := b.applyTopic(ctx, cur, mt, c)
		if err != nil {
			errs = append(errs, err)
		}
		if t != nil {
			next[name] = t
		}
		if cur == nil {
			topicsChanged = true
		}
	}

	// Publish first, then close what went away: a request that wakes up
	// because its replica closed must already find the topic gone.
	b.mu.Lock()
	b.topics, b.cluster = next, c
	b.mu.Unlock()
	for _, t := range removed {
		errs = append(errs, b.dropTopic(t, c))
	}
	if sweep {
		errs = append(errs, b.sweep(next, c))
	}
	if topicsChanged || sweep {
		errs = append(errs, b.writeVersion(c.Version))
	}
	b.updateFetchers()
	b.kickISR() // new leaderships, or a topic with a shorter lag limit
	b.mu.Lock()
	b.version = c.Version
	b.mu.Unlock()
	b.applied.Notify()
	return errors.Join(errs...)
}

// applyTopic returns the topic as it must be after c: the same partitions
// where nothing changed, new ones opened, dropped ones closed.
func (b *Broker) applyTopic(ctx context.Context, cur *topic, mt *meta.Topic, c *meta.Cluster) (*topic, error) {
	if !meta.ValidTopicName(mt.Name) || !meta.ValidTopicID(mt.ID) {
		// The directory is <partitions>/<name>-<id>: metadata that would
		// make it a path elsewhere is refused, whatever its origin.
		return nil, fmt.Errorf("topic %q id %q: not usable as a directory name; its replicas are not opened", mt.Name, mt.ID)
	}
	t := &topic{meta: mt, dir: topicDir(b.dir, mt), parts: make([]*partition, len(mt.Partitions)), broken: map[int32]error{}}
	if cur != nil {
		copy(t.parts, cur.parts)
		t.part = cur.part
	}
	resolved := resolvedPluginVersion(mt.Partitioner, c)
	if t.part == nil || !reflect.DeepEqual(t.part.spec, mt.Partitioner) || t.part.plugin != resolved {
		t.part = &topicPartitioner{spec: mt.Partitioner, plugin: resolved, plugins: b.cfg.Plugins}
	}
	opts := logOptions(mt.Config)

	var errs []error
	var toOpen []int32
	for i := range mt.Partitions {
		a := &mt.Partitions[i]
		mine := a.IsReplica(meta.NodeID(b.cfg.NodeID))
		p := t.parts[i]
		switch {
		case mine && p == nil:
			toOpen = append(toOpen, int32(i))
		case !mine && p != nil:
			// Moved away: the data now lives on the new replicas.
			errs = append(errs, p.close(), removeFile(p.path), removeFile(p.path+createdSuffix))
			t.parts[i] = nil
		case mine:
			if err := p.reconfigure(opts); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// Partitions past the new count (a shrink cannot happen today; keep
	// the rule anyway): close them.
	if cur != nil {
		for _, p := range cur.parts[min(len(cur.parts), len(mt.Partitions)):] {
			if p != nil {
				errs = append(errs, p.close())
			}
		}
	}
	if len(toOpen) > 0 {
		if err := os.MkdirAll(t.dir, 0o755); err != nil {
			return t, fmt.Errorf("create %s: %w", t.dir, err)
		}
		errs = append(errs, b.openAll(t, toOpen, opts))
	}
	registered := b.registeredIn(c)
	for i, p := range t.parts {
		if p != nil {
			errs = append(errs, p.assign(&mt.Partitions[i], registered))
		}
	}
	return t, errors.Join(errs...)
}

// openAll opens the listed partitions of t, OpenConcurrency at a time:
// bbolt's open is mostly waiting for the disk, so a node with a thousand
// replicas starts in a fraction of the time a serial loop takes.
func (b *Broker) openAll(t *topic, indexes []int32, opts LogOptions) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, b.cfg.OpenConcurrency)
	)
	for _, i := range indexes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			path := partitionPath(t.dir, i)
			l, lost, err := b.openReplica(path, opts)
			var p *partition
			if err == nil {
				p = newPartition(t.meta.Name, i, b.cfg.NodeID, path, l, b.cfg.OpenLog, opts, b.ret)
				p.lost = lost
			} else {
				err = fmt.Errorf("open %s-%d at %s: %w", t.meta.Name, i, path, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				t.broken[i] = err
				return
			}
			t.parts[i] = p
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// removeTopic closes a deleted topic's replicas and deletes its files.
func (b *Broker) removeTopic(t *topic) error {
	var parts []*partition
	for _, p := range t.parts {
		if p != nil {
			parts = append(parts, p)
		}
	}
	errs := []error{closeParallel(parts, b.cfg.OpenConcurrency)}
	if err := os.RemoveAll(t.dir); err != nil {
		errs = append(errs, fmt.Errorf("delete topic %s files: %w", t.meta.Name, err))
	}
	b.log.Info("topic removed", "topic", t.meta.Name, "id", t.meta.ID)
	return errors.Join(errs...)
}

// sweep deletes the directories of topics that c says a DeleteTopic
// deleted (by topic ID) and that no topic in keep owns; directories of
// topics c merely does not have are kept (see deletion.go).
func (b *Broker) sweep(keep map[string]*topic, c *meta.Cluster) error {
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return fmt.Errorf("list partitions directory: %w", err)
	}
	live := make(map[string]bool, len(keep))
	for _, t := range keep {
		live[filepath.Base(t.dir)] = true
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || live[e.Name()] {
			continue
		}
		if !deletedDir(e.Name(), c) {
			b.log.Warn("keeping files of a topic the metadata does not have but no DeleteTopic deleted", "dir", e.Name())
			continue
		}
		b.log.Info("deleting files of a deleted topic", "dir", e.Name())
		if err := os.RemoveAll(filepath.Join(b.dir, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("delete orphan %s: %w", e.Name(), err))
		}
	}
	return errors.Join(errs...)
}

func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete replica file: %w", err)
	}
	return nil
}

// resolvedPluginVersion is the plugin version a wasm spec means in c (its
// own version, or the latest), 0 for built-in partitioners. A new upload
// thus rebuilds the partitioners of topics that follow "latest".
func resolvedPluginVersion(spec meta.PartitionerSpec, c *meta.Cluster) int {
	if spec.Name != meta.PartitionerWasm {
		return 0
	}
	if spec.Version != 0 {
		return spec.Version
	}
	if v, err := c.PluginVersion(spec.Plugin, 0); err == nil {
		return v.Version
	}
	return 0
}
