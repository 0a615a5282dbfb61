package meta

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Principal kinds.
const (
	PrincipalUser           = "user"
	PrincipalServiceAccount = "service"
)

// Limits on principals and tokens that Apply enforces.
const (
	// MaxPrincipalNameLen bounds principal names (and an ACL's principal).
	MaxPrincipalNameLen = 128
	// MaxTokensPerPrincipal bounds the live tokens of one principal.
	MaxTokensPerPrincipal = 16
	// maxTokenIDLen and maxTokenHashLen bound what a token entry carries.
	maxTokenIDLen   = 64
	maxTokenHashLen = 512
)

// Principal is a user or service account that authenticates with API
// tokens. Certificate principals (the subject CN of a verified client
// certificate) are not stored: ACLs name them directly.
type Principal struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
	Tokens    []Token   `json:"tokens,omitempty"`
}

// Token is one API token of a principal. The secret itself is never
// stored: Hash is its argon2id hash in PHC string form (platform/auth
// makes and checks it), so metadata snapshots and the raft log reveal no
// credential.
type Token struct {
	// ID is the token's public prefix ("slu_<ID>_<secret>"), unique in
	// the cluster, so that verification hashes once.
	ID        string    `json:"id"`
	Hash      string    `json:"hash"`
	CreatedAt time.Time `json:"created_at"`
}

func (p *Principal) clone() *Principal {
	n := *p
	n.Tokens = slices.Clone(p.Tokens)
	return &n
}

// CreatePrincipal creates a principal with its first token.
type CreatePrincipal struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Token Token  `json:"token"`
}

// DeletePrincipal deletes a principal and its tokens. ACLs naming it stay
// (as in Kafka): a principal created again under the name gets them back.
type DeletePrincipal struct {
	Name string `json:"name"`
}

// AddToken adds a token to a principal.
type AddToken struct {
	Principal string `json:"principal"`
	Token     Token  `json:"token"`
}

// RevokeToken removes one token of a principal.
type RevokeToken struct {
	Principal string `json:"principal"`
	TokenID   string `json:"token_id"`
}

// BootstrapAuth creates the first admin of a secure cluster: a principal
// with a token and an ACL allowing it admin on the cluster. It applies
// once, only while the cluster has no principal and was never
// bootstrapped; afterwards (or on a repeat) it changes nothing.
type BootstrapAuth struct {
	Principal CreatePrincipal `json:"principal"`
}

// PrincipalNames returns the principal names, sorted.
func (c *Cluster) PrincipalNames() []string {
	names := make([]string, 0, len(c.Principals))
	for n := range c.Principals {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TokenOwner returns the principal holding the token with id.
func (c *Cluster) TokenOwner(id string) (*Principal, *Token, bool) {
	for _, p := range c.Principals {
		for i := range p.Tokens {
			if p.Tokens[i].ID == id {
				return p, &p.Tokens[i], true
			}
		}
	}
	return nil, nil, false
}

// ValidPrincipalName reports whether name can name a token principal:
// 1 to MaxPrincipalNameLen letters, digits, '.', '_', '-' or '@'.
func ValidPrincipalName(name string) bool {
	if len(name) == 0 || len(name) > MaxPrincipalNameLen || name == "*" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '_', c == '-', c == '@':
		default:
			return false
		}
	}
	return true
}

func validToken(t Token) error {
	if t.ID == "" || len(t.ID) > maxTokenIDLen {
		return fmt.Errorf("token id %q: want 1 to %d characters: %w", t.ID, maxTokenIDLen, ErrInvalidRequest)
	}
	for i := 0; i < len(t.ID); i++ {
		c := t.ID[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return fmt.Errorf("token id %q: want lower-case letters and digits: %w", t.ID, ErrInvalidRequest)
		}
	}
	if t.Hash == "" || len(t.Hash) > maxTokenHashLen {
		return fmt.Errorf("token %s: hash missing or longer than %d: %w", t.ID, maxTokenHashLen, ErrInvalidRequest)
	}
	return nil
}

func (a *applier) putPrincipal(p *Principal) {
	m := a.mut()
	if !a.principalsCopied {
		m.Principals = cloneMap(m.Principals)
		a.principalsCopied = true
	}
	m.Principals[p.Name] = p
}

func (a *applier) removePrincipal(name string) {
	m := a.mut()
	if !a.principalsCopied {
		m.Principals = cloneMap(m.Principals)
		a.principalsCopied = true
	}
	delete(m.Principals, name)
}

