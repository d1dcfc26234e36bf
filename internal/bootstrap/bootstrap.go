// Package bootstrap brings a database to the state a bootstrap file (DESIGN §2) describes,
// creates the demo set, and checks the installation's secret key against the database.
//
// Apply runs in one transaction under the installation-wide "bootstrap" lock, so nodes
// starting together apply the file once, and a crash half-way leaves nothing behind. It is
// idempotent: for every entry the file lists, the file's values win over edits made through
// the API; entries removed from the file are left alone (nothing is ever deleted).
package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/openorch/openorch/internal/config"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Apply makes the database match f. src names the file in errors ("orch.yaml").
func Apply(ctx context.Context, st store.Store, f *config.File, src string) error {
	if f == nil {
		return nil
	}
	return st.Tx(ctx, func(tx store.Store) error {
		if err := tx.Lock(ctx, "bootstrap"); err != nil {
			return err
		}
		for i, o := range f.Organizations {
			a := applier{st: tx, path: fmt.Sprintf("%s: organizations[%d]", src, i)}
			if err := a.organization(ctx, o); err != nil {
				return err
			}
		}
		return nil
	})
}

type applier struct {
	st   store.Store
	path string
	org  tenancy.Organization
}

func (a *applier) errf(sub string, err error) error {
	return fmt.Errorf("%s%s: %w", a.path, sub, err)
}

func (a *applier) organization(ctx context.Context, o config.OrganizationSpec) error {
	display := o.DisplayName
	if display == "" {
		display = o.Name
	}
	org, err := a.st.OrganizationGetByName(ctx, o.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		org, err = a.st.OrganizationCreate(ctx, store.OrganizationCreateParams{Name: o.Name, DisplayName: display})
	case err == nil && (org.Name != o.Name || org.DisplayName != display):
		org, err = a.st.OrganizationUpdate(ctx, org.ID, func(old tenancy.Organization) (tenancy.Organization, error) {
			old.Name, old.DisplayName = o.Name, display
			return old, nil
		})
	}
	if err != nil {
		return a.errf("", err)
	}
	a.org = org
	for i, u := range o.Users {
		if err := a.user(ctx, u); err != nil {
			return a.errf(fmt.Sprintf(".users[%d]", i), err)
		}
	}
	for i, app := range o.Apps {
		if err := a.app(ctx, app); err != nil {
			return a.errf(fmt.Sprintf(".apps[%d]", i), err)
		}
	}
	for i, t := range o.Tenants {
		if err := a.tenant(ctx, t); err != nil {
			return a.errf(fmt.Sprintf(".tenants[%d]", i), err)
		}
	}
	return nil
}

func (a *applier) user(ctx context.Context, u config.UserSpec) error {
	existing, err := a.st.UserGetByEmail(ctx, a.org.ID, u.Email)
	if errors.Is(err, store.ErrNotFound) {
		hash := ""
		if u.Password != "" {
			if hash, err = secret.HashPassword(u.Password); err != nil {
				return err
			}
		}
		_, err = a.st.UserCreate(ctx, store.UserCreateParams{OrgID: a.org.ID, Email: u.Email, Name: u.Name,
			PasswordHash: hash, OrgAdmin: u.OrgAdmin, BasicAuth: u.BasicAuth})
		return err
	}
	if err != nil {
		return err
	}
	// Keep the stored hash when the file's password still matches it: rehashing would
	// change the row (new salt) on every start.
	hash := existing.PasswordHash
	if u.Password != "" {
		if ok, _ := secret.PasswordMatches(u.Password, hash); !ok {
			if hash, err = secret.HashPassword(u.Password); err != nil {
				return err
			}
		}
	}
	want := existing
	want.Email, want.Name, want.PasswordHash, want.OrgAdmin, want.BasicAuth = u.Email, u.Name, hash, u.OrgAdmin, u.BasicAuth
	if want == existing {
		return nil
	}
	_, err = a.st.UserUpdate(ctx, a.org.ID, existing.ID, func(old tenancy.User) (tenancy.User, error) {
		old.Email, old.Name, old.PasswordHash, old.OrgAdmin, old.BasicAuth = u.Email, u.Name, hash, u.OrgAdmin, u.BasicAuth
		return old, nil
	})
	return err
}

func secretHash(s string) string {
	if s == "" {
		return ""
	}
	return secret.HashToken(s)
}

