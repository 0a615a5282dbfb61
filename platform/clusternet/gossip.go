package clusternet

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// GossipKeySize is the size of a serf gossip encryption key: 32 bytes
// selects AES-256-GCM.
const GossipKeySize = 32

// NewGossipKey returns a fresh random gossip key, base64-encoded (the form
// serf's keyring and `sluice cluster keyring install` take).
func NewGossipKey() string {
	var b [GossipKeySize]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.StdEncoding.EncodeToString(b[:])
}

// DecodeGossipKey decodes a base64 gossip key of 16, 24 or 32 bytes.
func DecodeGossipKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("gossip key: not base64: %w", err)
	}
	switch len(k) {
	case 16, 24, 32:
		return k, nil
	}
	return nil, fmt.Errorf("gossip key: %d bytes, want 16, 24 or 32", len(k))
}

// ReadGossipKeys reads a gossip key file: one base64 key per line (blank
// lines and lines starting with # are skipped); the first is the primary
// key, used to encrypt, the others are accepted for decryption.
func ReadGossipKeys(path string) ([][]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read gossip key file: %w", err)
	}
	var keys [][]byte
	for i, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := DecodeGossipKey(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, i+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no gossip key", path)
	}
	return keys, nil
}

// WriteGossipKey writes a new gossip key file (0600) at path, refusing to
// overwrite one.
func WriteGossipKey(path string) error {
	return writeNew(path, []byte(NewGossipKey()+"\n"), 0o600)
}

// DevDir makes dir a complete development TLS directory, once: a CA with
// its key and a gossip key (files already there are kept). Nodes given
// Files{CA, CAKey} of it issue their own certificates at start.
func DevDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, CAFileName)); os.IsNotExist(err) {
		ca, err := NewCA("Sluice development CA")
		if err != nil {
			return err
		}
		if err := WriteCA(dir, ca); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("development TLS directory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, GossipFileName)); os.IsNotExist(err) {
		return WriteGossipKey(filepath.Join(dir, GossipFileName))
	} else if err != nil {
		return fmt.Errorf("development TLS directory: %w", err)
	}
	return nil
}

// DirFiles names the files of node id in a TLS directory written by
// `sluice cert`: the node's own certificate when present, else the CA key
// (the node issues its own), and the gossip key file when present ("" if
// not).
func DirFiles(dir string, id int32) (files Files, gossipKeyFile string) {
	files.CA = filepath.Join(dir, CAFileName)
	cert, key := filepath.Join(dir, NodeCertFileName(id)), filepath.Join(dir, NodeKeyFileName(id))
	if exists(cert) {
		files.Cert, files.Key = cert, key
	} else if exists(filepath.Join(dir, CAKeyFileName)) {
		files.CAKey = filepath.Join(dir, CAKeyFileName)
	}
	if exists(filepath.Join(dir, GossipFileName)) {
		gossipKeyFile = filepath.Join(dir, GossipFileName)
	}
	return files, gossipKeyFile
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
