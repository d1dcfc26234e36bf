// Package storetest is the conformance suite of the storage API: every engine of
// internal/store calls Run (and Benchmark) from its own tests with a constructor of fresh,
// migrated stores, so SQLite and PostgreSQL are held to one behaviour.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return newTestStore(t) })
//	}
//
// Each leaf subtest calls t.Parallel and gets its own store, so no test sees another's rows.
package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// missingID is an id no test ever creates.
const missingID int64 = 987_654_321

// errBoom is returned by update functions and transactions that must fail.
var errBoom = errors.New("storetest: boom")

// test is one leaf of the suite: it gets a fresh, empty store of its own.
type test struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// group is a set of tests about one entity or behaviour.
type group struct {
	name  string
	tests []test
}

// Run runs the whole conformance suite against fresh stores made by newStore; each call of
// newStore must return an empty, migrated store (built-in roles and first-party apps seeded
// by the migrations) that the engine closes at t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	groups := []group{
		{"Organization", organizationTests()},
		{"Tenant", tenantTests()},
		{"Folder", folderTests()},
		{"User", userTests()},
		{"App", appTests()},
		{"Machine", machineTests()},
		{"Role", roleTests()},
		{"QueueDefinition", queueDefinitionTests()},
		{"QueueItem", queueItemTests()},
		{"Asset", assetTests()},
		{"Package", packageTests()},
		{"Job", jobTests()},
		{"Robot", robotTests()},
		{"NotFound", notFoundTests()},
		{"Membership", membershipTests()},
		{"Access", accessTests()},
		{"Isolation", isolationTests()},
		{"Tx", txTests()},
		{"Meta", metaTests()},
		{"Setting", settingTests()},
		{"Session", sessionTests()},
		{"AuthCode", authCodeTests()},
		{"RefreshToken", refreshTokenTests()},
		{"DeviceCode", deviceCodeTests()},
		{"PAT", patTests()},
		{"UserKey", userKeyTests()},
		{"Concurrent", concurrentTests()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, newStore(t))
				})
			}
		})
	}
}

// ---- fixtures ----

func mustOrg(t testing.TB, s store.Store, name string) tenancy.Organization {
	t.Helper()
	o, err := s.OrganizationCreate(t.Context(), store.OrganizationCreateParams{Name: name, DisplayName: name + " display"})
	if err != nil {
		t.Fatalf("OrganizationCreate(%q): %v", name, err)
	}
	return o
}

func mustTenant(t testing.TB, s store.Store, orgID int64, name string) tenancy.Tenant {
	t.Helper()
	tn, err := s.TenantCreate(t.Context(), store.TenantCreateParams{OrgID: orgID, Name: name, DisplayName: name + " display"})
	if err != nil {
		t.Fatalf("TenantCreate(%d, %q): %v", orgID, name, err)
	}
	return tn
}

// env is an organization with one tenant, the setting of most tests.
type env struct {
	org    tenancy.Organization
	tenant tenancy.Tenant
}

// mustEnv creates an organization named name with a tenant named "Default".
func mustEnv(t testing.TB, s store.Store, name string) env {
	t.Helper()
	o := mustOrg(t, s, name)
	return env{org: o, tenant: mustTenant(t, s, o.ID, "Default")}
}

func mustFolder(t testing.TB, s store.Store, tenantID, parentID int64, name string) tenancy.Folder {
	t.Helper()
	f, err := s.FolderCreate(t.Context(), store.FolderCreateParams{TenantID: tenantID, ParentID: parentID, DisplayName: name})
	if err != nil {
		t.Fatalf("FolderCreate(tenant %d, parent %d, %q): %v", tenantID, parentID, name, err)
	}
	return f
}

func mustUser(t testing.TB, s store.Store, orgID int64, email string) tenancy.User {
	t.Helper()
	u, err := s.UserCreate(t.Context(), store.UserCreateParams{OrgID: orgID, Email: email, Name: "User " + email})
	if err != nil {
		t.Fatalf("UserCreate(%d, %q): %v", orgID, email, err)
	}
	return u
}

func mustApp(t testing.TB, s store.Store, orgID int64, clientID string) tenancy.App {
	t.Helper()
	a, err := s.AppCreate(t.Context(), store.AppCreateParams{OrgID: orgID, Name: "App " + clientID, ClientID: clientID,
		SecretHash: strings.Repeat("ab", 32), AppScopes: []string{"OR.Jobs"}})
	if err != nil {
		t.Fatalf("AppCreate(%d, %q): %v", orgID, clientID, err)
	}
	return a
}

func mustMachine(t testing.TB, s store.Store, tenantID int64, name, clientID string) tenancy.Machine {
	t.Helper()
	m, err := s.MachineCreate(t.Context(), store.MachineCreateParams{TenantID: tenantID, Name: name, ClientID: clientID,
		SecretHash: strings.Repeat("cd", 32), Slots: 1})
	if err != nil {
		t.Fatalf("MachineCreate(%d, %q): %v", tenantID, name, err)
	}
	return m
}

func mustRole(t testing.TB, s store.Store, tenantID int64, name string, typ tenancy.RoleType, perms ...tenancy.Permission) tenancy.Role {
	t.Helper()
	r, err := s.RoleCreate(t.Context(), store.RoleCreateParams{TenantID: tenantID, Name: name, Type: typ, Permissions: perms})
	if err != nil {
		t.Fatalf("RoleCreate(%d, %q): %v", tenantID, name, err)
	}
	return r
}

// mustRoleByName finds a role (built-in or the tenant's) by name.
func mustRoleByName(t testing.TB, s store.Store, tenantID int64, name string) tenancy.Role {
	t.Helper()
	r, err := s.RoleGetByName(t.Context(), tenantID, name)
	if err != nil {
		t.Fatalf("RoleGetByName(%d, %q): %v", tenantID, name, err)
	}
	return r
}