func (a *applier) createPrincipal(cmd *CreatePrincipal) error {
	if !ValidPrincipalName(cmd.Name) {
		return fmt.Errorf("principal name %q: want 1 to %d letters, digits, '.', '_', '-' or '@': %w", cmd.Name, MaxPrincipalNameLen, ErrInvalidRequest)
	}
	kind := cmd.Kind
	if kind == "" {
		kind = PrincipalUser
	}
	if kind != PrincipalUser && kind != PrincipalServiceAccount {
		return fmt.Errorf("principal kind %q: want %q or %q: %w", cmd.Kind, PrincipalUser, PrincipalServiceAccount, ErrInvalidRequest)
	}
	if _, ok := a.cur().Principals[cmd.Name]; ok {
		return fmt.Errorf("principal %q: %w", cmd.Name, ErrPrincipalExists)
	}
	if err := a.checkNewToken(cmd.Token); err != nil {
		return err
	}
	tok := cmd.Token
	tok.CreatedAt = a.now
	p := &Principal{Name: cmd.Name, Kind: kind, CreatedAt: a.now, Tokens: []Token{tok}}
	a.putPrincipal(p)
	a.res.Principal = p
	return nil
}

func (a *applier) checkNewToken(t Token) error {
	if err := validToken(t); err != nil {
		return err
	}
	if _, _, taken := a.cur().TokenOwner(t.ID); taken {
		return fmt.Errorf("token id %s already in use: %w", t.ID, ErrInvalidRequest)
	}
	return nil
}

func (a *applier) deletePrincipal(name string) error {
	if _, ok := a.cur().Principals[name]; !ok {
		return fmt.Errorf("principal %q: %w", name, ErrUnknownPrincipal)
	}
	a.removePrincipal(name)
	return nil
}

func (a *applier) addToken(cmd *AddToken) error {
	old, ok := a.cur().Principals[cmd.Principal]
	if !ok {
		return fmt.Errorf("principal %q: %w", cmd.Principal, ErrUnknownPrincipal)
	}
	if len(old.Tokens) >= MaxTokensPerPrincipal {
		return fmt.Errorf("principal %q has %d tokens, the most it may hold; revoke one first: %w", cmd.Principal, len(old.Tokens), ErrInvalidRequest)
	}
	if err := a.checkNewToken(cmd.Token); err != nil {
		return err
	}
	p := old.clone()
	tok := cmd.Token
	tok.CreatedAt = a.now
	p.Tokens = append(p.Tokens, tok)
	a.putPrincipal(p)
	a.res.Principal = p
	return nil
}

func (a *applier) revokeToken(cmd *RevokeToken) error {
	old, ok := a.cur().Principals[cmd.Principal]
	if !ok {
		return fmt.Errorf("principal %q: %w", cmd.Principal, ErrUnknownPrincipal)
	}
	i := slices.IndexFunc(old.Tokens, func(t Token) bool { return t.ID == cmd.TokenID })
	if i < 0 {
		return fmt.Errorf("principal %q has no token %q: %w", cmd.Principal, cmd.TokenID, ErrUnknownPrincipal)
	}
	p := old.clone()
	p.Tokens = slices.Delete(p.Tokens, i, i+1)
	a.putPrincipal(p)
	a.res.Principal = p
	return nil
}

func (a *applier) bootstrapAuth(cmd *BootstrapAuth) error {
	cur := a.cur()
	if cur.AuthBootstrapped || len(cur.Principals) > 0 {
		return nil
	}
	if err := a.createPrincipal(&cmd.Principal); err != nil {
		return err
	}
	if err := a.addACL(ACL{Principal: cmd.Principal.Name, ResourceType: ResourceCluster, Resource: ClusterResourceName,
		Operation: OperationAdmin, Effect: EffectAllow}); err != nil {
		return err
	}
	a.mut().AuthBootstrapped = true
	return nil
}

// applyAuth applies the principal and ACL commands.
func (a *applier) applyAuth(cmd Command) error {
	missing := fmt.Errorf("payload missing: %w", ErrInvalidRequest)
	switch cmd.Op {
	case OpCreatePrincipal:
		if cmd.CreatePrincipal == nil {
			return missing
		}
		return a.createPrincipal(cmd.CreatePrincipal)
	case OpDeletePrincipal:
		if cmd.DeletePrincipal == nil {
			return missing
		}
		return a.deletePrincipal(cmd.DeletePrincipal.Name)
	case OpAddToken:
		if cmd.AddToken == nil {
			return missing
		}
		return a.addToken(cmd.AddToken)
	case OpRevokeToken:
		if cmd.RevokeToken == nil {
			return missing
		}
		return a.revokeToken(cmd.RevokeToken)
	case OpAddACL:
		if cmd.AddACL == nil {
			return missing
		}
		return a.addACL(cmd.AddACL.ACL)
	case OpRemoveACL:
		if cmd.RemoveACL == nil {
			return missing
		}
		return a.removeACL(cmd.RemoveACL.ID)
	case OpBootstrapAuth:
		if cmd.BootstrapAuth == nil {
			return missing
		}
		return a.bootstrapAuth(cmd.BootstrapAuth)
	default:
		return fmt.Errorf("unknown op %q: %w", cmd.Op, ErrInvalidRequest)
	}
}
