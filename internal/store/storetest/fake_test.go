package storetest_test

// An in-memory store, only to check that the conformance suite passes for a store that
// behaves as the contract says. It is not an engine: one mutex, copy-on-Tx snapshots.

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
	"github.com/openorch/openorch/internal/tenancy"
)

func TestFake(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newFake() })
}

func BenchmarkFake(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store { return newFake() })
}

type memberKey struct {
	tenant, folder int64
	p              tenancy.Principal
}

type state struct {
	nextID   int64
	meta     map[string]string
	orgs     map[int64]tenancy.Organization
	tenants  map[int64]tenancy.Tenant
	folders  map[int64]tenancy.Folder
	users    map[int64]tenancy.User
	apps     map[int64]tenancy.App
	machines map[int64]tenancy.Machine
	roles    map[int64]tenancy.Role
	queues   map[int64]tenancy.QueueDefinition
	members  map[memberKey][]int64
}

func (s *state) clone() *state {
	c := *s
	c.meta, c.orgs, c.tenants, c.folders = maps.Clone(s.meta), maps.Clone(s.orgs), maps.Clone(s.tenants), maps.Clone(s.folders)
	c.users, c.apps, c.machines, c.roles = maps.Clone(s.users), maps.Clone(s.apps), maps.Clone(s.machines), maps.Clone(s.roles)
	c.queues, c.members = maps.Clone(s.queues), maps.Clone(s.members)
	return &c
}

type fake struct {
	mu   *sync.Mutex
	st   **state
	inTx bool
}

func newFake() *fake {
	st := &state{meta: map[string]string{}, orgs: map[int64]tenancy.Organization{}, tenants: map[int64]tenancy.Tenant{},
		folders: map[int64]tenancy.Folder{}, users: map[int64]tenancy.User{}, apps: map[int64]tenancy.App{},
		machines: map[int64]tenancy.Machine{}, roles: map[int64]tenancy.Role{}, queues: map[int64]tenancy.QueueDefinition{},
		members: map[memberKey][]int64{}}
	for _, r := range tenancy.BuiltInRoles() {
		st.nextID++
		r.ID = st.nextID
		st.roles[r.ID] = r
	}
	for _, id := range []string{"5v7PmPJL6FOGu6RB8I1Y4adLBhIwovQN", "8DEv1AMNXczW3y4U15LL3jYf62jK93n5", "qccWcbcRgHGP0Nivlm7T9B7lven0AnTW", "orch-cli"} {
		st.nextID++
		st.apps[st.nextID] = tenancy.App{ID: st.nextID, Key: newKey(), Name: id, ClientID: id, FirstParty: true, CreatedAt: time.Now()}
	}
	return &fake{mu: new(sync.Mutex), st: &st}
}

func newKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// do runs fn on the state, under the lock unless inside a transaction (which holds it).
func (f *fake) do(fn func(s *state) error) error {
	if !f.inTx {
		f.mu.Lock()
		defer f.mu.Unlock()
	}
	return fn(*f.st)
}

func (s *state) id() int64 { s.nextID++; return s.nextID }

func notFound(what string, id any) error { return fmt.Errorf("%s %v: %w", what, id, store.ErrNotFound) }
func conflict(what string, v any) error {
	return fmt.Errorf("%s %q is taken: %w", what, v, store.ErrConflict)
}
func sortedByID[T any](m map[int64]T, keep func(T) bool) []T {
	var out []T
	for _, id := range slices.Sorted(maps.Keys(m)) {
		if keep(m[id]) {
			out = append(out, m[id])
		}
	}
	return out
}
func find[T any](m map[int64]T, match func(T) bool) (T, bool) {
	for _, v := range m {
		if match(v) {
			return v, true
		}
	}
	var zero T
	return zero, false
}

func cloneApp(a tenancy.App) tenancy.App {
	a.AppScopes, a.UserScopes, a.RedirectURIs = slices.Clone(a.AppScopes), slices.Clone(a.UserScopes), slices.Clone(a.RedirectURIs)
	return a
}
func cloneRole(r tenancy.Role) tenancy.Role { r.Permissions = slices.Clone(r.Permissions); return r }
func cloneTenant(t tenancy.Tenant) tenancy.Tenant {
	if t.LegacyBasicAuthUntil != nil {
		u := *t.LegacyBasicAuthUntil
		t.LegacyBasicAuthUntil = &u
	}
	return t
}

