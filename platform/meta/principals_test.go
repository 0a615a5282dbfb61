package meta

import (
	"encoding/json"
	"errors"
	"testing"
)

func tok(id string) Token { return Token{ID: id, Hash: "$argon2id$hash-of-" + id} }

func createPrincipal(name, kind, id string) Command {
	return Command{Op: OpCreatePrincipal, CreatePrincipal: &CreatePrincipal{Name: name, Kind: kind, Token: tok(id)}}
}

func TestPrincipalsAndTokens(t *testing.T) {
	s := newSeq(t)
	res := s.must(createPrincipal("alice", "", "aaaa"))
	if res.Principal == nil || res.Principal.Kind != PrincipalUser || len(res.Principal.Tokens) != 1 || res.Principal.Tokens[0].CreatedAt.IsZero() {
		t.Fatalf("created %+v", res.Principal)
	}
	s.must(createPrincipal("svc", PrincipalServiceAccount, "bbbb"))
	for _, tc := range []struct {
		name string
		cmd  Command
		want error
	}{
		{"exists", createPrincipal("alice", "", "cccc"), ErrPrincipalExists},
		{"bad name", createPrincipal("a b", "", "cccc"), ErrInvalidRequest},
		{"star name", createPrincipal("*", "", "cccc"), ErrInvalidRequest},
		{"bad kind", createPrincipal("x", "robot", "cccc"), ErrInvalidRequest},
		{"token id taken", createPrincipal("x", "", "aaaa"), ErrInvalidRequest},
		{"bad token id", createPrincipal("x", "", "../x"), ErrInvalidRequest},
		{"no hash", Command{Op: OpCreatePrincipal, CreatePrincipal: &CreatePrincipal{Name: "x", Token: Token{ID: "dddd"}}}, ErrInvalidRequest},
		{"token for nobody", Command{Op: OpAddToken, AddToken: &AddToken{Principal: "nobody", Token: tok("eeee")}}, ErrUnknownPrincipal},
		{"revoke unknown token", Command{Op: OpRevokeToken, RevokeToken: &RevokeToken{Principal: "alice", TokenID: "zzzz"}}, ErrUnknownPrincipal},
		{"delete nobody", Command{Op: OpDeletePrincipal, DeletePrincipal: &DeletePrincipal{Name: "nobody"}}, ErrUnknownPrincipal},
		{"payload missing", Command{Op: OpAddACL}, ErrInvalidRequest},
	} {
		if _, err := s.try(tc.cmd); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	s.must(Command{Op: OpAddToken, AddToken: &AddToken{Principal: "alice", Token: tok("ffff")}})
	if p, _, ok := s.c.TokenOwner("ffff"); !ok || p.Name != "alice" || len(p.Tokens) != 2 {
		t.Fatalf("TokenOwner(ffff) = %+v %v", p, ok)
	}
	s.must(Command{Op: OpRevokeToken, RevokeToken: &RevokeToken{Principal: "alice", TokenID: "aaaa"}})
	if _, _, ok := s.c.TokenOwner("aaaa"); ok {
		t.Fatal("revoked token still owned")
	}
	for i := len(s.c.Principals["alice"].Tokens); i < MaxTokensPerPrincipal; i++ {
		s.must(Command{Op: OpAddToken, AddToken: &AddToken{Principal: "alice", Token: tok("t" + string(rune('a'+i)))}})
	}
	if _, err := s.try(Command{Op: OpAddToken, AddToken: &AddToken{Principal: "alice", Token: tok("over")}}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("token over the limit: %v", err)
	}
	s.must(Command{Op: OpDeletePrincipal, DeletePrincipal: &DeletePrincipal{Name: "svc"}})
	if _, ok := s.c.Principals["svc"]; ok {
		t.Fatal("deleted principal still there")
	}
	if got := s.c.PrincipalNames(); len(got) != 1 || got[0] != "alice" {
		t.Fatalf("names %v", got)
	}
	// The state survives a snapshot round trip (raft snapshots are JSON).
	var back Cluster
	if err := json.Unmarshal([]byte(snapshotJSON(t, s.c)), &back); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := back.TokenOwner("ffff"); !ok {
		t.Fatal("token lost in a snapshot round trip")
	}
}

func TestACLs(t *testing.T) {
	s := newSeq(t)
	add := func(a ACL) (Result, error) { return s.try(Command{Op: OpAddACL, AddACL: &AddACL{ACL: a}}) }
	res, err := add(ACL{Principal: "alice", ResourceType: ResourceTopic, Resource: "orders", Operation: OperationProduce})
	if err != nil || res.ACL == nil || res.ACL.ID == "" || res.ACL.Pattern != PatternLiteral || res.ACL.Effect != EffectAllow {
		t.Fatalf("add: %+v %v", res.ACL, err)
	}
	id := res.ACL.ID
	again, err := add(ACL{Principal: "alice", ResourceType: ResourceTopic, Resource: "orders", Operation: OperationProduce, Pattern: PatternLiteral})
	if err != nil || again.Changed || again.ACL == nil || again.ACL.ID != id {
		t.Fatalf("equal entry added again: %+v %v", again, err)
	}
	if res, err := add(ACL{Principal: "ops", ResourceType: ResourceCluster, Operation: OperationAdmin}); err != nil || res.ACL.Resource != ClusterResourceName {
		t.Fatalf("cluster entry: %+v %v", res.ACL, err)
	}
	for _, bad := range []ACL{
		{Principal: "", ResourceType: ResourceTopic, Resource: "x", Operation: OperationProduce},
		{Principal: "a", ResourceType: "database", Resource: "x", Operation: OperationProduce},
		{Principal: "a", ResourceType: ResourceTopic, Resource: "", Operation: OperationProduce},
		{Principal: "a", ResourceType: ResourceTopic, Resource: "x", Operation: "read"},
		{Principal: "a", ResourceType: ResourceTopic, Resource: "x", Operation: OperationProduce, Pattern: "regex"},
		{Principal: "a", ResourceType: ResourceTopic, Resource: "x", Operation: OperationProduce, Effect: "maybe"},
		{Principal: "a", ResourceType: ResourceCluster, Resource: "other", Operation: OperationAdmin},
		{Principal: "a\n", ResourceType: ResourceTopic, Resource: "x", Operation: OperationProduce},
	} {
		if _, err := add(bad); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%+v accepted: %v", bad, err)
		}
	}
	if len(s.c.ACLs) != 2 {
		t.Fatalf("%d entries, want 2", len(s.c.ACLs))
	}
	s.must(Command{Op: OpRemoveACL, RemoveACL: &RemoveACL{ID: id}})
	if _, ok := s.c.ACLByID(id); ok || len(s.c.ACLs) != 1 {
		t.Fatal("removed entry still there")
	}
	if _, err := s.try(Command{Op: OpRemoveACL, RemoveACL: &RemoveACL{ID: id}}); !errors.Is(err, ErrUnknownACL) {
		t.Fatalf("remove twice: %v", err)
	}
}

