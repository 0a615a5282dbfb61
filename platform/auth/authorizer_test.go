package auth

import (
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/platform/meta"
)

func acl(id, principal, rtype, resource, pattern, op, effect string) meta.ACL {
	return meta.ACL{ID: id, Principal: principal, ResourceType: rtype, Resource: resource, Pattern: pattern, Operation: op, Effect: effect}
}

func TestAuthorize(t *testing.T) {
	const (
		lit, pre    = meta.PatternLiteral, meta.PatternPrefix
		allow, deny = meta.EffectAllow, meta.EffectDeny
		topic       = meta.ResourceTopic
	)
	acls := []meta.ACL{
		acl("a1", "alice", topic, "orders", lit, meta.OperationProduce, allow),
		acl("a2", "bob", topic, "billing.", pre, meta.OperationConsume, allow),
		acl("a3", "bob", topic, "billing.secret", lit, meta.OperationConsume, deny),
		acl("a4", "*", topic, "public", lit, meta.OperationConsume, allow),
		acl("a5", "carol", topic, "*", lit, meta.OperationAll, allow),
		acl("a6", "*", topic, "vault", lit, meta.OperationAll, deny),
		acl("a7", "root", meta.ResourceCluster, meta.ClusterResourceName, lit, meta.OperationAdmin, allow),
		acl("a8", "dave", meta.ResourceGroup, "g1", lit, meta.OperationConsume, allow),
		acl("a9", "erin", meta.ResourcePlugin, "p", lit, meta.OperationUpload, allow),
	}
	cases := []struct {
		name                      string
		principal, rtype, res, op string
		want                      bool
		rule                      string
	}{
		{"literal allow", "alice", topic, "orders", meta.OperationProduce, true, "a1"},
		{"other op on the same topic", "alice", topic, "orders", meta.OperationConsume, false, ""},
		{"produce implies describe", "alice", topic, "orders", meta.OperationDescribe, true, "a1"},
		{"literal does not match a longer name", "alice", topic, "orders2", meta.OperationProduce, false, ""},
		{"prefix allow", "bob", topic, "billing.eu", meta.OperationConsume, true, "a2"},
		{"prefix does not match outside", "bob", topic, "billingx", meta.OperationConsume, false, ""},
		{"deny wins over a prefix allow", "bob", topic, "billing.secret", meta.OperationConsume, false, "a3"},
		{"wildcard principal", "zed", topic, "public", meta.OperationConsume, true, "a4"},
		{"all on every topic", "carol", topic, "anything", meta.OperationDelete, true, "a5"},
		{"all does not reach another resource type", "carol", meta.ResourceGroup, "anything", meta.OperationDelete, false, ""},
		{"wildcard deny wins over all", "carol", topic, "vault", meta.OperationConsume, false, "a6"},
		{"superuser on a topic", "root", topic, "x", meta.OperationDelete, true, "a7"},
		{"superuser on a group", "root", meta.ResourceGroup, "g", meta.OperationAlter, true, "a7"},
		{"deny wins over superuser", "root", topic, "vault", meta.OperationProduce, false, "a6"},
		{"group consume", "dave", meta.ResourceGroup, "g1", meta.OperationConsume, true, "a8"},
		{"group consume is not group delete", "dave", meta.ResourceGroup, "g1", meta.OperationDelete, false, ""},
		{"upload implies describe", "erin", meta.ResourcePlugin, "p", meta.OperationDescribe, true, "a9"},
		{"no entry", "mallory", topic, "orders", meta.OperationProduce, false, ""},
		{"anonymous is never allowed", "", topic, "public", meta.OperationConsume, false, ""},
		{"cluster admin needs a grant", "alice", meta.ResourceCluster, meta.ClusterResourceName, meta.OperationAdmin, false, ""},
	}
	for _, tc := range cases {
		d := Authorize(acls, Request{Principal: tc.principal, ResourceType: tc.rtype, Resource: tc.res, Operation: tc.op})
		if d.Allowed != tc.want || d.Rule != tc.rule {
			t.Errorf("%s: got allowed=%v rule=%q (%s), want %v %q", tc.name, d.Allowed, d.Rule, d.Reason, tc.want, tc.rule)
		}
	}
}

// BenchmarkAuthorize is one decision against n ACLs none of which
// matches until the last (the scan's worst case; docs/security.md quotes
// it).
func BenchmarkAuthorize(b *testing.B) {
	for _, n := range []int{100, 10000} {
		acls := make([]meta.ACL, n)
		for i := range acls {
			acls[i] = acl(fmt.Sprint("a", i), fmt.Sprint("user-", i), meta.ResourceTopic, fmt.Sprint("topic-", i), meta.PatternLiteral, meta.OperationProduce, meta.EffectAllow)
		}
		acls[n-1].Principal = "me"
		req := Request{Principal: "me", ResourceType: meta.ResourceTopic, Resource: fmt.Sprint("topic-", n-1), Operation: meta.OperationProduce}
		b.Run(fmt.Sprint(n, "acls"), func(b *testing.B) {
			for b.Loop() {
				if !Authorize(acls, req).Allowed {
					b.Fatal("denied")
				}
			}
		})
	}
}
