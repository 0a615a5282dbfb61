// Package e2e_test holds the tests of the Go client and the guest SDK that
// need a running server (platform/testnode) or the server's own packages.
// The sdk is a module of its own (sdk/go.mod) that must not depend on the
// server, so these tests live in the server's module.
package e2e_test
