package bootstrap_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/bootstrap"
	"github.com/openorch/openorch/internal/config"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
	"github.com/openorch/openorch/internal/tenancy"
)

var engines = map[string]func(testing.TB) store.Store{
	"sqlite":   func(tb testing.TB) store.Store { return storetest.NewSQLite(tb) },
	"postgres": func(tb testing.TB) store.Store { return storetest.NewPostgres(tb) },
}

func loadFile(t *testing.T) *config.File {
	t.Helper()
	data, err := os.ReadFile("testdata/orch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BOB_PASSWORD": "bob-password", "WORKER_SECRET": "worker-secret-0123456789abcdef-0123456789"}
	f, err := config.ParseFile("orch.yaml", data, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// snapshot reads every row the bootstrap file can touch, through the store API.
type snapshot struct {
	Orgs        []tenancy.Organization
	Users       [][]tenancy.User
	Apps        [][]tenancy.App
	Tenants     [][]tenancy.Tenant
	Folders     [][]tenancy.Folder
	Machines    [][]tenancy.Machine
	Roles       [][]tenancy.Role
	Memberships [][]tenancy.Membership
	Queues      [][]tenancy.QueueDefinition
}

func take(t *testing.T, st store.Store) snapshot {
	t.Helper()
	ctx := context.Background()
	var s snapshot
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	s.Orgs, err = st.OrganizationList(ctx)
	must(err)
	for _, o := range s.Orgs {
		us, err := st.UserList(ctx, o.ID)
		must(err)
		s.Users = append(s.Users, us)
		as, err := st.AppList(ctx, o.ID)
		must(err)
		s.Apps = append(s.Apps, as)
		ts, err := st.TenantList(ctx, o.ID)
		must(err)
		s.Tenants = append(s.Tenants, ts)
		for _, tn := range ts {
			fs, err := st.FolderList(ctx, tn.ID)
			must(err)
			s.Folders = append(s.Folders, fs)
			ms, err := st.MachineList(ctx, tn.ID)
			must(err)
			s.Machines = append(s.Machines, ms)
			rs, err := st.RoleList(ctx, tn.ID)
			must(err)
			s.Roles = append(s.Roles, rs)
			mem, err := st.MembershipListFolder(ctx, tn.ID, 0)
			must(err)
			s.Memberships = append(s.Memberships, mem)
			for _, f := range fs {
				mem, err := st.MembershipListFolder(ctx, tn.ID, f.ID)
				must(err)
				s.Memberships = append(s.Memberships, mem)
				qs, err := st.QueueDefinitionList(ctx, tn.ID, f.ID)
				must(err)
				s.Queues = append(s.Queues, qs)
			}
		}
	}
	return s
}

func TestApplyIsIdempotent(t *testing.T) {
	t.Parallel()
	for name, open := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := open(t)
			f := loadFile(t)
			if err := bootstrap.Apply(ctx, st, f, "orch.yaml"); err != nil {
				t.Fatal(err)
			}
			first := take(t, st)
			if err := bootstrap.Apply(ctx, st, loadFile(t), "orch.yaml"); err != nil {
				t.Fatal(err)
			}
			second := take(t, st)
			if !reflect.DeepEqual(first, second) {
				t.Fatalf("a second apply changed rows:\nfirst:  %+v\nsecond: %+v", first, second)
			}
			checkContent(t, st)
		})
	}
}

