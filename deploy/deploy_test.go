// Package deploy holds the release build script and deployment files
// (Dockerfile, compose, Kubernetes, systemd). Its test checks what this
// machine can check without a container runtime or a cluster: the files
// parse, and they say what docs/operations.md says they do.
package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
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
	// Every env var the container sets names a server setting.
	for _, e := range get(c, "env").([]any) {
		name := get(e, "name").(string)
		if name != "POD_NAME" && !strings.HasPrefix(name, "SLUICE_") {
			t.Errorf("env %s", name)
		}
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
	}
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
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "buildinfo.version=${VERSION}", "USER 65532"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

func TestBuildScriptParses(t *testing.T) {
	if out, err := exec.Command("sh", "-n", "build-release.sh").CombinedOutput(); err != nil {
		t.Fatalf("sh -n: %v\n%s", err, out)
	}
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