func (a *applier) app(ctx context.Context, s config.AppSpec) error {
	name := s.Name
	if name == "" {
		name = s.ClientID
	}
	existing, err := a.st.AppGetByClientID(ctx, s.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		_, err = a.st.AppCreate(ctx, store.AppCreateParams{OrgID: a.org.ID, Name: name, ClientID: s.ClientID,
			SecretHash: secretHash(s.ClientSecret), AppScopes: s.AppScopes, UserScopes: s.UserScopes, RedirectURIs: s.RedirectURIs})
		return err
	}
	if err != nil {
		return err
	}
	if existing.OrgID != a.org.ID {
		return fmt.Errorf("client id %q already belongs to another organization (or is built in); client ids are unique across the installation", s.ClientID)
	}
	_, err = a.st.AppUpdate(ctx, a.org.ID, existing.ID, func(old tenancy.App) (tenancy.App, error) {
		old.Name, old.SecretHash = name, secretHash(s.ClientSecret)
		old.AppScopes, old.UserScopes, old.RedirectURIs = s.AppScopes, s.UserScopes, s.RedirectURIs
		return old, nil
	})
	return err
}

func (a *applier) tenant(ctx context.Context, s config.TenantSpec) error {
	display := s.DisplayName
	if display == "" {
		display = s.Name
	}
	t, err := a.st.TenantGetByName(ctx, a.org.ID, s.Name)
	if errors.Is(err, store.ErrNotFound) {
		p := store.TenantCreateParams{OrgID: a.org.ID, Name: s.Name, DisplayName: display}
		if s.LegacyBasicAuth != nil {
			p.LegacyBasicAuth, p.LegacyBasicAuthUntil = s.LegacyBasicAuth.Enabled, s.LegacyBasicAuth.Until
		}
		t, err = a.st.TenantCreate(ctx, p)
	} else if err == nil {
		t, err = a.st.TenantUpdate(ctx, a.org.ID, t.ID, func(old tenancy.Tenant) (tenancy.Tenant, error) {
			old.Name, old.DisplayName = s.Name, display
			if s.LegacyBasicAuth != nil {
				old.LegacyBasicAuth, old.LegacyBasicAuthUntil = s.LegacyBasicAuth.Enabled, s.LegacyBasicAuth.Until
			}
			return old, nil
		})
	}
	if err != nil {
		return err
	}
	ta := tenantApplier{applier: a, tenant: t}
	// Folders and machines first: members and queues refer to them.
	for i, f := range s.Folders {
		if _, err := ta.folder(ctx, f.Path, f.Description, true); err != nil {
			return fmt.Errorf(".folders[%d]: %w", i, err)
		}
	}
	for i, m := range s.Machines {
		if err := ta.machine(ctx, m); err != nil {
			return fmt.Errorf(".machines[%d]: %w", i, err)
		}
	}
	for i, m := range s.Members {
		if err := ta.member(ctx, 0, m); err != nil {
			return fmt.Errorf(".members[%d]: %w", i, err)
		}
	}
	for i, f := range s.Folders {
		folder, err := a.st.FolderGetByPath(ctx, t.ID, f.Path)
		if err != nil {
			return fmt.Errorf(".folders[%d]: %w", i, err)
		}
		for j, m := range f.Members {
			if err := ta.member(ctx, folder.ID, m); err != nil {
				return fmt.Errorf(".folders[%d].members[%d]: %w", i, j, err)
			}
		}
	}
	for i, q := range s.Queues {
		if err := ta.queue(ctx, q); err != nil {
			return fmt.Errorf(".queues[%d]: %w", i, err)
		}
	}
	return nil
}

type tenantApplier struct {
	*applier
	tenant tenancy.Tenant
}

// folder makes sure the folder at path exists, creating its parents as needed. When
// listed is true the folder is named by the file and its description is the file's.
func (ta *tenantApplier) folder(ctx context.Context, path, description string, listed bool) (tenancy.Folder, error) {
	f, err := ta.st.FolderGetByPath(ctx, ta.tenant.ID, path)
	if err == nil {
		if !listed || f.Description == description {
			return f, nil
		}
		return ta.st.FolderUpdate(ctx, ta.tenant.ID, f.ID, func(old tenancy.Folder) (tenancy.Folder, error) {
			old.Description = description
			return old, nil
		})
	}
	if !errors.Is(err, store.ErrNotFound) {
		return f, err
	}
	var parentID int64
	name := path
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		parent, err := ta.folder(ctx, path[:i], "", false)
		if err != nil {
			return f, err
		}
		parentID, name = parent.ID, path[i+1:]
	}
	return ta.st.FolderCreate(ctx, store.FolderCreateParams{TenantID: ta.tenant.ID, ParentID: parentID, DisplayName: name, Description: description})
}