func TestBootstrapAuthAppliesOnce(t *testing.T) {
	s := newSeq(t)
	boot := func(id string) Command {
		return Command{Op: OpBootstrapAuth, BootstrapAuth: &BootstrapAuth{Principal: CreatePrincipal{Name: "admin", Token: tok(id)}}}
	}
	res := s.must(boot("a1"))
	if !res.Changed || !s.c.AuthBootstrapped || len(s.c.ACLs) != 1 || s.c.ACLs[0].Operation != OperationAdmin || s.c.ACLs[0].Principal != "admin" {
		t.Fatalf("bootstrap: %+v, acls %+v", res, s.c.ACLs)
	}
	// A second node's bootstrap (another token) changes nothing.
	if res := s.must(boot("b2")); res.Changed {
		t.Fatal("second bootstrap changed the cluster")
	}
	if _, _, ok := s.c.TokenOwner("b2"); ok {
		t.Fatal("second bootstrap's token was stored")
	}
	// Even with every principal deleted, bootstrap never runs again.
	s.must(Command{Op: OpDeletePrincipal, DeletePrincipal: &DeletePrincipal{Name: "admin"}})
	if res := s.must(boot("c3")); res.Changed {
		t.Fatal("bootstrap ran again after the admin was deleted")
	}
}
