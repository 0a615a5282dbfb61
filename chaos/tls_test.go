package chaos

import (
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/sdk/client"
)

// The secure setup of every harness cluster, made once per test binary by
// TestMain with the built binary's own commands, as an operator would:
// tlsDir holds the cluster CA, the gossip key and a certificate per node
// id; adminTokenFile the bootstrap admin's token, given to every node
// (--bootstrap-admin-token-file), so whichever node bootstraps
// authentication creates the admin with it; adminToken is that token,
// which every client of the harness presents.
var (
	clientTLS      *tls.Config // trusts the cluster CA
	tlsDir         string
	adminTokenFile string
	adminToken     string
)

// certNodes is how many node ids get a certificate: the three of a
// cluster, the join-leave fault's fourth, and spares.
const certNodes = 6

// writeSecurity creates the TLS directory and the admin token under dir
// with `sluice cert ca`, `sluice cert gossip-key`, `sluice cert node` (one
// per id, with the node's listen and fabric hosts as SANs besides
// loopback) and `sluice user gen-token`.
func writeSecurity(bin, dir string) error {
	tlsDir = filepath.Join(dir, "tls")
	run := func(args ...string) ([]byte, error) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("sluice %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return out, nil
	}
	if _, err := run("cert", "ca", "--dir", tlsDir, "--name", "Sluice chaos CA"); err != nil {
		return err
	}
	if _, err := run("cert", "gossip-key", "--dir", tlsDir); err != nil {
		return err
	}
	for id := int32(1); id <= certNodes; id++ {
		if _, err := run("cert", "node", "--dir", tlsDir, "--id", strconv.Itoa(int(id)),
			"--host", realHost(id), "--host", proxyHost(id)); err != nil {
			return err
		}
	}
	cfg, err := client.TLSFiles{CAFile: filepath.Join(tlsDir, "ca.crt")}.Config()
	if err != nil {
		return err
	}
	clientTLS = cfg
	// `sluice user gen-token` prints the token alone on stdout.
	cmd := exec.Command(bin, "user", "gen-token")
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("sluice user gen-token: %w", err)
	}
	adminToken = strings.TrimSpace(string(out))
	adminTokenFile = filepath.Join(dir, "admin-token")
	return os.WriteFile(adminTokenFile, []byte(adminToken+"\n"), 0o600)
}