// checkContent checks that the file's entries landed as written.
func checkContent(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	acme, err := st.OrganizationGetByName(ctx, "ACME")
	if err != nil || acme.DisplayName != "ACME Corp" {
		t.Fatalf("org acme: %+v, %v", acme, err)
	}
	ann, err := st.UserGetByEmail(ctx, acme.ID, "ann@acme.test")
	if err != nil || !ann.OrgAdmin || !ann.BasicAuth {
		t.Fatalf("ann: %+v, %v", ann, err)
	}
	if ok, _ := secret.PasswordMatches("ann-password", ann.PasswordHash); !ok {
		t.Error("ann's password does not match the file")
	}
	bob, _ := st.UserGetByEmail(ctx, acme.ID, "bob@acme.test")
	if ok, _ := secret.PasswordMatches("bob-password", bob.PasswordHash); !ok {
		t.Error("bob's password (passwordEnv) does not match")
	}
	carol, _ := st.UserGetByEmail(ctx, acme.ID, "carol@acme.test")
	if carol.PasswordHash != "" {
		t.Error("carol has no password in the file but got a hash")
	}
	bot, err := st.AppGetByClientID(ctx, "invoice-bot")
	if err != nil || !secret.TokenMatches("invoice-bot-secret-0123456789abcdef", bot.SecretHash) || bot.OrgID != acme.ID {
		t.Fatalf("invoice-bot: %+v, %v", bot, err)
	}
	spa, _ := st.AppGetByClientID(ctx, "acme-spa")
	if spa.Confidential() || !reflect.DeepEqual(spa.RedirectURIs, []string{"http://localhost:5173/callback"}) {
		t.Errorf("acme-spa: %+v", spa)
	}
	tn, err := st.TenantGetByName(ctx, acme.ID, "defaulttenant")
	if err != nil || !tn.LegacyBasicAuth || tn.LegacyBasicAuthUntil == nil || tn.LegacyBasicAuthUntil.Year() != 2027 {
		t.Fatalf("tenant: %+v, %v", tn, err)
	}
	deep, err := st.FolderGetByPath(ctx, tn.ID, "Finance/AP/2026")
	if err != nil || deep.Depth != 3 || deep.Description != "invoices of 2026" {
		t.Fatalf("nested folder: %+v, %v", deep, err)
	}
	ap, _ := st.FolderGetByPath(ctx, tn.ID, "Finance/AP")
	worker, err := st.MachineGetByName(ctx, tn.ID, "worker-1")
	if err != nil || worker.Slots != 2 || !secret.TokenMatches("worker-secret-0123456789abcdef-0123456789", worker.SecretHash) {
		t.Fatalf("worker-1: %+v, %v", worker, err)
	}
	// The machine's robots hold the Robot role in its folders, and so in their subfolders.
	acc, err := st.AccessGet(ctx, tn.ID, tenancy.Principal{Kind: tenancy.PrincipalMachine, ID: worker.ID}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !acc.FolderPermissions(deep.ID).Has("Transactions.Edit") || !acc.FolderPermissions(ap.ID).Has("Jobs.View") {
		t.Error("worker-1 lacks Robot permissions under Finance/AP")
	}
	if acc.FolderPermissions(deep.ID).Has("Jobs.Create") {
		t.Error("worker-1 has more than the Robot role")
	}
	carolAcc, _ := st.AccessGet(ctx, tn.ID, tenancy.Principal{Kind: tenancy.PrincipalUser, ID: carol.ID}, false)
	if !carolAcc.FolderPermissions(deep.ID).Has("Assets.Delete") {
		t.Error("carol is Folder Administrator of Finance/AP/2026")
	}
	shared, _ := st.FolderGetByPath(ctx, tn.ID, "Shared")
	if carolAcc.FolderPermissions(shared.ID).Has("Jobs.View") {
		t.Error("carol has permissions in Shared")
	}
	q, err := st.QueueDefinitionGetByName(ctx, tn.ID, shared.ID, "Invoices")
	if err != nil || q.MaxNumberOfRetries != 1 || !q.EnforceUniqueReference {
		t.Fatalf("queue Invoices: %+v, %v", q, err)
	}
	if _, err := st.TenantGetByName(ctx, acme.ID, "Staging"); err != nil {
		t.Errorf("tenant Staging: %v", err)
	}
	globex, _ := st.OrganizationGetByName(ctx, "globex")
	if u, err := st.UserGetByEmail(ctx, globex.ID, "ann@acme.test"); err != nil || u.Name != "Another Ann" {
		t.Errorf("the same email in another organization: %+v, %v", u, err)
	}
}

func TestFileWinsAndNothingIsDeleted(t *testing.T) {
	t.Parallel()
	for name, open := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := open(t)
			if err := bootstrap.Apply(ctx, st, loadFile(t), "orch.yaml"); err != nil {
				t.Fatal(err)
			}
			acme, _ := st.OrganizationGetByName(ctx, "acme")
			ann, _ := st.UserGetByEmail(ctx, acme.ID, "ann@acme.test")
			// An edit through the API of a field the file names...
			if _, err := st.UserUpdate(ctx, acme.ID, ann.ID, func(u tenancy.User) (tenancy.User, error) {
				u.Name, u.OrgAdmin = "Renamed", false
				return u, nil
			}); err != nil {
				t.Fatal(err)
			}
			// ...and an entry the file does not list.
			extra, err := st.UserCreate(ctx, store.UserCreateParams{OrgID: acme.ID, Email: "dave@acme.test", Name: "Dave"})
			if err != nil {
				t.Fatal(err)
			}
			f := loadFile(t)
			f.Organizations[0].Users = f.Organizations[0].Users[:2] // carol removed from the file
			if err := bootstrap.Apply(ctx, st, f, "orch.yaml"); err != nil {
				t.Fatal(err)
			}
			ann, _ = st.UserGetByEmail(ctx, acme.ID, "ann@acme.test")
			if ann.Name != "Ann" || !ann.OrgAdmin {
				t.Errorf("the file did not win: %+v", ann)
			}
			if _, err := st.UserGet(ctx, acme.ID, extra.ID); err != nil {
				t.Errorf("a user made through the API was deleted: %v", err)
			}
			if _, err := st.UserGetByEmail(ctx, acme.ID, "carol@acme.test"); err != nil {
				t.Errorf("a user removed from the file was deleted: %v", err)
			}
		})
	}
}

func TestApplyFailsWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	// Another organization already owns the client id: the apply fails, and nothing of it stays.
	other, _ := st.OrganizationCreate(ctx, store.OrganizationCreateParams{Name: "other"})
	if _, err := st.AppCreate(ctx, store.AppCreateParams{OrgID: other.ID, ClientID: "invoice-bot"}); err != nil {
		t.Fatal(err)
	}
	err := bootstrap.Apply(ctx, st, loadFile(t), "orch.yaml")
	if err == nil || !strings.Contains(err.Error(), "orch.yaml: organizations[0].apps[0]") || !strings.Contains(err.Error(), "another organization") {
		t.Fatalf("err = %v; want one naming the entry and the clash", err)
	}
	if _, err := st.OrganizationGetByName(ctx, "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed apply left organization acme behind (%v)", err)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	for name, open := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := open(t)
			d, created, err := bootstrap.ApplyDemo(ctx, st)
			if err != nil || !created {
				t.Fatalf("first demo: created=%v err=%v", created, err)
			}
			if _, created, err := bootstrap.ApplyDemo(ctx, st); err != nil || created {
				t.Fatalf("second demo: created=%v err=%v; want nothing created", created, err)
			}
			org, _ := st.OrganizationGetByName(ctx, "demo")
			admin, err := st.UserGetByEmail(ctx, org.ID, "admin@demo.local")
			if err != nil || !admin.OrgAdmin || !admin.BasicAuth {
				t.Fatalf("admin: %+v %v", admin, err)
			}
			if ok, _ := secret.PasswordMatches(d.Password, admin.PasswordHash); !ok {
				t.Error("printed password does not match")
			}
			app, _ := st.AppGetByClientID(ctx, "demo-app")
			if !secret.TokenMatches(d.ClientSecret, app.SecretHash) || len(app.AppScopes) < 10 {
				t.Errorf("demo-app: %+v", app)
			}
			tn, _ := st.TenantGetByName(ctx, org.ID, "DefaultTenant")
			if !tn.LegacyBasicAuth {
				t.Error("legacy basic auth is off in the demo tenant")
			}
			appAcc, _ := st.AccessGet(ctx, tn.ID, tenancy.Principal{Kind: tenancy.PrincipalApp, ID: app.ID}, false)
			if !appAcc.TenantAdmin {
				t.Error("demo-app is not tenant Administrator")
			}
			m, _ := st.MachineGetByClientID(ctx, "demo-machine")
			shared, _ := st.FolderGetByPath(ctx, tn.ID, "Shared")
			macc, _ := st.AccessGet(ctx, tn.ID, tenancy.Principal{Kind: tenancy.PrincipalMachine, ID: m.ID}, false)
			if m.Slots != 2 || !macc.FolderPermissions(shared.ID).Has("Transactions.Create") || !secret.TokenMatches(d.MachineKey, m.SecretHash) {
				t.Errorf("demo-machine: %+v", m)
			}
			if _, err := st.QueueDefinitionGetByName(ctx, tn.ID, shared.ID, "Invoices"); err != nil {
				t.Errorf("queue Invoices: %v", err)
			}
		})
	}
}

func TestCheckKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	k1, _ := secret.GenerateKey()
	k2, _ := secret.GenerateKey()
	if bootstrap.KeyRecorded(ctx, st) {
		t.Fatal("an empty database has a key recorded")
	}
	if err := bootstrap.CheckKey(ctx, st, k1); err != nil {
		t.Fatal(err)
	}
	if err := bootstrap.CheckKey(ctx, st, k1); err != nil {
		t.Fatalf("the same key again: %v", err)
	}
	if err := bootstrap.CheckKey(ctx, st, k2); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("another key: %v; want a refusal", err)
	}
}
