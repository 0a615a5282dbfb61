package auth

import (
	"slices"
	"strings"

	"github.com/sluicehq/sluice/platform/meta"
)

// Request is one authorization question: may Principal perform Operation
// on the resource of ResourceType named Resource?
type Request struct {
	Principal    string
	ResourceType string
	Resource     string
	Operation    string
}

// Decision is Authorize's answer. Rule names the ACL that decided (its
// id), empty when no entry matched.
type Decision struct {
	Allowed bool
	Rule    string
	Reason  string
}

// impliesDescribe are the operations whose allow also allows describe on
// the same resource (as Kafka's READ, WRITE, DELETE and ALTER imply
// DESCRIBE).
var impliesDescribe = []string{meta.OperationProduce, meta.OperationConsume, meta.OperationCreate,
	meta.OperationAlter, meta.OperationDelete, meta.OperationUpload}

// Authorize decides req against acls, Kafka's way:
//   - an entry matches when its principal is req.Principal or "*", its
//     resource type is req's, and its name equals req.Resource (or is "*")
//     for a literal pattern, or is a prefix of it for a prefix pattern;
//   - its operation is req.Operation or "all"; an allow of produce,
//     consume, create, alter, delete or upload also allows describe;
//   - an allow of admin (or all) on the cluster resource allows every
//     operation on every resource: it is the superuser grant;
//   - any matching deny wins over every allow; without a matching allow
//     the answer is deny.
//
// An empty principal (anonymous) is never allowed.
func Authorize(acls []meta.ACL, req Request) Decision {
	if req.Principal == "" {
		return Decision{Reason: "anonymous"}
	}
	var allow *meta.ACL
	for i := range acls {
		a := &acls[i]
		if a.Principal != req.Principal && a.Principal != meta.AnyPrincipal {
			continue
		}
		if a.Effect == meta.EffectDeny {
			if resourceMatches(a, req) && (a.Operation == req.Operation || a.Operation == meta.OperationAll) {
				return Decision{Rule: a.ID, Reason: "denied by " + a.ID}
			}
			continue
		}
		if allow == nil && allows(a, req) {
			allow = a
		}
	}
	if allow == nil {
		return Decision{Reason: "no ACL allows it"}
	}
	return Decision{Allowed: true, Rule: allow.ID, Reason: "allowed by " + allow.ID}
}

func allows(a *meta.ACL, req Request) bool {
	if a.ResourceType == meta.ResourceCluster && (a.Operation == meta.OperationAdmin || a.Operation == meta.OperationAll) {
		return true // superuser
	}
	if !resourceMatches(a, req) {
		return false
	}
	switch {
	case a.Operation == req.Operation, a.Operation == meta.OperationAll:
		return true
	case req.Operation == meta.OperationDescribe:
		return slices.Contains(impliesDescribe, a.Operation)
	}
	return false
}

func resourceMatches(a *meta.ACL, req Request) bool {
	if a.ResourceType != req.ResourceType {
		return false
	}
	if a.Pattern == meta.PatternPrefix {
		return strings.HasPrefix(req.Resource, a.Resource)
	}
	return a.Resource == req.Resource || a.Resource == "*"
}
