package meta

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Resource types of an ACL.
const (
	ResourceTopic   = "topic"
	ResourceGroup   = "group"
	ResourcePlugin  = "plugin"
	ResourceCluster = "cluster"
)

// ClusterResourceName is the one resource name of ResourceCluster.
const ClusterResourceName = "cluster"

// Pattern types of an ACL's resource name.
const (
	PatternLiteral = "literal"
	PatternPrefix  = "prefix"
)

// Operations an ACL allows or denies. OperationAll matches every
// operation; OperationAdmin on the cluster is the superuser grant (see
// platform/auth.Authorize).
const (
	OperationProduce  = "produce"
	OperationConsume  = "consume"
	OperationDescribe = "describe"
	OperationCreate   = "create"
	OperationAlter    = "alter"
	OperationDelete   = "delete"
	OperationUpload   = "upload"
	OperationAdmin    = "admin"
	OperationAll      = "all"
)

// Effects of an ACL.
const (
	EffectAllow = "allow"
	EffectDeny  = "deny"
)

// AnyPrincipal in an ACL matches every authenticated principal; as a
// literal resource name, "*" matches every resource of the type.
const AnyPrincipal = "*"

// maxACLs bounds the cluster's ACL count, and maxResourceLen a resource
// name or prefix.
const (
	maxACLs        = 10000
	maxResourceLen = 256
)

// Operations lists every operation, for validation, help and docs.
var Operations = []string{OperationProduce, OperationConsume, OperationDescribe, OperationCreate,
	OperationAlter, OperationDelete, OperationUpload, OperationAdmin, OperationAll}

// ResourceTypes lists every resource type.
var ResourceTypes = []string{ResourceTopic, ResourceGroup, ResourcePlugin, ResourceCluster}

// ACL is one access control entry: Principal is allowed (or denied)
// Operation on the resources of ResourceType matching Resource (exactly,
// or as a prefix). ID is assigned by Apply ("acl-<raft index>").
type ACL struct {
	ID           string `json:"id"`
	Principal    string `json:"principal"`
	ResourceType string `json:"resource_type"`
	Resource     string `json:"resource"`
	Pattern      string `json:"pattern"`
	Operation    string `json:"operation"`
	Effect       string `json:"effect"`
}

// sameRule reports whether a and b grant the same thing (all but ID).
func (a ACL) sameRule(b ACL) bool {
	a.ID, b.ID = "", ""
	return a == b
}

// Normalize fills defaults (literal pattern, allow, the cluster's
// resource name) and checks every field; it returns the ACL Apply stores.
func (a ACL) Normalize() (ACL, error) {
	bad := func(format string, args ...any) (ACL, error) {
		return ACL{}, fmt.Errorf("acl: %s: %w", fmt.Sprintf(format, args...), ErrInvalidRequest)
	}
	if a.Pattern == "" {
		a.Pattern = PatternLiteral
	}
	if a.Effect == "" {
		a.Effect = EffectAllow
	}
	if a.ResourceType == ResourceCluster && a.Resource == "" {
		a.Resource = ClusterResourceName
	}
	if a.Principal != AnyPrincipal && !validACLPrincipal(a.Principal) {
		return bad("principal %q: want %q or 1 to %d printable characters", a.Principal, AnyPrincipal, MaxPrincipalNameLen)
	}
	if !slices.Contains(ResourceTypes, a.ResourceType) {
		return bad("resource type %q: want one of %s", a.ResourceType, strings.Join(ResourceTypes, ", "))
	}
	if a.ResourceType == ResourceCluster && (a.Resource != ClusterResourceName || a.Pattern != PatternLiteral) {
		return bad("the cluster resource is named %q (literal)", ClusterResourceName)
	}
	if a.Resource == "" || len(a.Resource) > maxResourceLen || strings.ContainsFunc(a.Resource, isControl) {
		return bad("resource %q: want 1 to %d printable characters", a.Resource, maxResourceLen)
	}
	if a.Pattern != PatternLiteral && a.Pattern != PatternPrefix {
		return bad("pattern %q: want %q or %q", a.Pattern, PatternLiteral, PatternPrefix)
	}
	if !slices.Contains(Operations, a.Operation) {
		return bad("operation %q: want one of %s", a.Operation, strings.Join(Operations, ", "))
	}
	if a.Effect != EffectAllow && a.Effect != EffectDeny {
		return bad("effect %q: want %q or %q", a.Effect, EffectAllow, EffectDeny)
	}
	return a, nil
}

func validACLPrincipal(s string) bool {
	return len(s) > 0 && len(s) <= MaxPrincipalNameLen && !strings.ContainsFunc(s, isControl)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// AddACL adds an access control entry; adding one equal to an existing
// entry (apart from its id) changes nothing and returns the existing one.
type AddACL struct {
	ACL ACL `json:"acl"`
}

// RemoveACL removes the entry with ID.
type RemoveACL struct {
	ID string `json:"id"`
}

// ACLByID returns the entry with id.
func (c *Cluster) ACLByID(id string) (ACL, bool) {
	i := slices.IndexFunc(c.ACLs, func(a ACL) bool { return a.ID == id })
	if i < 0 {
		return ACL{}, false
	}
	return c.ACLs[i], true
}

func (a *applier) addACL(in ACL) error {
	acl, err := in.Normalize()
	if err != nil {
		return err
	}
	cur := a.cur()
	for _, old := range cur.ACLs {
		if old.sameRule(acl) {
			a.res.ACL = &old
			return nil
		}
	}
	if len(cur.ACLs) >= maxACLs {
		return fmt.Errorf("acl: the cluster holds %d entries, the most it may: %w", len(cur.ACLs), ErrInvalidRequest)
	}
	acl.ID = "acl-" + strconv.FormatUint(a.index, 10)
	if len(cur.ACLs) > 0 && cur.ACLs[len(cur.ACLs)-1].ID == acl.ID {
		// A second entry in one command (bootstrap adds one only).
		acl.ID += "-" + strconv.Itoa(len(cur.ACLs))
	}
	m := a.mut()
	m.ACLs = append(slices.Clip(cur.ACLs), acl)
	a.res.ACL = &acl
	return nil
}

func (a *applier) removeACL(id string) error {
	cur := a.cur()
	i := slices.IndexFunc(cur.ACLs, func(x ACL) bool { return x.ID == id })
	if i < 0 {
		return fmt.Errorf("acl %q: %w", id, ErrUnknownACL)
	}
	m := a.mut()
	m.ACLs = slices.Delete(slices.Clone(cur.ACLs), i, i+1)
	return nil
}
