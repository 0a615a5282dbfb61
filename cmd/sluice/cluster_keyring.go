package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/urfave/cli/v2"
)

// keyringCommand rotates the gossip keys through a node's cluster
// listener, which only node certificates of the cluster CA reach.
func keyringCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "cluster-server", EnvVars: []string{"SLUICE_CLUSTER_SERVER"}, Value: "https://" + platform.DefaultClusterAddr, Usage: "base `URL` of a node's cluster listener"},
		&cli.StringFlag{Name: "tls-dir", EnvVars: []string{"SLUICE_TLS_DIR"}, Usage: "`DIR` with ca.crt and node-<id>.crt/.key (or ca.key: a short-lived node certificate is issued)"},
		&cli.IntFlag{Name: "node-id", Usage: "whose certificate in --tls-dir to present"},
		&cli.StringFlag{Name: "cluster-ca", Usage: "cluster CA certificate `FILE`"},
		&cli.StringFlag{Name: "cluster-cert", Usage: "node certificate `FILE`"},
		&cli.StringFlag{Name: "cluster-key", Usage: "node key `FILE`"},
	}
	key := func(c *cli.Context) (string, error) {
		if c.NArg() != 1 {
			return "", fmt.Errorf("want one argument: the base64 key")
		}
		return c.Args().First(), nil
	}
	change := func(op membership.KeyringOp) cli.ActionFunc {
		return func(c *cli.Context) error {
			k, err := key(c)
			if err != nil {
				return err
			}
			return keyringCall(c, op, k)
		}
	}
	return &cli.Command{
		Name:  "keyring",
		Usage: "list and rotate the gossip encryption keys of every member",
		Description: "Rotation: install the new key everywhere, make it primary, remove the old one:\n" +
			"   K=$(sluice cert gossip-key --print)\n" +
			"   sluice cluster keyring install $K --tls-dir tls --node-id 1\n" +
			"   sluice cluster keyring use $K --tls-dir tls --node-id 1\n" +
			"   sluice cluster keyring remove OLD --tls-dir tls --node-id 1\n" +
			"Each step runs on every member serf knows; members keep the keyring in\n" +
			"DATA_DIR/serf-keyring.json across restarts.",
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "keys installed on the members (and how many hold each)", Flags: flags,
				Action: func(c *cli.Context) error { return keyringCall(c, membership.KeyringList, "") }},
			{Name: "install", Usage: "install KEY on every member", ArgsUsage: "KEY", Flags: flags, Action: change(membership.KeyringInstall)},
			{Name: "use", Usage: "make KEY the primary (encrypting) key", ArgsUsage: "KEY", Flags: flags, Action: change(membership.KeyringUse)},
			{Name: "remove", Usage: "remove KEY (not the primary) from every member", ArgsUsage: "KEY", Flags: flags, Action: change(membership.KeyringRemove)},
		},
	}
}

// clusterTLSClient builds the HTTP client that presents a node
// certificate, from the keyring command's flags.
func clusterTLSClient(c *cli.Context) (*http.Client, error) {
	files := clusternet.Files{CA: c.String("cluster-ca"), Cert: c.String("cluster-cert"), Key: c.String("cluster-key")}
	id := int32(c.Int("node-id"))
	if dir := c.String("tls-dir"); dir != "" {
		df, _ := clusternet.DirFiles(dir, id)
		if files.CA == "" {
			files.CA = df.CA
		}
		if files.Cert == "" {
			files.Cert, files.Key, files.CAKey = df.Cert, df.Key, df.CAKey
		}
	}
	if files.CA == "" {
		return nil, fmt.Errorf("the cluster listener needs a node certificate: give --tls-dir (and --node-id) or --cluster-ca, --cluster-cert and --cluster-key")
	}
	var (
		t   *clusternet.TLS
		err error
	)
	if files.Cert != "" {
		// Whichever node the certificate names.
		var ca, cert, key []byte
		if ca, err = os.ReadFile(files.CA); err == nil {
			if cert, err = os.ReadFile(files.Cert); err == nil {
				key, err = os.ReadFile(files.Key)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("cluster TLS: %w", err)
		}
		t, err = clusternet.New(ca, cert, key)
	} else {
		t, err = clusternet.Load(files, id, clusternet.Issue{})
	}
	if err != nil {
		return nil, err
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: t.ClientConfig()}}, nil
}

func keyringCall(c *cli.Context, op membership.KeyringOp, key string) error {
	base := strings.TrimSuffix(c.String("cluster-server"), "/")
	if !strings.Contains(base, "://") {
		base = "https://" + base
	}
	client := http.DefaultClient
	if strings.HasPrefix(base, "https://") {
		var err error
		if client, err = clusterTLSClient(c); err != nil {
			return err
		}
	}
	var req *http.Request
	var err error
	if op == membership.KeyringList {
		req, err = http.NewRequestWithContext(c.Context, http.MethodGet, base+"/internal/v1/keyring", nil)
	} else {
		body, _ := json.Marshal(platform.KeyringRequest{Op: op, Key: key})
		req, err = http.NewRequestWithContext(c.Context, http.MethodPost, base+"/internal/v1/keyring", bytes.NewReader(body))
		if req != nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		return err
	}
	if base[:5] == "http:" {
		// A plain cluster plane (--insecure) takes the claimed node id.
		req.Header.Set(clusternet.NodeHeader, fmt.Sprint(c.Int("node-id")))
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("keyring %s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("keyring %s: %w", op, err)
	}
	var ans struct {
		membership.KeyringStatus
		Error *json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return fmt.Errorf("keyring %s: status %d: %.200s", op, resp.StatusCode, raw)
	}
	if wantJSON(c) {
		if err := printJSON(c.App.Writer, json.RawMessage(raw)); err != nil {
			return err
		}
	} else {
		printKeyring(c.App.Writer, op, ans.KeyringStatus)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("keyring %s: status %d: %s", op, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	return nil
}

func printKeyring(w io.Writer, op membership.KeyringOp, st membership.KeyringStatus) {
	fmt.Fprintf(w, "%s: %d of %d members answered, %d failed\n", op, st.Responses, st.Nodes, st.Errors)
	keys := make([]string, 0, len(st.Keys))
	for k := range st.Keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		primary := ""
		if n := st.PrimaryKeys[k]; n > 0 {
			primary = fmt.Sprintf(" (primary on %d)", n)
		}
		fmt.Fprintf(w, "  %s  on %d members%s\n", k, st.Keys[k], primary)
	}
	names := make([]string, 0, len(st.Messages))
	for n := range st.Messages {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %s: %s\n", n, st.Messages[n])
	}
}

func mkdirPrivate(dir string) error {
	if err := os.MkdirAll(filepath.Clean(dir), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}