func (f *fake) Tx(ctx context.Context, fn func(store.Store) error) error {
	if f.inTx {
		return fn(f)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	snap := (*f.st).clone()
	if err := fn(&fake{mu: f.mu, st: f.st, inTx: true}); err != nil {
		*f.st = snap
		return err
	}
	return nil
}

func (f *fake) Lock(ctx context.Context, name string) error {
	if !f.inTx {
		return fmt.Errorf("Lock outside Tx")
	}
	return nil
}
func (f *fake) Ping(ctx context.Context) error { return nil }
func (f *fake) Close() error                   { return nil }

func (f *fake) MetaGet(ctx context.Context, key string) (v string, err error) {
	err = f.do(func(s *state) error {
		var found bool
		if v, found = s.meta[key]; !found {
			return notFound("meta", key)
		}
		return nil
	})
	return v, err
}
func (f *fake) MetaSet(ctx context.Context, key, value string) error {
	return f.do(func(s *state) error { s.meta[key] = value; return nil })
}

// ---- organizations and tenants ----

func (s *state) orgNameTaken(name string, except int64) bool {
	_, taken := find(s.orgs, func(o tenancy.Organization) bool { return o.ID != except && strings.EqualFold(o.Name, name) })
	return taken
}

func (f *fake) OrganizationCreate(ctx context.Context, p store.OrganizationCreateParams) (o tenancy.Organization, err error) {
	err = f.do(func(s *state) error {
		if s.orgNameTaken(p.Name, 0) {
			return conflict("organization name", p.Name)
		}
		o = tenancy.Organization{ID: s.id(), Key: newKey(), Name: p.Name, DisplayName: p.DisplayName, CreatedAt: time.Now()}
		s.orgs[o.ID] = o
		return nil
	})
	return o, err
}
func (f *fake) OrganizationGet(ctx context.Context, id int64) (o tenancy.Organization, err error) {
	err = f.do(func(s *state) error {
		var found bool
		if o, found = s.orgs[id]; !found {
			return notFound("organization", id)
		}
		return nil
	})
	return o, err
}
func (f *fake) OrganizationGetByName(ctx context.Context, nameOrKey string) (o tenancy.Organization, err error) {
	err = f.do(func(s *state) error {
		var found bool
		if o, found = find(s.orgs, func(o tenancy.Organization) bool { return strings.EqualFold(o.Name, nameOrKey) || o.Key == nameOrKey }); !found {
			return notFound("organization", nameOrKey)
		}
		return nil
	})
	return o, err
}
func (f *fake) OrganizationList(ctx context.Context) (out []tenancy.Organization, err error) {
	err = f.do(func(s *state) error {
		out = sortedByID(s.orgs, func(tenancy.Organization) bool { return true })
		return nil
	})
	return out, err
}
func (f *fake) OrganizationUpdate(ctx context.Context, id int64, fn func(tenancy.Organization) (tenancy.Organization, error)) (o tenancy.Organization, err error) {
	err = f.do(func(s *state) error {
		old, found := s.orgs[id]
		if !found {
			return notFound("organization", id)
		}
		n, err := fn(old)
		if err != nil {
			return err
		}
		if s.orgNameTaken(n.Name, id) {
			return conflict("organization name", n.Name)
		}
		n.ID, n.Key, n.CreatedAt = old.ID, old.Key, old.CreatedAt
		s.orgs[id], o = n, n
		return nil
	})
	return o, err
}
func (f *fake) OrganizationDelete(ctx context.Context, id int64) error {
	return f.do(func(s *state) error {
		if _, found := s.orgs[id]; !found {
			return notFound("organization", id)
		}
		delete(s.orgs, id)
		return nil
	})
}

func (s *state) tenantNameTaken(orgID int64, name string, except int64) bool {
	_, taken := find(s.tenants, func(t tenancy.Tenant) bool {
		return t.ID != except && t.OrgID == orgID && strings.EqualFold(t.Name, name)
	})
	return taken
}

func (f *fake) TenantCreate(ctx context.Context, p store.TenantCreateParams) (t tenancy.Tenant, err error) {
	err = f.do(func(s *state) error {
		if _, found := s.orgs[p.OrgID]; !found {
			return notFound("organization", p.OrgID)
		}
		if s.tenantNameTaken(p.OrgID, p.Name, 0) {
			return conflict("tenant name", p.Name)
		}
		t = cloneTenant(tenancy.Tenant{ID: s.id(), Key: newKey(), OrgID: p.OrgID, Name: p.Name, DisplayName: p.DisplayName,
			LegacyBasicAuth: p.LegacyBasicAuth, LegacyBasicAuthUntil: p.LegacyBasicAuthUntil, CreatedAt: time.Now()})
		s.tenants[t.ID] = t
		return nil
	})
	return cloneTenant(t), err
}
func (s *state) tenant(orgID, id int64) (tenancy.Tenant, error) {
	t, found := s.tenants[id]
	if !found || t.OrgID != orgID {
		return tenancy.Tenant{}, notFound("tenant", id)
	}
	return cloneTenant(t), nil
}
func (f *fake) TenantGet(ctx context.Context, orgID, id int64) (t tenancy.Tenant, err error) {
	err = f.do(func(s *state) error { t, err = s.tenant(orgID, id); return err })
	return t, err
}
func (f *fake) TenantGetByName(ctx context.Context, orgID int64, nameOrKey string) (t tenancy.Tenant, err error) {
	err = f.do(func(s *state) error {
		var found bool
		if t, found = find(s.tenants, func(t tenancy.Tenant) bool {
			return t.OrgID == orgID && (strings.EqualFold(t.Name, nameOrKey) || t.Key == nameOrKey)
		}); !found {
			return notFound("tenant", nameOrKey)
		}
		return nil
	})
	return cloneTenant(t), err
}
func (f *fake) TenantList(ctx context.Context, orgID int64) (out []tenancy.Tenant, err error) {
	err = f.do(func(s *state) error {
		out = sortedByID(s.tenants, func(t tenancy.Tenant) bool { return t.OrgID == orgID })
		return nil
	})
	return out, err
}
func (f *fake) TenantUpdate(ctx context.Context, orgID, id int64, fn func(tenancy.Tenant) (tenancy.Tenant, error)) (t tenancy.Tenant, err error) {
	err = f.do(func(s *state) error {
		old, err := s.tenant(orgID, id)
		if err != nil {
			return err
		}
		n, err := fn(old)
		if err != nil {
			return err
		}
		if s.tenantNameTaken(orgID, n.Name, id) {
			return conflict("tenant name", n.Name)
		}
		n.ID, n.Key, n.OrgID, n.CreatedAt = old.ID, old.Key, old.OrgID, old.CreatedAt
		s.tenants[id], t = cloneTenant(n), n
		return nil
	})
	return t, err
}
func (f *fake) TenantDelete(ctx context.Context, orgID, id int64) error {
	return f.do(func(s *state) error {
		if _, err := s.tenant(orgID, id); err != nil {
			return err
		}
		delete(s.tenants, id)
		return nil
	})
}

// ---- folders ----

func (s *state) folder(tenantID, id int64) (tenancy.Folder, error) {
	f, found := s.folders[id]
	if !found || f.TenantID != tenantID {
		return tenancy.Folder{}, notFound("folder", id)
	}
	return f, nil
}
func (s *state) siblingTaken(tenantID, parentID int64, name string, except int64) bool {
	_, taken := find(s.folders, func(f tenancy.Folder) bool {
		return f.ID != except && f.TenantID == tenantID && f.ParentID == parentID && strings.EqualFold(f.DisplayName, name)
	})
	return taken
}
func (f *fake) FolderCreate(ctx context.Context, p store.FolderCreateParams) (fo tenancy.Folder, err error) {
	err = f.do(func(s *state) error {
		fqn, depth := p.DisplayName, 1
		if p.ParentID != 0 {
			parent, err := s.folder(p.TenantID, p.ParentID)
			if err != nil {
				return err
			}
			fqn, depth = parent.FullyQualifiedName+"/"+p.DisplayName, parent.Depth+1
		}
		if depth > tenancy.MaxFolderDepth {
			return fmt.Errorf("folder %q would sit at depth %d: %w", fqn, depth, store.ErrInvalid)
		}
		if s.siblingTaken(p.TenantID, p.ParentID, p.DisplayName, 0) {
			return conflict("folder name", p.DisplayName)
		}
		fo = tenancy.Folder{ID: s.id(), Key: newKey(), TenantID: p.TenantID, ParentID: p.ParentID, DisplayName: p.DisplayName,
			FullyQualifiedName: fqn, Description: p.Description, Depth: depth, CreatedAt: time.Now()}
		s.folders[fo.ID] = fo
		return nil
	})
	return fo, err
}
func (f *fake) FolderGet(ctx context.Context, tenantID, id int64) (fo tenancy.Folder, err error) {
	err = f.do(func(s *state) error { fo, err = s.folder(tenantID, id); return err })
	return fo, err
}
func (f *fake) folderBy(tenantID int64, what string, match func(tenancy.Folder) bool) (fo tenancy.Folder, err error) {
	err = f.do(func(s *state) error {
		var found bool
		if fo, found = find(s.folders, func(fo tenancy.Folder) bool { return fo.TenantID == tenantID && match(fo) }); !found {
			return notFound("folder", what)
		}
		return nil
	})
	return fo, err
}
func (f *fake) FolderGetByKey(ctx context.Context, tenantID int64, key string) (tenancy.Folder, error) {
	return f.folderBy(tenantID, key, func(fo tenancy.Folder) bool { return fo.Key == key })
}
func (f *fake) FolderGetByPath(ctx context.Context, tenantID int64, path string) (tenancy.Folder, error) {
	return f.folderBy(tenantID, path, func(fo tenancy.Folder) bool { return strings.EqualFold(fo.FullyQualifiedName, path) })
}
func (f *fake) FolderList(ctx context.Context, tenantID int64) (out []tenancy.Folder, err error) {
	err = f.do(func(s *state) error {
		out = sortedByID(s.folders, func(fo tenancy.Folder) bool { return fo.TenantID == tenantID })
		return nil
	})
	return out, err
}
func (f *fake) FolderUpdate(ctx context.Context, tenantID, id int64, fn func(tenancy.Folder) (tenancy.Folder, error)) (fo tenancy.Folder, err error) {
	err = f.do(func(s *state) error {
		old, err := s.folder(tenantID, id)
		if err != nil {
			return err
		}
		n, err := fn(old)
		if err != nil {
			return err
		}
		if s.siblingTaken(tenantID, old.ParentID, n.DisplayName, id) {
			return conflict("folder name", n.DisplayName)
		}
		old.DisplayName, old.Description = n.DisplayName, n.Description
		s.folders[id] = old
		// Recompute every name of the tenant, parents first (ids ascend from parent to child).
		for _, fid := range slices.Sorted(maps.Keys(s.folders)) {
			x := s.folders[fid]
			if x.TenantID != tenantID {
				continue
			}
			x.FullyQualifiedName = x.DisplayName
			if x.ParentID != 0 {
				x.FullyQualifiedName = s.folders[x.ParentID].FullyQualifiedName + "/" + x.DisplayName
			}
			s.folders[fid] = x
		}
		fo = s.folders[id]
		return nil
	})
	return fo, err
}
func (f *fake) FolderDelete(ctx context.Context, tenantID, id int64) error {
	return f.do(func(s *state) error {
		if _, err := s.folder(tenantID, id); err != nil {
			return err
		}
		if _, has := find(s.folders, func(x tenancy.Folder) bool { return x.ParentID == id }); has {
			return fmt.Errorf("folder %d has subfolders: %w", id, store.ErrConflict)
		}
		delete(s.folders, id)
		return nil
	})
}

// ---- users and apps ----

func (s *state) emailTaken(orgID int64, email string, except int64) bool {
	_, taken := find(s.users, func(u tenancy.User) bool {
		return u.ID != except && u.OrgID == orgID && strings.EqualFold(u.Email, email)
	})
	return taken
}
func (s *state) user(orgID, id int64) (tenancy.User, error) {
	u, found := s.users[id]
	if !found || u.OrgID != orgID {
		return u, notFound("user", id)
	}
	return u, nil
}
func (f *fake) UserCreate(ctx context.Context, p store.UserCreateParams) (u tenancy.User, err error) {
	err = f.do(func(s *state) error {
		if s.emailTaken(p.OrgID, p.Email, 0) {
			return conflict("email", p.Email)
		}
		u = tenancy.User{ID: s.id(), Key: newKey(), OrgID: p.OrgID, Email: p.Email, Name: p.Name, PasswordHash: p.PasswordHash,
			OrgAdmin: p.OrgAdmin, BasicAuth: p.BasicAuth, CreatedAt: time.Now()}
		s.users[u.ID] = u
		return nil
	})
	return u, err
}
func (f *fake) UserGet(ctx context.Context, orgID, id int64) (u tenancy.User, err error) {
	err = f.do(func(s *state) error { u, err = s.user(orgID, id); return err })
	return u, err
}
func (f *fake) UserGetByEmail(ctx context.Context, orgID int64, email string) (u tenancy.User, err error) {
	err = f.do(func(s *state) error {
		var found bool
		if u, found = find(s.users, func(u tenancy.User) bool { return u.OrgID == orgID && strings.EqualFold(u.Email, email) }); !found {
			return notFound("user", email)
		}
		return nil
	})
	return u, err
}
func (f *fake) UserList(ctx context.Context, orgID int64) (out []tenancy.User, err error) {
	err = f.do(func(s *state) error {
		out = sortedByID(s.users, func(u tenancy.User) bool { return u.OrgID == orgID })
		return nil
	})
	return out, err
}
func (f *fake) UserUpdate(ctx context.Context, orgID, id int64, fn func(tenancy.User) (tenancy.User, error)) (u tenancy.User, err error) {
	err = f.do(func(s *state) error {
		old, err := s.user(orgID, id)
		if err != nil {
			return err
		}
		n, err := fn(old)
		if err != nil {
			return err
		}
		if s.emailTaken(orgID, n.Email, id) {
			return conflict("email", n.Email)
		}
		n.ID, n.Key, n.OrgID, n.CreatedAt = old.ID, old.Key, old.OrgID, old.CreatedAt
		s.users[id], u = n, n
		return nil
	})
	return u, err
}
func (f *fake) UserDelete(ctx context.Context, orgID, id int64) error {
	return f.do(func(s *state) error {
		if _, err := s.user(orgID, id); err != nil {
			return err
		}
		delete(s.users, id)
		return nil
	})
}

func (s *state) clientTaken(clientID string, except int64) bool {
	_, taken := find(s.apps, func(a tenancy.App) bool { return a.ID != except && a.ClientID == clientID })
	return taken
}
func (s *state) app(orgID, id int64) (tenancy.App, error) {
	a, found := s.apps[id]
	if !found || a.OrgID != orgID {
		return a, notFound("app", id)
	}
	return cloneApp(a), nil
}
func (f *fake) AppCreate(ctx context.Context, p store.AppCreateParams) (a tenancy.App, err error) {
	err = f.do(func(s *state) error {
		if s.clientTaken(p.ClientID, 0) {
			return conflict("client id", p.ClientID)
		}
		a = cloneApp(tenancy.App{ID: s.id(), Key: newKey(), OrgID: p.OrgID, Name: p.Name, ClientID: p.ClientID, SecretHash: p.SecretHash,
			AppScopes: p.AppScopes, UserScopes: p.UserScopes, RedirectURIs: p.RedirectURIs, CreatedAt: time.Now()})
		s.apps[a.ID] = a
		return nil
	})
	return cloneApp(a), err
}
func (f *fake) AppGet(ctx context.Context, orgID, id int64) (a tenancy.App, err error) {
	err = f.do(func(s *state) error { a, err = s.app(orgID, id); return err })
	return a, err
}
func (f *fake) AppGetByClientID(ctx context.Context, clientID string) (a tenancy.App, err error) {
	err = f.do(func(s *state) error {
		var found bool
		if a, found = find(s.apps, func(a tenancy.App) bool { return a.ClientID == clientID }); !found {
			return notFound("app", clientID)
		}
		return nil
	})
	return cloneApp(a), err
}
func (f *fake) AppList(ctx context.Context, orgID int64) (out []tenancy.App, err error) {
	err = f.do(func(s *state) error {
		out = sortedByID(s.apps, func(a tenancy.App) bool { return a.OrgID == orgID })
		for i := range out {
			out[i] = cloneApp(out[i])
		}
		return nil
	})
	return out, err
}
func (f *fake) AppUpdate(ctx context.Context, orgID, id int64, fn func(tenancy.App) (tenancy.App, error)) (a tenancy.App, err error) {
	err = f.do(func(s *state) error {
		old, err := s.app(orgID, id)
		if err != nil {
			return err
		}
		n, err := fn(old)
		if err != nil {
			return err
		}
		if s.clientTaken(n.ClientID, id) {
			return conflict("client id", n.ClientID)
		}
		n.ID, n.Key, n.OrgID, n.CreatedAt, n.FirstParty = old.ID, old.Key, old.OrgID, old.CreatedAt, old.FirstParty
		s.apps[id], a = cloneApp(n), n
		return nil
	})
	return a, err
}
func (f *fake) AppDelete(ctx context.Context, orgID, id int64) error {
	return f.do(func(s *state) error {
		if _, err := s.app(orgID, id); err != nil {
			return err
		}
		delete(s.apps, id)
		return nil
	})
}

// ---- machines ----

func (s *state) machine(tenantID, id int64) (tenancy.Machine, error) {
	m, found := s.machines[id]
	if !found || m.TenantID != tenantID {
		return m, notFound("machine", id)
	}
	return m, nil
}
func (s *state) machineTaken(m tenancy.Machine) error {
	for _, x := range s.machines {
		if x.ID == m.ID {
			continue
		}
		if x.ClientID == m.ClientID {
			return conflict("machine client id", m.ClientID)
		}
		if x.TenantID == m.TenantID && strings.EqualFold(x.Name, m.Name) {
			return conflict("machine name", m.Name)
		}
	}
	return nil
}
func (f *fake) MachineCreate(ctx context.Context, p store.MachineCreateParams) (m tenancy.Machine, err error) {
	err = f.do(func(s *state) error {
		m = tenancy.Machine{TenantID: p.TenantID, Name: p.Name, ClientID: p.ClientID, SecretHash: p.SecretHash, Slots: p.Slots, CreatedAt: time.Now()}
		if err := s.machineTaken(m); err != nil {
			return err
		}
		m.ID, m.Key = s.id(), newKey()
		s.machines[m.ID] = m
		return nil
	})
	return m, err
}
func (f *fake) MachineGet(ctx context.Context, tenantID, id int64) (m tenancy.Machine, err error) {
	err = f.do(func(s *state) error { m, err = s.machine(tenantID, id); return err })
	return m, err
}
func (f *fake) machineBy(what string, match func(tenancy.Machine) bool) (m tenancy.Machine, err error) {
	err = f.do(func(s *state) error {
		var found bool
		if m, found = find(s.machines, match); !found {
			return notFound("machine", what)
		}
		return nil
	})
	return m, err
}
func (f *fake) MachineGetByName(ctx context.Context, tenantID int64, name string) (tenancy.Machine, error) {
	return f.machineBy(name, func(m tenancy.Machine) bool { return m.TenantID == tenantID && strings.EqualFold(m.Name, name) })
}
func (f *fake) MachineGetByClientID(ctx context.Context, clientID string) (tenancy.Machine, error) {
	return f.machineBy(clientID, func(m tenancy.Machine) bool { return m.ClientID == clientID })
}
func (f *fake) MachineList(ctx context.Context, tenantID int64) (out []tenancy.Machine, err error) {
	err = f.do(func(s *state) error {
		out = sortedByID(s.machines, func(m tenancy.Machine) bool { return m.TenantID == tenantID })
		return nil
	})
	return out, err
}
func (f *fake) MachineUpdate(ctx context.Context, tenantID, id int64, fn func(tenancy.Machine) (tenancy.Machine, error)) (m tenancy.Machine, err error) {
	err = f.do(func(s *state) error {
		old, err := s.machine(tenantID, id)
		if err != nil {
			return err
		}
		n, err := fn(old)
		if err != nil {
			return err
		}
		n.ID, n.Key, n.TenantID, n.CreatedAt = old.ID, old.Key, old.TenantID, old.CreatedAt
		if err := s.machineTaken(n); err != nil {
			return err
		}
		s.machines[id], m = n, n
		return nil
	})
	return m, err
}
func (f *fake) MachineDelete(ctx context.Context, tenantID, id int64) error {
	return f.do(func(s *state) error {
		if _, err := s.machine(tenantID, id); err != nil {
			return err
		}
		delete(s.machines, id)
		return nil
	})
}

// ---- roles ----

func (s *state) role(tenantID, id int64) (tenancy.Role, error) {
	r, found := s.roles[id]
	if !found || (!r.BuiltIn && r.TenantID != tenantID) {
		return r, notFound("role", id)
	}
	return cloneRole(r), nil
}
func (s *state) roleNameTaken(tenantID int64, name string, except int64) bool {
	_, taken := find(s.roles, func(r tenancy.Role) bool {
		return r.ID != except && (r.BuiltIn || r.TenantID == tenantID) && strings.EqualFold(r.Name, name)
	})
	return taken
}
func (f *fake) RoleCreate(ctx context.Context, p store.RoleCreateParams) (r tenancy.Role, err error) {
	err = f.do(func(s *state) error {
		if s.roleNameTaken(p.TenantID, p.Name, 0) {
			return conflict("role name", p.Name)
		}
		r = cloneRole(tenancy.Role{ID: s.id(), TenantID: p.TenantID, Name: p.Name, Type: p.Type, Permissions: p.Permissions})
		s.roles[r.ID] = r
		return nil
	})
	return cloneRole(r), err
}
func (f *fake) RoleGet(ctx context.Context, tenantID, id int64) (r tenancy.Role, err error) {
	err = f.do(func(s *state) error { r, err = s.role(tenantID, id); return err })
	return r, err
}
func (f *fake) RoleGetByName(ctx context.Context, tenantID int64, name string) (r tenancy.Role, err error) {
	err = f.do(func(s *state) error {
		var found bool
		if r, found = find(s.roles, func(r tenancy.Role) bool { return (r.BuiltIn || r.TenantID == tenantID) && r.Name == name }); !found {
			return notFound("role", name)
		}
		return nil
	})
	return cloneRole(r), err
}
func (f *fake) RoleList(ctx context.Context, tenantID int64) (out []tenancy.Role, err error) {
	err = f.do(func(s *state) error {
		out = sortedByID(s.roles, func(r tenancy.Role) bool { return r.BuiltIn || r.TenantID == tenantID })
		for i := range out {
			out[i] = cloneRole(out[i])
		}
		return nil
	})
	return out, err
}
func (f *fake) RoleUpdate(ctx context.Context, tenantID, id int64, fn func(tenancy.Role) (tenancy.Role, error)) (r tenancy.Role, err error) {
	err = f.do(func(s *state) error {
		old, err := s.role(tenantID, id)
		if err != nil {
			return err
		}
		if old.BuiltIn {
			return fmt.Errorf("role %q is built in: %w", old.Name, store.ErrInvalid)
		}
		n, err := fn(old)
		if err != nil {
			return err
		}
		if s.roleNameTaken(tenantID, n.Name, id) {
			return conflict("role name", n.Name)
		}
		n.ID, n.TenantID, n.BuiltIn = old.ID, old.TenantID, false
		s.roles[id], r = cloneRole(n), n
		return nil
	})
	return r, err
}
func (f *fake) RoleDelete(ctx context.Context, tenantID, id int64) error {
	return f.do(func(s *state) error {
		r, err := s.role(tenantID, id)
		if err != nil {
			return err
		}
		if r.BuiltIn {
			return fmt.Errorf("role %q is built in: %w", r.Name, store.ErrInvalid)
		}
		delete(s.roles, id)
		return nil
	})
}

// ---- memberships and access ----

func (f *fake) MembershipSet(ctx context.Context, m tenancy.Membership) error {
	return f.do(func(s *state) error {
		if m.FolderID != 0 {
			if _, err := s.folder(m.TenantID, m.FolderID); err != nil {
				return err
			}
		}
		for _, id := range m.RoleIDs {
			if _, err := s.role(m.TenantID, id); err != nil {
				return err
			}
		}
		k := memberKey{m.TenantID, m.FolderID, m.Principal}
		if len(m.RoleIDs) == 0 {
			delete(s.members, k)
		} else {
			s.members[k] = slices.Clone(m.RoleIDs)
		}
		return nil
	})
}
func (s *state) memberships(keep func(memberKey) bool) []tenancy.Membership {
	var out []tenancy.Membership
	for k, roles := range s.members {
		if keep(k) {
			out = append(out, tenancy.Membership{TenantID: k.tenant, FolderID: k.folder, Principal: k.p, RoleIDs: slices.Clone(roles)})
		}
	}
	slices.SortFunc(out, func(a, b tenancy.Membership) int { return cmp.Compare(a.FolderID, b.FolderID) })
	return out
}
func (f *fake) MembershipListPrincipal(ctx context.Context, tenantID int64, p tenancy.Principal) (out []tenancy.Membership, err error) {
	err = f.do(func(s *state) error {
		out = s.memberships(func(k memberKey) bool { return k.tenant == tenantID && k.p == p })
		return nil
	})
	return out, err
}
func (f *fake) MembershipListFolder(ctx context.Context, tenantID, folderID int64) (out []tenancy.Membership, err error) {
	err = f.do(func(s *state) error {
		out = s.memberships(func(k memberKey) bool { return k.tenant == tenantID && k.folder == folderID })
		return nil
	})
	return out, err
}
func (f *fake) AccessGet(ctx context.Context, tenantID int64, p tenancy.Principal, orgAdmin bool) (a tenancy.Access, err error) {
	err = f.do(func(s *state) error {
		ms := s.memberships(func(k memberKey) bool { return k.tenant == tenantID && k.p == p })
		roles := map[int64]tenancy.Role{}
		for _, r := range s.roles {
			if r.BuiltIn || r.TenantID == tenantID {
				roles[r.ID] = r
			}
		}
		folders := sortedByID(s.folders, func(fo tenancy.Folder) bool { return fo.TenantID == tenantID })
		a = tenancy.NewAccess(orgAdmin, ms, roles, folders)
		return nil
	})
	return a, err
}

// ---- queue definitions ----

func (s *state) queue(tenantID, id int64) (tenancy.QueueDefinition, error) {
	q, found := s.queues[id]
	if !found || q.TenantID != tenantID {
		return q, notFound("queue", id)
	}
	return q, nil
}
func (s *state) queueNameTaken(folderID int64, name string, except int64) bool {
	_, taken := find(s.queues, func(q tenancy.QueueDefinition) bool {
		return q.ID != except && q.FolderID == folderID && strings.EqualFold(q.Name, name)
	})
	return taken
}
func (f *fake) QueueDefinitionCreate(ctx context.Context, p store.QueueDefinitionCreateParams) (q tenancy.QueueDefinition, err error) {
	err = f.do(func(s *state) error {
		if _, err := s.folder(p.TenantID, p.FolderID); err != nil {
			return err
		}
		if s.queueNameTaken(p.FolderID, p.Name, 0) {
			return conflict("queue name", p.Name)
		}
		q = tenancy.QueueDefinition{ID: s.id(), Key: newKey(), TenantID: p.TenantID, FolderID: p.FolderID, Name: p.Name, Description: p.Description,
			MaxNumberOfRetries: p.MaxNumberOfRetries, EnforceUniqueReference: p.EnforceUniqueReference, CreatedAt: time.Now()}
		s.queues[q.ID] = q
		return nil
	})
	return q, err
}
func (f *fake) QueueDefinitionGet(ctx context.Context, tenantID, id int64) (q tenancy.QueueDefinition, err error) {
	err = f.do(func(s *state) error { q, err = s.queue(tenantID, id); return err })
	return q, err
}
func (f *fake) QueueDefinitionGetByName(ctx context.Context, tenantID, folderID int64, name string) (q tenancy.QueueDefinition, err error) {
	err = f.do(func(s *state) error {
		var found bool
		if q, found = find(s.queues, func(q tenancy.QueueDefinition) bool {
			return q.TenantID == tenantID && q.FolderID == folderID && strings.EqualFold(q.Name, name)
		}); !found {
			return notFound("queue", name)
		}
		return nil
	})
	return q, err
}
func (f *fake) QueueDefinitionList(ctx context.Context, tenantID, folderID int64) (out []tenancy.QueueDefinition, err error) {
	err = f.do(func(s *state) error {
		out = sortedByID(s.queues, func(q tenancy.QueueDefinition) bool { return q.TenantID == tenantID && q.FolderID == folderID })
		return nil
	})
	return out, err
}
func (f *fake) QueueDefinitionUpdate(ctx context.Context, tenantID, id int64, fn func(tenancy.QueueDefinition) (tenancy.QueueDefinition, error)) (q tenancy.QueueDefinition, err error) {
	err = f.do(func(s *state) error {
		old, err := s.queue(tenantID, id)
		if err != nil {
			return err
		}
		n, err := fn(old)
		if err != nil {
			return err
		}
		if s.queueNameTaken(old.FolderID, n.Name, id) {
			return conflict("queue name", n.Name)
		}
		n.ID, n.Key, n.TenantID, n.FolderID, n.CreatedAt = old.ID, old.Key, old.TenantID, old.FolderID, old.CreatedAt
		s.queues[id], q = n, n
		return nil
	})
	return q, err
}
func (f *fake) QueueDefinitionDelete(ctx context.Context, tenantID, id int64) error {
	return f.do(func(s *state) error {
		if _, err := s.queue(tenantID, id); err != nil {
			return err
		}
		delete(s.queues, id)
		return nil
	})
}
