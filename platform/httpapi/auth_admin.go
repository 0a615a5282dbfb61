package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/platform/auth"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// registerAuthAdmin adds the principal, token and ACL routes
// (wire.RouteListPrincipals ... wire.RouteWhoAmI).
func (s *Server) registerAuthAdmin() {
	s.HandleFunc(wire.RouteListPrincipals, s.listPrincipals)
	s.HandleFunc(wire.RouteCreatePrincipal, s.createPrincipal)
	s.HandleFunc(wire.RouteDeletePrincipal, s.deletePrincipal)
	s.HandleFunc(wire.RouteCreateToken, s.createToken)
	s.HandleFunc(wire.RouteRevokeToken, s.revokeToken)
	s.HandleFunc(wire.RouteListACLs, s.listACLs)
	s.HandleFunc(wire.RouteAddACL, s.addACL)
	s.HandleFunc(wire.RouteRemoveACL, s.removeACL)
	s.HandleFunc(wire.RouteWhoAmI, s.whoAmI)
}

func principalToWire(p *meta.Principal) wire.Principal {
	out := wire.Principal{Name: p.Name, Kind: p.Kind, CreatedAt: p.CreatedAt}
	for _, t := range p.Tokens {
		out.Tokens = append(out.Tokens, wire.TokenInfo{ID: t.ID, CreatedAt: t.CreatedAt})
	}
	return out
}

func (s *Server) listPrincipals(w http.ResponseWriter, r *http.Request) {
	c := s.cfg.Metadata()
	out := wire.PrincipalList{Principals: []wire.Principal{}}
	for _, name := range c.PrincipalNames() {
		out.Principals = append(out.Principals, principalToWire(c.Principals[name]))
	}
	writeJSON(w, http.StatusOK, out)
}

// commit proposes cmd and waits until this node applied it, so that the
// caller's next request here sees the change (a new token verifies).
func (s *Server) commit(w http.ResponseWriter, r *http.Request, cmd meta.Command) (meta.Result, bool) {
	res, err := s.propose(r.Context(), cmd)
	if err == nil {
		err = s.awaitLocal(r.Context(), res.Version)
	}
	if err != nil {
		s.writeError(w, r, err)
		return res, false
	}
	return res, true
}

func (s *Server) createPrincipal(w http.ResponseWriter, r *http.Request) {
	var req wire.CreatePrincipalRequest
	if err := readJSON(w, r, s.cfg.MaxRequestBytes, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	tok, id := auth.NewToken()
	cmd := meta.Command{Op: meta.OpCreatePrincipal, CreatePrincipal: &meta.CreatePrincipal{
		Name: req.Name, Kind: req.Kind, Token: meta.Token{ID: id, Hash: auth.HashToken(tok)}}}
	if _, ok := s.commit(w, r, cmd); !ok {
		return
	}
	writeJSON(w, http.StatusCreated, wire.NewToken{Principal: req.Name, ID: id, Token: tok})
}

func (s *Server) deletePrincipal(w http.ResponseWriter, r *http.Request) {
	cmd := meta.Command{Op: meta.OpDeletePrincipal, DeletePrincipal: &meta.DeletePrincipal{Name: r.PathValue("principal")}}
	if _, ok := s.commit(w, r, cmd); ok {
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("principal")
	tok, id := auth.NewToken()
	cmd := meta.Command{Op: meta.OpAddToken, AddToken: &meta.AddToken{Principal: name, Token: meta.Token{ID: id, Hash: auth.HashToken(tok)}}}
	if _, ok := s.commit(w, r, cmd); !ok {
		return
	}
	writeJSON(w, http.StatusCreated, wire.NewToken{Principal: name, ID: id, Token: tok})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	cmd := meta.Command{Op: meta.OpRevokeToken, RevokeToken: &meta.RevokeToken{Principal: r.PathValue("principal"), TokenID: r.PathValue("token")}}
	if _, ok := s.commit(w, r, cmd); ok {
		w.WriteHeader(http.StatusNoContent)
	}
}

func aclToWire(a meta.ACL) wire.ACL {
	return wire.ACL{ID: a.ID, Principal: a.Principal, ResourceType: a.ResourceType, Resource: a.Resource,
		Pattern: a.Pattern, Operation: a.Operation, Effect: a.Effect}
}

func (s *Server) listACLs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out := wire.ACLList{ACLs: []wire.ACL{}}
	for _, a := range s.cfg.Metadata().ACLs {
		if p := q.Get("principal"); p != "" && a.Principal != p {
			continue
		}
		if t := q.Get("resource_type"); t != "" && a.ResourceType != t {
			continue
		}
		out.ACLs = append(out.ACLs, aclToWire(a))
	}
	slices.SortStableFunc(out.ACLs, func(a, b wire.ACL) int { return strings.Compare(a.Principal, b.Principal) })
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) addACL(w http.ResponseWriter, r *http.Request) {
	var req wire.ACL
	if err := readJSON(w, r, s.cfg.MaxRequestBytes, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	acl := meta.ACL{Principal: req.Principal, ResourceType: req.ResourceType, Resource: req.Resource,
		Pattern: req.Pattern, Operation: req.Operation, Effect: req.Effect}
	res, ok := s.commit(w, r, meta.Command{Op: meta.OpAddACL, AddACL: &meta.AddACL{ACL: acl}})
	if !ok {
		return
	}
	status := http.StatusCreated
	if !res.Changed {
		status = http.StatusOK
	}
	if res.ACL == nil {
		s.writeError(w, r, wire.Errorf(wire.CodeInternal, "add acl: the controller answered without the entry"))
		return
	}
	writeJSON(w, status, aclToWire(*res.ACL))
}

func (s *Server) removeACL(w http.ResponseWriter, r *http.Request) {
	cmd := meta.Command{Op: meta.OpRemoveACL, RemoveACL: &meta.RemoveACL{ID: r.PathValue("acl")}}
	if _, ok := s.commit(w, r, cmd); ok {
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) whoAmI(w http.ResponseWriter, r *http.Request) {
	out := wire.WhoAmI{AuthEnabled: s.cfg.Security.Auth}
	if id, ok := IdentityFrom(r.Context()); ok {
		out.Principal, out.Method = id.Principal, id.Method
	} else {
		out.Anonymous = true
	}
	writeJSON(w, http.StatusOK, out)
}
