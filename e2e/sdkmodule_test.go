package e2e_test

import (
	"os"
	"testing"

	"golang.org/x/mod/modfile"
)

// TestSDKModuleStaysSmall: the guest SDK and Go client are a module of their
// own so that plugin authors and client users do not pull the server's
// dependencies. It must require nothing but gorilla/websocket and must not
// require the server's module.
func TestSDKModuleStaysSmall(t *testing.T) {
	b, err := os.ReadFile("../sdk/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse("sdk/go.mod", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Module.Mod.Path != "github.com/sluicehq/sluice/sdk" {
		t.Fatalf("module path %q", f.Module.Mod.Path)
	}
	allowed := map[string]bool{"github.com/gorilla/websocket": true}
	for _, r := range f.Require {
		if !allowed[r.Mod.Path] {
			t.Errorf("sdk/go.mod requires %s: the SDK module may depend on gorilla/websocket only", r.Mod.Path)
		}
	}
	if f.Go == nil || f.Go.Version != "1.24" {
		t.Errorf("sdk/go.mod go directive %v: keep the SDK's minimal Go version at 1.24 (go:wasmexport)", f.Go)
	}
}
