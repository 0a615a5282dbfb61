package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/storage"
)

// Replica identity (docs/replication.md, "Replica identity"):
//
//   - The partitions directory carries a directory id, created with the
//     directory. The broker sends it in every heartbeat; the controller
//     records it in the broker's metadata, and a new one makes every
//     replica of the broker a new, empty one (meta.RegisterBroker).
//   - Until the metadata carries this broker's directory id, the broker
//     takes no role: it leads nothing and follows nothing, so an empty
//     log never answers a follower as a leader would.
//   - A replica whose file is damaged (storage.ErrCorrupt) is moved aside,
//     and one whose file is missing or empty although this directory
//     created it (its marker file is there) starts empty; either is
//     reported lost (meta.ReplicaLost) and takes no role until the
//     metadata shows it out of the ISR; then it follows and catches up
//     like any new replica.

// dirIDFile, in the partitions directory, holds the directory id.
const dirIDFile = "directory-id"

// createdSuffix marks a replica file this directory created: <N>.db.created.
const createdSuffix = ".created"

// loadDirID returns the directory id of dir, creating one if there is none.
func loadDirID(dir string) (string, bool, error) {
	path := filepath.Join(dir, dirIDFile)
	raw, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(raw))
		if id != "" {
			return id, false, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("read directory id: %w", err)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", false, fmt.Errorf("new directory id: %w", err)
	}
	id := hex.EncodeToString(b[:])
	if err := writeSynced(path, []byte(id+"\n")); err != nil {
		return "", false, fmt.Errorf("write directory id: %w", err)
	}
	return id, true, nil
}

// writeSynced writes path atomically and durably (temp file, fsync,
// rename, fsync of the directory).
func writeSynced(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// DirID is this broker's data-directory id.
func (b *Broker) DirID() string { return b.dirID }

// BrokerEpoch is the broker epoch of the last heartbeat reply (0 before).
func (b *Broker) BrokerEpoch() int64 { return b.epoch.Load() }

// Registered reports whether the applied metadata knows this broker as
// alive with its current directory id: only then does it take roles.
// Without heartbeats (Config.Heartbeat nil) nothing is checked.
func (b *Broker) Registered() bool { return b.registeredIn(b.Cluster()) }

func (b *Broker) registeredIn(c *meta.Cluster) bool {
	if b.cfg.Heartbeat == nil {
		return true
	}
	me, ok := c.Broker(meta.NodeID(b.cfg.NodeID))
	return ok && me.Alive() && me.DirID == b.dirID
}

// ReplicaState is the identity state of one replica opening, as the
// plain decision replicaOpenState makes it.
type ReplicaState int

const (
	// ReplicaNew: no file and no marker: a replica this directory never
	// held; it starts empty with nothing lost.
	ReplicaNew ReplicaState = iota
	// ReplicaExisting: the file is there with content.
	ReplicaExisting
	// ReplicaVanished: the marker says this directory created the replica
	// but the file is missing or empty: its data is lost.
	ReplicaVanished
)

// ReplicaOpenState decides what a replica file is, from whether the file
// exists, its size and whether its creation marker exists.
func ReplicaOpenState(fileExists bool, size int64, marker bool) ReplicaState {
	switch {
	case fileExists && size > 0:
		return ReplicaExisting
	case marker:
		return ReplicaVanished
	default:
		return ReplicaNew
	}
}

// openReplica opens the log at path as the identity rules say: it returns
// the log and, when the replica's data was lost (damaged, vanished), why.
func (b *Broker) openReplica(path string, opts LogOptions) (Log, string, error) {
	fi, statErr := os.Stat(path)
	_, markErr := os.Stat(path + createdSuffix)
	state := ReplicaOpenState(statErr == nil, sizeOf(fi), markErr == nil)
	var lost string
	switch state {
	case ReplicaNew:
		if err := writeSynced(path+createdSuffix, nil); err != nil {
			return nil, "", fmt.Errorf("mark new replica %s: %w", path, err)
		}
	case ReplicaExisting:
		if markErr != nil {
			// A file from before markers existed: mark it now, so that
			// its loss is noticed from here on.
			if err := writeSynced(path+createdSuffix, nil); err != nil {
				return nil, "", fmt.Errorf("mark replica %s: %w", path, err)
			}
		}
	case ReplicaVanished:
		lost = "replica file missing or empty although this directory created it"
		if statErr == nil {
			lost = "replica file empty although this directory created it"
		}
	}
	l, err := b.cfg.OpenLog(path, opts.storageOpts())
	if err == nil {
		return l, lost, nil
	}
	if !errors.Is(err, storage.ErrCorrupt) {
		return nil, "", err
	}
	aside := fmt.Sprintf("%s.damaged-%d", path, time.Now().UnixNano())
	if rerr := os.Rename(path, aside); rerr != nil {
		return nil, "", fmt.Errorf("move damaged replica %s aside: %w (open: %w)", path, rerr, err)
	}
	b.log.Error("damaged replica file moved aside; the replica is rebuilt from its leader",
		"file", path, "moved_to", aside, "err", err)
	l, err2 := b.cfg.OpenLog(path, opts.storageOpts())
	if err2 != nil {
		return nil, "", fmt.Errorf("open %s after moving the damaged file aside: %w", path, err2)
	}
	return l, "damaged: " + err.Error(), nil
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return 0
	}
	return fi.Size()
}

// maskedAssignment is the assignment a replica acts on: a copy without a
// leader (no role at all) while the broker is not registered with its
// directory id, or while the replica's loss is not yet in the metadata.
func maskedAssignment(a *meta.Partition) *meta.Partition {
	m := *a
	m.Leader = meta.NoLeader
	return &m
}

// reportLost proposes meta.ReplicaLost for every local replica whose loss
// the metadata does not show yet.
func (b *Broker) reportLost(ctx context.Context) {
	c := b.Cluster()
	me, ok := c.Broker(meta.NodeID(b.cfg.NodeID))
	if !ok || !me.Alive() || !b.registeredIn(c) {
		return
	}
	b.mu.RLock()
	topics := b.topics
	b.mu.RUnlock()
	for _, t := range topics {
		for _, p := range t.parts {
			if p == nil {
				continue
			}
			reason := p.lostReason()
			if reason == "" {
				continue
			}
			cmd := meta.Command{Op: meta.OpReplicaLost, ReplicaLost: &meta.ReplicaLost{
				Broker: meta.NodeID(b.cfg.NodeID), BrokerEpoch: me.Epoch,
				Topic: p.topic, Partition: p.index, Reason: reason,
			}}
			pctx, cancel := context.WithTimeout(ctx, isrProposeTimeout)
			_, err := b.cfg.Propose(pctx, cmd)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				b.log.Warn("report lost replica", "partition", p.String(), "err", err)
				continue
			}
			b.log.Warn("reported lost replica; it takes no role until it has caught up", "partition", p.String(), "reason", reason)
		}
	}
}
