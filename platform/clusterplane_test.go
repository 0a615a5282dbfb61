package platform_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// testCA is the CA of testnode's TLS directory (with its key).
func testCA(t *testing.T) *clusternet.CA {
	t.Helper()
	dir := testnode.TLSDir(t)
	ca, err := clusternet.LoadCA(filepath.Join(dir, clusternet.CAFileName), filepath.Join(dir, clusternet.CAKeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// clientWith is an HTTPS client that trusts roots and presents is (no
// certificate when is is empty).
func clientWith(t *testing.T, roots *clusternet.CA, is clusternet.Issued) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(roots.Cert)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if is.CertPEM != nil {
		c, err := tls.X509KeyPair(is.CertPEM, is.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func issueNode(t *testing.T, ca *clusternet.CA, id int32) clusternet.Issued {
	t.Helper()
	is, err := ca.IssueNode(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return is
}

// routeURL turns a route pattern into a method and a URL on base.
func routeURL(base, pattern string) (string, string) {
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.NewReplacer("{topic}", "t", "{partition}", "0", "{group}", "g", "{name}", "n").Replace(path)
	return method, base + path
}

func send(c *http.Client, method, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// TestClusterPlaneRefusesNonNodes: every node-to-node route, whoever
// registered it, is absent from the public listener (404) and refuses on
// the cluster listener a client without a certificate, one whose
// certificate another CA signed, and a client (not node) certificate of
// the cluster's own CA. A node certificate of the cluster CA gets through.
func TestClusterPlaneRefusesNonNodes(t *testing.T) {
	n := testnode.Start(t)
	ca := testCA(t)
	other, err := clusternet.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	clientCert, err := ca.IssueClient("alice")
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]*http.Client{
		"plain http":                   http.DefaultClient,
		"no certificate":               clientWith(t, ca, clusternet.Issued{}),
		"node certificate of other CA": clientWith(t, ca, issueNode(t, other, 1)),
		"client certificate":           clientWith(t, ca, clientCert),
	}
	node := clientWith(t, ca, issueNode(t, ca, 7))
	routes := n.API().InternalRoutes()
	if len(routes) < 6 {
		t.Fatalf("only %d internal routes registered: %v", len(routes), routes)
	}
	for _, pattern := range routes {
		method, public := routeURL(n.URL(), pattern)
		st, _, err := send(http.DefaultClient, method, public, nil)
		if err != nil || st != http.StatusNotFound {
			t.Errorf("%s on the public listener: %d %v, want 404", pattern, st, err)
		}
		_, url := routeURL(n.ClusterURL(), pattern)
		for name, c := range refused {
			u := url
			if c == http.DefaultClient {
				u = strings.Replace(url, "https://", "http://", 1)
			}
			st, raw, err := send(c, method, u, nil)
			if err == nil && st < 400 {
				t.Errorf("%s with %s: %d %s, want refused", pattern, name, st, raw)
			}
		}
		// Served: anything but forbidden and the router's not_found (a
		// 404 unknown_topic is the route's own answer about topic "t").
		if st, raw, err := send(node, method, url, nil); err != nil || st == http.StatusForbidden ||
			(st == http.StatusNotFound && bytes.Contains(raw, []byte(`"code":"not_found"`))) {
			t.Errorf("%s with a node certificate: %d %s %v, want it served", pattern, st, raw, err)
		}
	}
}

// secondBroker starts node 2, a broker whose cluster-plane CA is not the
// cluster's (it has the gossip key, so serf shows it and the controller
// registers it and places replicas on it, but it can never fetch them).
func secondBroker(t *testing.T, first *testnode.Node) {
	t.Helper()
	dir := t.TempDir()
	if err := clusternet.DevDir(dir); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(testnode.TLSDir(t), clusternet.GossipFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, clusternet.GossipFileName)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, clusternet.GossipFileName), key, 0o600); err != nil {
		t.Fatal(err)
	}
	testnode.Start(t, testnode.WithConfig(func(c *platform.Config) {
		c.NodeID = 2
		c.Roles = []string{platform.RoleBroker}
		c.Join = []string{first.Config.SerfAddr}
		c.BootstrapExpect = 0
		c.ClusterTLSDir = dir
	}))
	eventually(t, "node 2 registered", func() (bool, string) {
		b, ok := first.Controller().Metadata().Broker(2)
		return ok && b.Alive(), "not alive"
	})
}

// TestForgedReplicaFetchIsRefused: the leader counts a follower's fetch
// only from that follower. Node 2 holds a replica it cannot fetch (its
// CA is not the cluster's), so the HW waits for it; a fetch posing as node
// 2 with node 3's valid certificate is refused and does not move the HW,
// nor does node 3 fetching as itself a partition it holds no replica of.
// The same fetch with node 2's own certificate moves it: the identity
// check is what held it.
func TestForgedReplicaFetchIsRefused(t *testing.T) {
	slowShrink := testnode.WithConfig(func(c *platform.Config) { c.Timing.ReplicaLagMax = time.Hour })
	n1 := testnode.Start(t, slowShrink)
	secondBroker(t, n1)
	a1 := api{t, n1.URL()}
	a1.json("POST", "/v1/topics", wire.CreateTopicRequest{Name: "f", Partitions: 2, ReplicationFactor: 2}, nil)
	var p meta.Partition
	eventually(t, "a partition led by node 1 on its broker", func() (bool, string) {
		tp, ok := n1.Broker().Cluster().Topic("f")
		if !ok {
			return false, "no topic"
		}
		for _, q := range tp.Partitions {
			if q.Leader == 1 {
				p = q
				return true, ""
			}
		}
		return false, "no partition led by node 1"
	})
	ctx := context.Background()
	if _, err := n1.Broker().ProducePartition(ctx, "f", p.Index, []record.Record{{Value: []byte("a")}, {Value: []byte("b")}}, broker.AcksLeader, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	hw := func() int64 {
		info, err := n1.Broker().PartitionInfo("f", p.Index)
		if err != nil {
			t.Fatal(err)
		}
		return info.HighWatermark
	}
	if got := hw(); got != 0 {
		t.Fatalf("HW %d before node 2 fetched, want 0 (node 2 is in the ISR)", got)
	}
	fetch := func(as int32, c *http.Client) (int, []byte) {
		body, _ := json.Marshal(broker.ReplicaFetchRequest{ReplicaID: as, MaxBytes: 1 << 20, Partitions: []broker.ReplicaFetchPartition{{
			Topic: "f", Partition: p.Index, LeaderEpoch: p.LeaderEpoch, FetchOffset: 2, EpochQuery: -1}}})
		st, raw, err := send(c, http.MethodPost, n1.ClusterURL()+"/internal/v1/replica-fetch", body)
		if err != nil {
			t.Fatal(err)
		}
		return st, raw
	}
	ca := testCA(t)
	node3 := clientWith(t, ca, issueNode(t, ca, 3))
	if st, raw := fetch(2, node3); st != http.StatusForbidden || !strings.Contains(string(raw), string(wire.CodeForbidden)) {
		t.Fatalf("node 3 fetching as node 2: %d %s, want 403 forbidden", st, raw)
	}
	if st, raw := fetch(3, node3); st != http.StatusOK || !strings.Contains(string(raw), `"error"`) {
		t.Fatalf("node 3 fetching a partition it holds no replica of: %d %s, want a partition error", st, raw)
	}
	if got := hw(); got != 0 {
		t.Fatalf("HW %d after forged fetches, want 0", got)
	}
	if st, raw := fetch(2, clientWith(t, ca, issueNode(t, ca, 2))); st != http.StatusOK {
		t.Fatalf("node 2's own fetch: %d %s", st, raw)
	}
	if got := hw(); got != 2 {
		t.Fatalf("HW %d after node 2's own fetch at 2, want 2", got)
	}
}

// TestProposalsAreCheckedBeforeRaft: a node's proposals pass CheckCommand
// (names, ids, limits) and the per-node policy before raft: traversal
// names and ids, an internal topic, fencing another node, registering it,
// an ISR change in another leader's name and an unknown op are refused,
// and none of them changes the metadata; a plain topic creation passes.
func TestProposalsAreCheckedBeforeRaft(t *testing.T) {
	n1 := testnode.Start(t)
	secondBroker(t, n1)
	ca := testCA(t)
	asNode2 := clientWith(t, ca, issueNode(t, ca, 2))
	propose := func(cmd meta.Command) (int, string) {
		body, _ := json.Marshal(cmd)
		st, raw, err := send(asNode2, http.MethodPost, n1.ClusterURL()+"/internal/v1/propose", body)
		if err != nil {
			t.Fatal(err)
		}
		return st, string(raw)
	}
	before := n1.Controller().Metadata()
	for _, tc := range []struct {
		name string
		cmd  meta.Command
		code wire.Code
	}{
		{"traversal name", meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{Name: "../../outside"}}, wire.CodeInvalidRequest},
		{"traversal id", meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{Name: "ok", ID: "../../../outside"}}, wire.CodeInvalidRequest},
		{"any id", meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{Name: "ok", ID: "abc"}}, wire.CodeInvalidRequest},
		{"internal topic", meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{Name: "__mine", Internal: true}}, wire.CodeForbidden},
		{"too many partitions", meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{Name: "big", Partitions: meta.MaxPartitions + 1}}, wire.CodeInvalidRequest},
		{"traversal plugin", meta.Command{Op: meta.OpDeletePlugin, DeletePlugin: &meta.DeletePlugin{Name: "../x"}}, wire.CodeInvalidRequest},
		{"fence node 1", meta.Command{Op: meta.OpFenceBroker, FenceBroker: &meta.FenceBroker{ID: 1}}, wire.CodeForbidden},
		{"register node 1", meta.Command{Op: meta.OpRegisterBroker, RegisterBroker: &meta.RegisterBroker{Broker: meta.Broker{ID: 1, HTTPAddr: "http://127.0.0.1:1"}}}, wire.CodeForbidden},
		{"register itself elsewhere", meta.Command{Op: meta.OpRegisterBroker, RegisterBroker: &meta.RegisterBroker{Broker: meta.Broker{ID: 2, HTTPAddr: "http://127.0.0.1:1"}}}, wire.CodeForbidden},
		{"ISR for leader 1", meta.Command{Op: meta.OpAlterPartition, AlterPartition: &meta.AlterPartition{Topic: "t", Leader: 1, ISR: []meta.NodeID{2}}}, wire.CodeForbidden},
		{"cluster id", meta.Command{Op: meta.OpSetClusterID, SetClusterID: &meta.SetClusterID{ClusterID: "x"}}, wire.CodeForbidden},
		{"unknown op", meta.Command{Op: "drop_everything"}, wire.CodeInvalidRequest},
		{"unvalidated plugin", meta.Command{Op: meta.OpUploadPlugin, UploadPlugin: &meta.UploadPlugin{Name: "p", Kind: meta.PluginKindProcessor, Wasm: []byte("not a module")}}, wire.CodeInvalidPlugin},
	} {
		st, raw := propose(tc.cmd)
		if st != tc.code.HTTPStatus() || !strings.Contains(raw, `"`+string(tc.code)+`"`) {
			t.Errorf("%s: %d %s, want %s", tc.name, st, raw, tc.code)
		}
	}
	// Nothing of them was committed (other commits, such as the group
	// coordinator's internal topic, may happen meanwhile).
	after := n1.Controller().Metadata()
	if _, ok := after.Plugins["p"]; ok {
		t.Error("the unvalidated plugin was stored")
	}
	for _, name := range []string{"ok", "__mine", "big", "../../outside"} {
		if _, ok := after.Topic(name); ok {
			t.Errorf("topic %q was created", name)
		}
	}
	for name, tp := range after.Topics {
		if strings.ContainsAny(name+tp.ID, `/\`) || strings.Contains(tp.ID, "..") {
			t.Errorf("topic %q id %q names a path", name, tp.ID)
		}
	}
	if b, ok := after.Broker(1); !ok || !b.Alive() || b.HTTPAddr != before.Brokers[1].HTTPAddr {
		t.Errorf("broker 1 after the refused fence and registration: %+v", b)
	}
	if b, ok := after.Broker(2); !ok || b.HTTPAddr != before.Brokers[2].HTTPAddr {
		t.Errorf("broker 2 after its refused re-registration: %+v", b)
	}
	if after.ClusterID != before.ClusterID {
		t.Errorf("cluster id %q, was %q", after.ClusterID, before.ClusterID)
	}
	if _, err := os.Stat(filepath.Join(n1.Config.DataDir, "outside")); !os.IsNotExist(err) {
		t.Fatalf("a directory outside the partitions directory: %v", err)
	}
	if st, raw := propose(meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{Name: "fine", Partitions: 1}}); st != http.StatusOK {
		t.Fatalf("a plain topic creation from node 2: %d %s", st, raw)
	}
}

// TestNodeWithoutTheClusterSecretsCannotJoin: without the gossip key a
// node cannot join serf; without a certificate of the cluster CA, or with
// a broker-only one, it cannot speak raft to the controller.
func TestNodeWithoutTheClusterSecretsCannotJoin(t *testing.T) {
	n1 := testnode.Start(t)
	dir := t.TempDir() // another CA and another gossip key
	if err := clusternet.DevDir(dir); err != nil {
		t.Fatal(err)
	}
	cfg := n1.Config
	cfg.NodeID = 2
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr, cfg.ClusterAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.RaftAddr = testnode.FreePorts(t, 1)
	cfg.SerfAddr = testnode.FreePorts(t, 1)
	cfg.Join = []string{n1.Config.SerfAddr}
	cfg.BootstrapExpect = 0
	cfg.ClusterTLSDir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if n, err := platform.Start(ctx, cfg); err == nil {
		_ = n.Close()
		t.Fatal("a node without the gossip key joined")
	}
	for _, m := range n1.Membership().Members() {
		if m.ID == 2 {
			t.Fatalf("serf shows the node without the key: %+v", m)
		}
	}

	other, err := clusternet.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	dial := func(ca *clusternet.CA, brokerOnly bool) error {
		is := issueNode(t, ca, 9)
		if brokerOnly {
			var err error
			if is, err = ca.IssueBroker(9, nil); err != nil {
				t.Fatal(err)
			}
		}
		pem := ca.PEM
		if ca == other {
			pem = append(append([]byte{}, pem...), testCA(t).PEM...) // trusts the cluster, is not trusted by it
		}
		tt, err := clusternet.New(pem, is.CertPEM, is.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		sl, err := clusternet.NewStreamLayer("127.0.0.1:0", nil, tt)
		if err != nil {
			t.Fatal(err)
		}
		defer sl.Close()
		c, err := sl.Dial(raft.ServerAddress(n1.Config.RaftAddr), 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		// TLS 1.3: the server's verdict on our certificate arrives with
		// the first read.
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err = c.Read(make([]byte, 1))
		if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
			return nil // accepted: raft waits for our request
		}
		return err
	}
	if err := dial(other, false); err == nil {
		t.Fatal("raft accepted a node certificate of another CA")
	}
	if err := dial(testCA(t), true); err == nil {
		t.Fatal("raft accepted a broker-only certificate of the cluster CA")
	}
	if err := dial(testCA(t), false); err != nil {
		t.Fatalf("raft refused a controller certificate of the cluster CA: %v", err)
	}
}

// TestGossipKeyRotation: a new key is installed, made primary and the
// old one removed on every member through the keyring route; a member
// restarted afterwards rejoins with the keyring it kept, though its
// gossip key file holds only the removed key.
func TestGossipKeyRotation(t *testing.T) {
	n1 := testnode.Start(t)
	n2 := testnode.Join(t, n1, 2, nil)
	ca := testCA(t)
	c := clientWith(t, ca, issueNode(t, ca, 1))
	old := n1.Membership().LocalKeys()[0]
	next := clusternet.NewGossipKey()
	keyring := func(op membership.KeyringOp, key string) membership.KeyringStatus {
		t.Helper()
		method, body := http.MethodPost, []byte(`{"op":"`+string(op)+`","key":"`+key+`"}`)
		if op == membership.KeyringList {
			method, body = http.MethodGet, nil
		}
		st, raw, err := send(c, method, n2.ClusterURL()+"/internal/v1/keyring", body)
		if err != nil || st != http.StatusOK {
			t.Fatalf("keyring %s: %d %s %v", op, st, raw, err)
		}
		var out membership.KeyringStatus
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	keyring(membership.KeyringInstall, next)
	keyring(membership.KeyringUse, next)
	keyring(membership.KeyringRemove, old)
	st := keyring(membership.KeyringList, "")
	if len(st.Keys) != 1 || st.Keys[next] != 2 || st.PrimaryKeys[next] != 2 {
		t.Fatalf("keys after rotation: %+v, want only the new one, primary on both members", st)
	}
	if got := n1.Membership().LocalKeys(); len(got) != 1 || got[0] != next {
		t.Fatalf("node 1's keys: %v", got)
	}
	n2.Restart(t)
	waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n2.WaitReady(waitCtx); err != nil {
		t.Fatal(err)
	}
	waitMemberStatus(t, n1, 2, membership.StatusAlive)
	if got := n2.Membership().LocalKeys(); len(got) != 1 || got[0] != next {
		t.Fatalf("node 2's keys after restart: %v, want the rotated keyring", got)
	}
}

// TestInsecureClusterPlane: with Insecure and no certificates the
// node-to-node plane runs over plain HTTP, raft over TCP and gossip in the
// clear, and still works end to end (a broker-only node learns metadata,
// proposes and replicates); the calling node's claimed id is still
// checked against what it asks.
func TestInsecureClusterPlane(t *testing.T) {
	insecure := testnode.WithConfig(func(c *platform.Config) { c.Insecure, c.ClusterTLSDir = true, "" })
	n1 := testnode.Start(t, insecure)
	n2 := testnode.Join(t, n1, 2, []string{platform.RoleBroker}, insecure)
	if !strings.HasPrefix(n1.ClusterURL(), "http://") || n1.ClusterTLS() != nil {
		t.Fatalf("cluster URL %s with TLS %v, want plain", n1.ClusterURL(), n1.ClusterTLS())
	}
	a2 := api{t, n2.URL()}
	a2.json("POST", "/v1/topics", wire.CreateTopicRequest{Name: "plain", Partitions: 2, ReplicationFactor: 2}, nil)
	eventually(t, "both brokers applied the topic", func() (bool, string) {
		_, ok1 := n1.Broker().Cluster().Topic("plain")
		_, ok2 := n2.Broker().Cluster().Topic("plain")
		return ok1 && ok2, fmt.Sprintf("node 1 %v, node 2 %v", ok1, ok2)
	})
	var pr wire.ProduceResponse
	a2.json("POST", "/v1/topics/plain/records?acks=all", wire.ProduceRequest{Records: []wire.ProduceRecord{{Value: "a"}, {Value: "b"}, {Value: "c"}}}, &pr)
	for i, r := range pr.Results {
		if r.Error != nil {
			t.Fatalf("record %d: %+v", i, r.Error)
		}
	}
	// Node 2 claiming (in the header) to fetch as node 1 is refused.
	body, _ := json.Marshal(broker.ReplicaFetchRequest{ReplicaID: 1, Partitions: []broker.ReplicaFetchPartition{{Topic: "plain", EpochQuery: -1}}})
	req, _ := http.NewRequest(http.MethodPost, n1.ClusterURL()+"/internal/v1/replica-fetch", bytes.NewReader(body))
	req.Header.Set(clusternet.NodeHeader, "2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("node 2 fetching as node 1: %d, want 403", resp.StatusCode)
	}
	// Without any identity the plane refuses even when insecure.
	st, _, err := send(http.DefaultClient, http.MethodGet, n1.ClusterURL()+"/internal/v1/metadata?after=0&max_wait_ms=0", nil)
	if err != nil || st != http.StatusForbidden {
		t.Fatalf("anonymous metadata watch: %d %v, want 403", st, err)
	}
}