func mustQueue(t testing.TB, s store.Store, tenantID, folderID int64, name string) tenancy.QueueDefinition {
	t.Helper()
	q, err := s.QueueDefinitionCreate(t.Context(), store.QueueDefinitionCreateParams{TenantID: tenantID, FolderID: folderID, Name: name})
	if err != nil {
		t.Fatalf("QueueDefinitionCreate(%d, %d, %q): %v", tenantID, folderID, name, err)
	}
	return q
}

func mustSetMembership(t testing.TB, s store.Store, tenantID, folderID int64, p tenancy.Principal, roleIDs ...int64) {
	t.Helper()
	m := tenancy.Membership{TenantID: tenantID, FolderID: folderID, Principal: p, RoleIDs: roleIDs}
	if err := s.MembershipSet(t.Context(), m); err != nil {
		t.Fatalf("MembershipSet(%+v): %v", m, err)
	}
}

func userP(u tenancy.User) tenancy.Principal {
	return tenancy.Principal{Kind: tenancy.PrincipalUser, ID: u.ID}
}
func appP(a tenancy.App) tenancy.Principal {
	return tenancy.Principal{Kind: tenancy.PrincipalApp, ID: a.ID}
}
func machineP(m tenancy.Machine) tenancy.Principal {
	return tenancy.Principal{Kind: tenancy.PrincipalMachine, ID: m.ID}
}

// ---- assertions ----

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// checkNew checks what every created row has: an id, a GUID Key and a fresh CreatedAt.
func checkNew(t testing.TB, what string, id int64, key string, createdAt time.Time) {
	t.Helper()
	if id <= 0 {
		t.Errorf("%s: ID = %d, want > 0", what, id)
	}
	if !guidRE.MatchString(key) {
		t.Errorf("%s: Key = %q, want a GUID", what, key)
	}
	if d := time.Since(createdAt); d < -time.Minute || d > time.Minute {
		t.Errorf("%s: CreatedAt = %v, want within a minute of now (%v)", what, createdAt, time.Now())
	}
}

// wantErr checks that err matches target with errors.Is and says more than the bare sentinel
// (engines wrap sentinels with a message naming the entity and the field).
func wantErr(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want errors.Is(err, %q)", what, err, target)
		return
	}
	if msg := err.Error(); msg == "" || (target == store.ErrConflict && msg == target.Error()) {
		t.Errorf("%s: error message %q does not say what is wrong", what, msg)
	}
}

func wantNotFound(t testing.TB, err error, what string) {
	t.Helper()
	wantErr(t, err, store.ErrNotFound, what)
}
func wantConflict(t testing.TB, err error, what string) {
	t.Helper()
	wantErr(t, err, store.ErrConflict, what)
}
func wantInvalid(t testing.TB, err error, what string) {
	t.Helper()
	wantErr(t, err, store.ErrInvalid, what)
}

// ok fails the test now if err is not nil.
func ok(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// same compares two values after normalize, reporting both in full on a mismatch.
func same[T any](t testing.TB, what string, got, want T) {
	t.Helper()
	g, w := normalize(got), normalize(want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// sameList compares two lists element by element, in order.
func sameList[T any](t testing.TB, what string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d rows, want %d:\n got %+v\nwant %+v", what, len(got), len(want), got, want)
		return
	}
	for i := range got {
		same(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
}

// normalize makes two values of the store comparable with reflect.DeepEqual: times become
// canonical UTC instants (so time.Equal is the comparison), nil and empty slices agree, and
// the permissions of a role and the role ids of a membership are compared as sets.
func normalize[T any](v T) any {
	switch x := any(v).(type) {
	case tenancy.Organization:
		x.CreatedAt = normTime(x.CreatedAt)
		return x
	case tenancy.Tenant:
		x.CreatedAt = normTime(x.CreatedAt)
		if x.LegacyBasicAuthUntil != nil {
			u := normTime(*x.LegacyBasicAuthUntil)
			x.LegacyBasicAuthUntil = &u
		}
		return x
	case tenancy.Folder:
		x.CreatedAt = normTime(x.CreatedAt)
		return x
	case tenancy.User:
		x.CreatedAt = normTime(x.CreatedAt)
		return x
	case tenancy.App:
		x.CreatedAt = normTime(x.CreatedAt)
		x.AppScopes, x.UserScopes, x.RedirectURIs = normStrings(x.AppScopes), normStrings(x.UserScopes), normStrings(x.RedirectURIs)
		return x
	case tenancy.Machine:
		x.CreatedAt = normTime(x.CreatedAt)
		return x
	case tenancy.Role:
		x.Permissions = sortedPerms(x.Permissions)
		return x
	case tenancy.QueueDefinition:
		x.CreatedAt = normTime(x.CreatedAt)
		return x
	case tenancy.Membership:
		x.RoleIDs = sortedIDs(x.RoleIDs)
		return x
	}
	return v
}

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.Unix(t.Unix(), int64(t.Nanosecond())).UTC()
}

func normStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func sortedPerms(p []tenancy.Permission) []tenancy.Permission {
	if len(p) == 0 {
		return nil
	}
	return slices.Sorted(slices.Values(p))
}

func sortedIDs(ids []int64) []int64 {
	if len(ids) == 0 {
		return nil
	}
	return slices.Sorted(slices.Values(ids))
}

// checkAscending checks that ids are strictly ascending: lists are ordered by id.
func checkAscending(t testing.TB, what string, ids []int64) {
	t.Helper()
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Errorf("%s: ids %v are not in ascending order", what, ids)
	}
}

func ids[T any](rows []T, id func(T) int64) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = id(r)
	}
	return out
}
