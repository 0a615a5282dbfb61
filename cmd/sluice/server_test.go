package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// settingsFor parses `sluice server ARGS` without starting a node.
func settingsFor(t *testing.T, env map[string]string, args ...string) (*serverSettings, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	cmd := serverCommand()
	var s *serverSettings
	var err error
	cmd.Action = func(c *cli.Context) error {
		s, err = loadServerSettings(c)
		return nil
	}
	app := &cli.App{Name: "sluice", Commands: []*cli.Command{cmd}, Writer: io.Discard, ErrWriter: io.Discard, DisableSliceFlagSeparator: true}
	if rerr := app.Run(append([]string{"sluice", "server"}, args...)); rerr != nil {
		t.Fatal(rerr)
	}
	return s, err
}

func TestServerSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "node.json")
	if err := os.WriteFile(file, []byte(`{"node-id": 7, "roles": "broker", "data_dir": "/from/file",
		"join": ["a:1", "b:2"], "http-addr": "0.0.0.0:9000", "bootstrap-expect": 3, "log-level": "debug"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := settingsFor(t, map[string]string{"SLUICE_HTTP_ADDR": "127.0.0.1:9100"}, "--config", file, "--data-dir", "/from/flag")
	if err != nil {
		t.Fatal(err)
	}
	c := s.cfg
	if c.NodeID != 7 || !reflect.DeepEqual(c.Roles, []string{"broker"}) || c.BootstrapExpect != 3 || s.logLevel != "debug" {
		t.Errorf("file values lost: %+v", c)
	}
	if c.DataDir != "/from/flag" {
		t.Errorf("flag did not win over file: data dir %q", c.DataDir)
	}
	if c.HTTPAddr != "127.0.0.1:9100" {
		t.Errorf("env did not win over file: http addr %q", c.HTTPAddr)
	}
	if !reflect.DeepEqual(c.Join, []string{"a:1", "b:2"}) {
		t.Errorf("join = %v", c.Join)
	}

	s, err = settingsFor(t, map[string]string{"SLUICE_JOIN": "x:1,y:2", "SLUICE_ROLES": "controller"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.cfg.Join, []string{"x:1", "y:2"}) || !reflect.DeepEqual(s.cfg.Roles, []string{"controller"}) {
		t.Errorf("env lists: join %v roles %v", s.cfg.Join, s.cfg.Roles)
	}
}

func TestServerSettingsErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown key": `{"node-idd": 1}`,
		"bad json":    `{"node-id": }`,
		"bad type":    `{"node-id": "seven"}`,
	} {
		file := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		os.WriteFile(file, []byte(body), 0o644)
		if _, err := settingsFor(t, nil, "--config", file); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := settingsFor(t, nil, "--config", filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
}