func (ta *tenantApplier) machine(ctx context.Context, s config.MachineSpec) error {
	slots := s.Slots
	if slots == 0 {
		slots = 1
	}
	m, err := ta.st.MachineGetByName(ctx, ta.tenant.ID, s.Name)
	if errors.Is(err, store.ErrNotFound) {
		m, err = ta.st.MachineCreate(ctx, store.MachineCreateParams{TenantID: ta.tenant.ID, Name: s.Name, ClientID: s.ClientID,
			SecretHash: secret.HashToken(s.ClientSecret), Slots: slots})
	} else if err == nil {
		if m.ClientID != s.ClientID {
			return fmt.Errorf("machine %q already exists with client id %q; a machine's client id cannot change", s.Name, m.ClientID)
		}
		m, err = ta.st.MachineUpdate(ctx, ta.tenant.ID, m.ID, func(old tenancy.Machine) (tenancy.Machine, error) {
			old.SecretHash, old.Slots = secret.HashToken(s.ClientSecret), slots
			return old, nil
		})
	}
	if err != nil {
		return err
	}
	robot, err := ta.st.RoleGetByName(ctx, ta.tenant.ID, tenancy.RoleRobot)
	if err != nil {
		return err
	}
	for _, path := range s.Folders {
		f, err := ta.folder(ctx, path, "", false)
		if err != nil {
			return err
		}
		err = ta.st.MembershipSet(ctx, tenancy.Membership{TenantID: ta.tenant.ID, FolderID: f.ID,
			Principal: tenancy.Principal{Kind: tenancy.PrincipalMachine, ID: m.ID}, RoleIDs: []int64{robot.ID}})
		if err != nil {
			return err
		}
	}
	return nil
}

func (ta *tenantApplier) member(ctx context.Context, folderID int64, s config.MemberSpec) error {
	var p tenancy.Principal
	switch {
	case s.User != "":
		u, err := ta.st.UserGetByEmail(ctx, ta.org.ID, s.User)
		if err != nil {
			return err
		}
		p = tenancy.Principal{Kind: tenancy.PrincipalUser, ID: u.ID}
	case s.App != "":
		app, err := ta.findApp(ctx, s.App)
		if err != nil {
			return err
		}
		p = tenancy.Principal{Kind: tenancy.PrincipalApp, ID: app.ID}
	case s.Machine != "":
		m, err := ta.st.MachineGetByName(ctx, ta.tenant.ID, s.Machine)
		if err != nil {
			return err
		}
		p = tenancy.Principal{Kind: tenancy.PrincipalMachine, ID: m.ID}
	default:
		return errors.New("a member names one of user, app or machine")
	}
	var ids []int64
	for _, name := range s.Roles {
		r, err := ta.st.RoleGetByName(ctx, ta.tenant.ID, name)
		if err != nil {
			return err
		}
		ids = append(ids, r.ID)
	}
	return ta.st.MembershipSet(ctx, tenancy.Membership{TenantID: ta.tenant.ID, FolderID: folderID, Principal: p, RoleIDs: ids})
}

// findApp finds one of the organization's apps by client id or name.
func (ta *tenantApplier) findApp(ctx context.Context, ref string) (tenancy.App, error) {
	if app, err := ta.st.AppGetByClientID(ctx, ref); err == nil && app.OrgID == ta.org.ID {
		return app, nil
	}
	apps, err := ta.st.AppList(ctx, ta.org.ID)
	if err != nil {
		return tenancy.App{}, err
	}
	for _, app := range apps {
		if strings.EqualFold(app.Name, ref) {
			return app, nil
		}
	}
	return tenancy.App{}, fmt.Errorf("app %q: %w", ref, store.ErrNotFound)
}

func (ta *tenantApplier) queue(ctx context.Context, s config.QueueSpec) error {
	f, err := ta.st.FolderGetByPath(ctx, ta.tenant.ID, s.Folder)
	if err != nil {
		return err
	}
	q, err := ta.st.QueueDefinitionGetByName(ctx, ta.tenant.ID, f.ID, s.Name)
	if errors.Is(err, store.ErrNotFound) {
		_, err = ta.st.QueueDefinitionCreate(ctx, store.QueueDefinitionCreateParams{TenantID: ta.tenant.ID, FolderID: f.ID,
			Name: s.Name, Description: s.Description, MaxNumberOfRetries: s.MaxRetries, EnforceUniqueReference: s.UniqueReference})
		return err
	}
	if err != nil {
		return err
	}
	_, err = ta.st.QueueDefinitionUpdate(ctx, ta.tenant.ID, q.ID, func(old tenancy.QueueDefinition) (tenancy.QueueDefinition, error) {
		old.Name, old.Description, old.MaxNumberOfRetries, old.EnforceUniqueReference = s.Name, s.Description, s.MaxRetries, s.UniqueReference
		return old, nil
	})
	return err
}
