// Package deploy holds the release build script and deployment files
// (Dockerfile, compose, Kubernetes, systemd). Its test checks what this
// machine can check without a container runtime or a cluster: the files
// parse, and they say what docs/operations.md says they do.
package deploy

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	yaml "go.yaml.in/yaml/v2"
)

func decodeAll(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		docs = append(docs, d)
	}
}

// get walks m along keys (map keys or list indexes as ints).
func get(v any, keys ...any) any {
	for _, k := range keys {
		switch x := v.(type) {
		case map[any]any:
			v = x[k]
		case map[string]any:
			s, _ := k.(string)
			v = x[s]
		case []any:
			i, ok := k.(int)
			if !ok || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func TestKubernetesManifests(t *testing.T) {
	kinds := map[string]map[string]any{}
	for _, d := range decodeAll(t, "kubernetes/sluice.yaml") {
		kind, _ := d["kind"].(string)
		name, _ := get(d, "metadata", "name").(string)
		kinds[kind+"/"+name] = d
	}
	sts := kinds["StatefulSet/sluice"]
	if sts == nil {
		t.Fatalf("no StatefulSet/sluice in %v", kinds)
	}
	if get(sts, "spec", "serviceName") != "sluice-headless" || get(sts, "spec", "podManagementPolicy") != "Parallel" || get(sts, "spec", "replicas") != 3 {
		t.Errorf("statefulset spec: %v", get(sts, "spec"))
	}
	c := get(sts, "spec", "template", "spec", "containers", 0)
	if p := get(c, "livenessProbe", "httpGet", "path"); p != "/livez" {
		t.Errorf("liveness probe path %v", p)
	}
	if p := get(c, "readinessProbe", "httpGet", "path"); p != "/readyz" {
		t.Errorf("readiness probe path %v", p)
	}
	if get(sts, "spec", "volumeClaimTemplates", 0, "metadata", "name") != "data" {
		t.Error("no data volume claim")
	}
	h := kinds["Service/sluice-headless"]
	if get(h, "spec", "clusterIP") != "None" || get(h, "spec", "publishNotReadyAddresses") != true {
		t.Errorf("headless service: %v", get(h, "spec"))
	}
	if kinds["Service/sluice"] == nil {
		t.Error("no client service")
	}
	pdb := kinds["PodDisruptionBudget/sluice"]
	if get(pdb, "spec", "minAvailable") != 2 {
		t.Errorf("pdb: %v", get(pdb, "spec"))
	}
	for _, pr := range []string{"livenessProbe", "readinessProbe", "startupProbe"} {
		if s := get(c, pr, "httpGet", "scheme"); s != "HTTPS" {
			t.Errorf("%s scheme %v: the client listener serves TLS", pr, s)
		}
	}
	if !hasPort(get(h, "spec", "ports"), "port", 9400) {
		t.Errorf("headless service does not expose the cluster port 9400: %v", get(h, "spec", "ports"))
	}
	if !hasPort(get(c, "ports"), "containerPort", 9400) {
		t.Errorf("container does not expose the cluster port 9400: %v", get(c, "ports"))
	}
	// Every env var the container sets names a server setting.
	settings := map[string]string{}
	for _, e := range get(c, "env").([]any) {
		name := get(e, "name").(string)
		if name != "POD_NAME" && name != "POD_NAMESPACE" && !strings.HasPrefix(name, "SLUICE_") {
			t.Errorf("env %s", name)
		}
		if v, ok := get(e, "value").(string); ok {
			addEnv(settings, name, v)
		}
	}
	addArgs(settings, get(c, "args"))
	if !strings.Contains(settings["advertise-addr"], "sluice-headless.$(POD_NAMESPACE).svc") {
		t.Errorf("advertise-addr %q: want the pod's headless DNS name (its certificate's --host)", settings["advertise-addr"])
	}

	// The init container copies the pod's own files out of the Secret and
	// writes the config (node id, client-listener certificate): run its
	// script on make-certs.sh output, as pod sluice-1 (node 2).
	script, _ := get(sts, "spec", "template", "spec", "initContainers", 0, "command", 2).(string)
	tls := makeCerts(t)
	root := t.TempDir()
	for _, d := range []string{"etc/sluice/conf", "etc/sluice/tls"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	script = strings.ReplaceAll(script, "/secrets/tls/", filepath.Join(tls, "pki")+"/")
	script = strings.ReplaceAll(script, " /etc/sluice/", " "+root+"/etc/sluice/")
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "HOSTNAME=sluice-1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("init container script: %v\n%s", err, out)
	}
	var cfg map[string]any
	b, err := os.ReadFile(filepath.Join(root, "etc/sluice/conf/node.json"))
	if err == nil {
		err = json.Unmarshal(b, &cfg)
	}
	if err != nil {
		t.Fatalf("node.json: %v", err)
	}
	if cfg["node-id"] != 2.0 {
		t.Errorf("node.json of pod sluice-1: %s", b)
	}
	for k, v := range cfg {
		if s, ok := v.(string); ok {
			settings[k] = s
		}
	}
	for _, f := range []string{"ca.crt", "gossip.key", "node-2.crt", "node-2.key"} {
		if _, err := os.Stat(filepath.Join(root, "etc/sluice/tls", f)); err != nil {
			t.Errorf("init container did not copy %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "etc/sluice/tls/node-1.key")); err == nil {
		t.Error("init container copied another node's key")
	}
	checkSecure(t, "kubernetes", settings, 2)
	checkNoInsecure(t, "kubernetes/sluice.yaml")
}

func hasPort(ports any, key string, port int) bool {
	l, _ := ports.([]any)
	for _, p := range l {
		if get(p, key) == port {
			return true
		}
	}
	return false
}

// addEnv records a SLUICE_FOO_BAR variable as setting foo-bar.
func addEnv(settings map[string]string, name, value string) {
	if k, ok := strings.CutPrefix(name, "SLUICE_"); ok {
		settings[strings.ReplaceAll(strings.ToLower(k), "_", "-")] = value
	}
}

// addArgs records --foo-bar value (or --foo-bar=value) as setting foo-bar.
func addArgs(settings map[string]string, args any) {
	l, _ := args.([]any)
	for i := 0; i < len(l); i++ {
		a, _ := l[i].(string)
		k, ok := strings.CutPrefix(a, "--")
		if !ok {
			continue
		}
		if k, v, ok := strings.Cut(k, "="); ok {
			settings[k] = v
			continue
		}
		if i+1 < len(l) {
			v, _ := l[i+1].(string)
			if !strings.HasPrefix(v, "--") {
				settings[k] = v
				i++
				continue
			}
		}
		settings[k] = "true"
	}
}

// checkSecure: the settings of node id start it the secure way
// (docs/security.md): the cluster listener on every interface with an
// advertised host, node-to-node TLS and gossip key, client-listener TLS
// with this node's certificate, a bootstrap admin token file, no insecure.
func checkSecure(t *testing.T, what string, s map[string]string, id int) {
	t.Helper()
	if s["cluster-addr"] != "0.0.0.0:9400" {
		t.Errorf("%s: cluster-addr %q, want 0.0.0.0:9400", what, s["cluster-addr"])
	}
	if s["advertise-addr"] == "" {
		t.Errorf("%s: no advertise-addr", what)
	}
	if s["tls-dir"] == "" && (s["cluster-ca"] == "" || s["cluster-cert"] == "" || s["cluster-key"] == "" || s["gossip-key-file"] == "") {
		t.Errorf("%s: neither tls-dir nor cluster-ca/cert/key and gossip-key-file: %v", what, s)
	}
	node := "node-" + strconv.Itoa(id)
	if !strings.HasSuffix(s["tls-cert"], "/"+node+".crt") || !strings.HasSuffix(s["tls-key"], "/"+node+".key") {
		t.Errorf("%s: tls-cert %q, tls-key %q: want the client listener on %s's certificate", what, s["tls-cert"], s["tls-key"], node)
	}
	if s["tls-client-ca"] == "" && s["tls-ca"] == "" {
		t.Errorf("%s: no tls-client-ca/tls-ca: nodes cannot verify each other's https URLs", what)
	}
	if s["bootstrap-admin-token-file"] == "" {
		t.Errorf("%s: no bootstrap-admin-token-file", what)
	}
	if v, ok := s["insecure"]; ok {
		t.Errorf("%s: insecure=%q", what, v)
	}
}

// checkNoInsecure: no line of the file, comments aside, says insecure.
func checkNoInsecure(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); !strings.HasPrefix(l, "#") && strings.Contains(strings.ToLower(l), "insecure") {
			t.Errorf("%s:%d: %s", path, i+1, l)
		}
	}
}

// makeCerts runs make-certs.sh with a sluice binary built from this
// repository into a temporary directory, once per test binary.
func makeCerts(t *testing.T) string {
	t.Helper()
	certsOnce.Do(func() {
		certsDir, certsErr = os.MkdirTemp("", "sluice-deploy-certs")
		if certsErr != nil {
			return
		}
		bin := filepath.Join(certsDir, "sluice")
		if out, err := exec.Command("go", "build", "-o", bin, "../cmd/sluice").CombinedOutput(); err != nil {
			certsErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		cmd := exec.Command("sh", "make-certs.sh", filepath.Join(certsDir, "tls"))
		cmd.Env = append(os.Environ(), "SLUICE="+bin, "NAMESPACE=streaming", "HOSTS_3=node3.example.internal 10.0.0.3")
		if out, err := cmd.CombinedOutput(); err != nil {
			certsErr = fmt.Errorf("make-certs.sh: %v\n%s", err, out)
		}
	})
	if certsErr != nil {
		t.Fatal(certsErr)
	}
	return filepath.Join(certsDir, "tls")
}

var (
	certsOnce sync.Once
	certsDir  string
	certsErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if certsDir != "" {
		os.RemoveAll(certsDir)
	}
	os.Exit(code)
}

// TestMakeCerts: make-certs.sh writes the CA, gossip key, one directory
// per node with only what that node needs, node certificates naming the
// compose service, the Kubernetes pod and client service, and extra hosts,
// and a valid bootstrap admin token; keys are 0600.
func TestMakeCerts(t *testing.T) {
	dir := makeCerts(t)
	for _, f := range []string{"pki/ca.crt", "pki/ca.key", "pki/gossip.key", "admin-token"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	for n := 1; n <= 3; n++ {
		nd := filepath.Join(dir, fmt.Sprintf("node-%d", n))
		ents, err := os.ReadDir(nd)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
			if fi, _ := e.Info(); fi != nil && fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s/%s mode %v", nd, e.Name(), fi.Mode())
			}
		}
		want := fmt.Sprintf("[ca.crt gossip.key node-%d.crt node-%d.key]", n, n)
		if fmt.Sprint(names) != want {
			t.Errorf("node-%d/ holds %v, want %s", n, names, want)
		}
		b, err := os.ReadFile(filepath.Join(nd, fmt.Sprintf("node-%d.crt", n)))
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			t.Fatalf("node-%d.crt: no PEM", n)
		}
		crt, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		pod := fmt.Sprintf("sluice-%d.sluice-headless.streaming.svc", n-1)
		for _, h := range []string{fmt.Sprintf("sluice-%d", n), pod, "sluice.streaming.svc", "sluice", "localhost"} {
			if err := crt.VerifyHostname(h); err != nil {
				t.Errorf("node-%d.crt: %v", n, err)
			}
		}
		if n == 3 {
			for _, h := range []string{"node3.example.internal", "10.0.0.3"} {
				if err := crt.VerifyHostname(h); err != nil {
					t.Errorf("node-3.crt: %v", err)
				}
			}
		}
		if len(crt.URIs) == 0 || crt.URIs[0].String() != fmt.Sprintf("sluice://node/%d", n) {
			t.Errorf("node-%d.crt URIs %v", n, crt.URIs)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "admin-token")); !regexp.MustCompile(`^slu_[0-9a-f]{16}_\S+\n?$`).Match(b) {
		t.Errorf("admin-token %q", b)
	}
}

func TestCompose(t *testing.T) {
	docs := decodeAll(t, "compose/compose.yaml")
	if len(docs) != 1 {
		t.Fatalf("%d documents", len(docs))
	}
	svcs, _ := docs[0]["services"].(map[any]any)
	if len(svcs) != 3 {
		t.Fatalf("%d services, want 3", len(svcs))
	}
	ids := map[any]bool{}
	for name, s := range svcs {
		env := get(s, "environment")
		id := get(env, "SLUICE_NODE_ID")
		ids[id] = true
		if get(env, "SLUICE_ADVERTISE_ADDR") != name || get(env, "SLUICE_BOOTSTRAP_EXPECT") != "3" || get(env, "SLUICE_JOIN") == nil {
			t.Errorf("service %v: environment %v (the anchors merge into each)", name, env)
		}
		if get(s, "build", "dockerfile") != "deploy/Dockerfile" {
			t.Errorf("service %v builds %v", name, get(s, "build"))
		}
		settings := map[string]string{}
		for k, v := range env.(map[any]any) {
			addEnv(settings, k.(string), fmt.Sprint(v))
		}
		addArgs(settings, get(s, "command"))
		n, _ := strconv.Atoi(fmt.Sprint(id))
		checkSecure(t, fmt.Sprint(name), settings, n)
		if fmt.Sprint(get(s, "expose")) != "[9400]" {
			t.Errorf("service %v exposes %v, want the cluster port 9400", name, get(s, "expose"))
		}
		if vols := fmt.Sprint(get(s, "volumes")); !strings.Contains(vols, fmt.Sprintf("./tls/node-%d:%s:ro", n, settings["tls-dir"])) {
			t.Errorf("service %v volumes %s: want ./tls/node-%d mounted read-only at its tls-dir", name, vols, n)
		}
		if fmt.Sprint(get(s, "secrets")) != "[admin-token]" || settings["bootstrap-admin-token-file"] != "/run/secrets/admin-token" {
			t.Errorf("service %v: admin token not from the admin-token secret", name)
		}
	}
	if get(docs[0], "secrets", "admin-token", "file") != "./tls/admin-token" {
		t.Errorf("secrets: %v", get(docs[0], "secrets"))
	}
	checkNoInsecure(t, "compose/compose.yaml")
	if len(ids) != 3 {
		t.Errorf("node ids %v: want 3 distinct", ids)
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	for _, l := range strings.Split(string(b), "\n") {
		if f, ok := strings.CutPrefix(l, "FROM "); ok {
			froms = append(froms, f)
		}
	}
	if len(froms) != 2 || !strings.HasPrefix(froms[0], "golang:") || froms[1] != "scratch" {
		t.Errorf("stages %q: want a golang build stage and a scratch image", froms)
	}
	if !regexp.MustCompile(`(?m)^EXPOSE .*\b9400\b`).Match(b) {
		t.Error("Dockerfile does not expose the cluster port 9400")
	}
	checkNoInsecure(t, "Dockerfile")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "buildinfo.version=${VERSION}", "USER 65532", "SLUICE_CLUSTER_ADDR=0.0.0.0:9400"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

func TestBuildScriptParses(t *testing.T) {
	for _, f := range []string{"build-release.sh", "make-certs.sh"} {
		if out, err := exec.Command("sh", "-n", f).CombinedOutput(); err != nil {
			t.Errorf("sh -n %s: %v\n%s", f, err, out)
		}
	}
}

// TestSystemdEnv: the settings file starts the node the secure way.
func TestSystemdEnv(t *testing.T) {
	b, err := os.ReadFile("systemd/sluice.env")
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			addEnv(settings, k, v)
		}
	}
	id, _ := strconv.Atoi(settings["node-id"])
	checkSecure(t, "systemd/sluice.env", settings, id)
	if !strings.HasPrefix(settings["tls-dir"], "/etc/sluice/tls") {
		t.Errorf("tls-dir %q", settings["tls-dir"])
	}
	checkNoInsecure(t, "systemd/sluice.env")
	checkNoInsecure(t, "systemd/sluice.service")
}

// TestSystemdUnit runs systemd-analyze verify on the unit when it is
// installed (with ExecStart pointed at a binary that exists here).
func TestSystemdUnit(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (apt-get install systemd)")
	}
	b, err := os.ReadFile("systemd/sluice.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.ReplaceAll(string(b), "ExecStart=/usr/local/bin/sluice", "ExecStart=/bin/true")
	unit = strings.ReplaceAll(unit, "EnvironmentFile=/etc/", "EnvironmentFile=-/etc/")
	p := filepath.Join(t.TempDir(), "sluice.service")
	if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sa, "verify", p).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestGrafanaDashboard: the dashboard parses and every sluice_* series
// it queries is documented in docs/monitoring.md.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("grafana/sluice.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/monitoring.md")
	if err != nil {
		t.Fatal(err)
	}
	series := regexp.MustCompile(`sluice_[a-z_]+`)
	if len(d.Panels) < 10 {
		t.Errorf("%d panels", len(d.Panels))
	}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, s := range series.FindAllString(tg.Expr, -1) {
				s = strings.TrimSuffix(s, "_bucket")
				if !strings.Contains(string(doc), "`"+s) {
					t.Errorf("panel %q queries %s, which docs/monitoring.md does not list", p.Title, s)
				}
			}
		}
	}
}
