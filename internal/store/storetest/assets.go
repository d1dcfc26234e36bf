package storetest

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/store"
)

// ---- assets

// assetSealedBytes stands for a sealed value: the store keeps whatever bytes it is given, NUL
// and high bytes included.
var assetSealedBytes = []byte{0x00, 0x01, 0xfe, 0xff, 's', 'e', 'a', 'l', 'e', 'd'}

func mustAsset(t testing.TB, s store.Store, tenantID, folderID int64, name string) store.Asset {
	t.Helper()
	a, err := s.AssetCreate(t.Context(), store.AssetCreateParams{TenantID: tenantID, FolderID: folderID, Name: name,
		ValueScope: store.AssetGlobal, ValueType: store.AssetText, StringValue: "value of " + name})
	ok(t, err, "AssetCreate "+name)
	return a
}

// sameAsset compares two assets field by field, times as instants.
func sameAsset(t testing.TB, what string, got, want store.Asset) {
	t.Helper()
	norm := func(a store.Asset) store.Asset {
		a.CreatedAt = normTime(a.CreatedAt)
		a.UpdatedAt = normTimePtr(a.UpdatedAt)
		if len(a.SealedValue) == 0 {
			a.SealedValue = nil
		}
		return a
	}
	same(t, what, norm(got), norm(want))
}

func assetSearch(t testing.TB, s store.Store, p store.SearchParams, filter, orderBy string) ([]store.Asset, int) {
	t.Helper()
	p.Query = odata.Query{Top: 100, Count: true}
	if filter != "" {
		x, err := odata.ParseFilter(filter)
		ok(t, err, "ParseFilter "+filter)
		p.Query.Filter = x
	}
	if orderBy != "" {
		p.Query.OrderBy = []odata.Order{{Path: orderBy}}
	}
	page, total, err := s.AssetSearch(t.Context(), p)
	ok(t, err, "AssetSearch "+filter)
	return page, total
}

func assetNames(rows []store.Asset) []string {
	out := make([]string, len(rows))
	for i, a := range rows {
		out[i] = a.Name
	}
	return out
}

func assetTests() []test {
	return []test{
		{"CreateGet", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Shared")
			key := uuid.NewString()
			cases := []store.AssetCreateParams{
				{Name: "Greeting", Description: "said first", ValueType: store.AssetText, StringValue: "hello"},
				{Name: "Enabled", ValueType: store.AssetBool, BoolValue: true},
				{Name: "Retries", ValueType: store.AssetInteger, IntValue: -42},
				{Name: "Mailbox", ValueType: store.AssetCredential, CredentialUsername: "robot@acme.test", SealedValue: assetSealedBytes},
				{Name: "ApiToken", ValueType: store.AssetSecret, SealedValue: assetSealedBytes, Key: key},
			}
			for _, p := range cases {
				p.TenantID, p.FolderID, p.ValueScope = e.tenant.ID, f.ID, store.AssetGlobal
				a, err := s.AssetCreate(c, p)
				ok(t, err, "AssetCreate "+p.Name)
				checkNew(t, "asset "+p.Name, a.ID, a.Key, a.CreatedAt)
				if p.Key != "" && a.Key != p.Key {
					t.Errorf("%s: Key = %q, want the one given, %q", p.Name, a.Key, p.Key)
				}
				want := store.Asset{ID: a.ID, Key: a.Key, TenantID: e.tenant.ID, FolderID: f.ID, Name: p.Name, Description: p.Description,
					ValueScope: store.AssetGlobal, ValueType: p.ValueType, StringValue: p.StringValue, BoolValue: p.BoolValue,
					IntValue: p.IntValue, CredentialUsername: p.CredentialUsername, SealedValue: p.SealedValue, HasDefaultValue: true,
					CreatedAt: a.CreatedAt}
				sameAsset(t, "AssetCreate "+p.Name, a, want)
				got, err := s.AssetGet(c, e.tenant.ID, a.ID)
				ok(t, err, "AssetGet "+p.Name)
				sameAsset(t, "AssetGet "+p.Name, got, want)
				if !bytes.Equal(got.SealedValue, p.SealedValue) {
					t.Errorf("%s: sealed value %x read back as %x", p.Name, p.SealedValue, got.SealedValue)
				}
			}

			_, err := s.AssetCreate(c, store.AssetCreateParams{TenantID: e.tenant.ID, FolderID: missingID, Name: "Orphan",
				ValueScope: store.AssetGlobal, ValueType: store.AssetText})
			wantNotFound(t, err, "AssetCreate in a missing folder")
			_, err = s.AssetCreate(c, store.AssetCreateParams{TenantID: e.tenant.ID, FolderID: f.ID, Name: "Again", Key: key,
				ValueScope: store.AssetGlobal, ValueType: store.AssetText})
			wantConflict(t, err, "AssetCreate with a Key another asset has")
			_, err = s.AssetGet(c, e.tenant.ID, missingID)
			wantNotFound(t, err, "AssetGet of a missing asset")
		}},
		{"NamesPerFolder", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Finance")
			g := mustFolder(t, s, e.tenant.ID, 0, "HR")
			a := mustAsset(t, s, e.tenant.ID, f.ID, "Ledger")
			b := mustAsset(t, s, e.tenant.ID, g.ID, "LEDGER") // another folder: another asset
			_, err := s.AssetCreate(c, store.AssetCreateParams{TenantID: e.tenant.ID, FolderID: f.ID, Name: "ledger",
				ValueScope: store.AssetGlobal, ValueType: store.AssetBool})
			wantConflict(t, err, "AssetCreate of a name the folder has, in another case")

			got, err := s.AssetGetByName(c, e.tenant.ID, f.ID, "LeDgEr")
			ok(t, err, "AssetGetByName")
			sameAsset(t, "AssetGetByName in Finance", got, a)
			got, err = s.AssetGetByName(c, e.tenant.ID, g.ID, "ledger")
			ok(t, err, "AssetGetByName")
			sameAsset(t, "AssetGetByName in HR", got, b)
			_, err = s.AssetGetByName(c, e.tenant.ID, f.ID, "Ledge")
			wantNotFound(t, err, "AssetGetByName of a missing name")

			// Renaming onto a name of the folder is a conflict; onto one of another folder is not.
			other := mustAsset(t, s, e.tenant.ID, f.ID, "Budget")
			_, err = s.AssetUpdate(c, e.tenant.ID, other.ID, func(x store.Asset) (store.Asset, error) { x.Name = "LEDGER"; return x, nil })
			wantConflict(t, err, "AssetUpdate onto a name the folder has")
			fresh, err := s.AssetGet(c, e.tenant.ID, other.ID)
			ok(t, err, "AssetGet")
			sameAsset(t, "asset after a refused rename", fresh, other)
		}},
		{"Update", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Shared")
			g := mustFolder(t, s, e.tenant.ID, 0, "Elsewhere")
			a, err := s.AssetCreate(c, store.AssetCreateParams{TenantID: e.tenant.ID, FolderID: f.ID, Name: "Mailbox",
				ValueScope: store.AssetGlobal, ValueType: store.AssetCredential, CredentialUsername: "old", SealedValue: []byte("old sealed")})
			ok(t, err, "AssetCreate")
			if a.UpdatedAt != nil {
				t.Errorf("a new asset has UpdatedAt %v, want none", a.UpdatedAt)
			}
			got, err := s.AssetUpdate(c, e.tenant.ID, a.ID, func(old store.Asset) (store.Asset, error) {
				sameAsset(t, "value handed to the update function", old, a)
				old.Name, old.Description, old.CredentialUsername, old.SealedValue = "Inbox", "renamed", "new", assetSealedBytes
				// What an asset cannot change is kept whatever the function says.
				old.Key, old.TenantID, old.FolderID, old.CreatedAt = "changed", missingID, g.ID, old.CreatedAt.Add(-1e12)
				return old, nil
			})
			ok(t, err, "AssetUpdate")
			if got.UpdatedAt == nil {
				t.Fatal("AssetUpdate did not set UpdatedAt")
			}
			want := a
			want.Name, want.Description, want.CredentialUsername, want.SealedValue, want.UpdatedAt = "Inbox", "renamed", "new", assetSealedBytes, got.UpdatedAt
			sameAsset(t, "AssetUpdate result", got, want)
			fresh, err := s.AssetGet(c, e.tenant.ID, a.ID)
			ok(t, err, "AssetGet")
			sameAsset(t, "AssetGet after update", fresh, want)

			// A sealed value can be removed; a failing function changes nothing.
			got, err = s.AssetUpdate(c, e.tenant.ID, a.ID, func(x store.Asset) (store.Asset, error) {
				x.ValueType, x.CredentialUsername, x.SealedValue, x.StringValue = store.AssetText, "", nil, "plain"
				return x, nil
			})
			ok(t, err, "AssetUpdate to Text")
			if got.SealedValue != nil || got.ValueType != store.AssetText || got.StringValue != "plain" {
				t.Errorf("after the change to Text: %+v", got)
			}
			_, err = s.AssetUpdate(c, e.tenant.ID, a.ID, func(x store.Asset) (store.Asset, error) { x.Name = "Lost"; return x, errBoom })
			if err != errBoom {
				t.Errorf("AssetUpdate with a failing function: err = %v, want the function's", err)
			}
			fresh, err = s.AssetGet(c, e.tenant.ID, a.ID)
			ok(t, err, "AssetGet")
			sameAsset(t, "asset after a failed update", fresh, got)
			_, err = s.AssetUpdate(c, e.tenant.ID, missingID, func(x store.Asset) (store.Asset, error) { return x, nil })
			wantNotFound(t, err, "AssetUpdate of a missing asset")
		}},
		{"Delete", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Shared")
			a := mustAsset(t, s, e.tenant.ID, f.ID, "Doomed")
			b := mustAsset(t, s, e.tenant.ID, f.ID, "Kept")
			ok(t, s.AssetDelete(c, e.tenant.ID, a.ID), "AssetDelete")
			_, err := s.AssetGet(c, e.tenant.ID, a.ID)
			wantNotFound(t, err, "AssetGet after delete")
			wantNotFound(t, s.AssetDelete(c, e.tenant.ID, a.ID), "AssetDelete twice")
			got, err := s.AssetGet(c, e.tenant.ID, b.ID)
			ok(t, err, "AssetGet of the other asset")
			sameAsset(t, "the other asset", got, b)
			// The name is free again.
			mustAsset(t, s, e.tenant.ID, f.ID, "doomed")
			// A folder with assets is not deleted under them; a tenant takes its assets along.
			wantConflict(t, s.FolderDelete(c, e.tenant.ID, f.ID), "FolderDelete of a folder with assets")
			ok(t, s.TenantDelete(c, e.org.ID, e.tenant.ID), "TenantDelete with assets")
			_, err = s.AssetGet(c, e.tenant.ID, b.ID)
			wantNotFound(t, err, "AssetGet after its tenant was deleted")
		}},
		{"Search", func(t *testing.T, s store.Store) {
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Shared")
			g := mustFolder(t, s, e.tenant.ID, 0, "Finance")
			for _, p := range []store.AssetCreateParams{
				{Name: "Greeting", ValueType: store.AssetText, StringValue: "Hello", Description: "first"},
				{Name: "Enabled", ValueType: store.AssetBool, BoolValue: true},
				{Name: "Retries", ValueType: store.AssetInteger, IntValue: 3},
				{Name: "Mailbox", ValueType: store.AssetCredential, CredentialUsername: "robot", SealedValue: assetSealedBytes},
				{Name: "ApiToken", ValueType: store.AssetSecret, SealedValue: assetSealedBytes},
			} {
				p.TenantID, p.FolderID, p.ValueScope = e.tenant.ID, f.ID, store.AssetGlobal
				_, err := s.AssetCreate(t.Context(), p)
				ok(t, err, "AssetCreate "+p.Name)
			}
			mustAsset(t, s, e.tenant.ID, g.ID, "Elsewhere")
			inShared := store.SearchParams{TenantID: e.tenant.ID, FolderID: f.ID}

			page, total := assetSearch(t, s, inShared, "", "")
			if total != 5 || len(page) != 5 {
				t.Errorf("Shared holds %d assets (page %v), want 5", total, assetNames(page))
			}
			checkAscending(t, "AssetSearch without $orderby", ids(page, func(a store.Asset) int64 { return a.ID }))
			page, _ = assetSearch(t, s, store.SearchParams{TenantID: e.tenant.ID}, "", "Name")
			if got := assetNames(page); len(got) != 6 || got[0] != "ApiToken" || got[5] != "Retries" {
				t.Errorf("every folder by Name: %v", got)
			}
			for filter, want := range map[string]string{
				"Name eq 'GREETING'":                                   "Greeting",
				"ValueType eq 'Credential'":                            "Mailbox",
				"ValueType eq '5'":                                     "Mailbox",
				"ValueType eq 'Secret'":                                "ApiToken",
				"Value eq 'True'":                                      "Enabled",
				"Value eq '3'":                                         "Retries",
				"Value eq 'robot'":                                     "Mailbox",
				"IntValue gt 2":                                        "Retries",
				"BoolValue eq true":                                    "Enabled",
				"CredentialUsername eq 'robot'":                        "Mailbox",
				"StringValue eq 'hello'":                               "Greeting",
				"contains(Description,'irs')":                          "Greeting",
				"ValueScope eq 'Global' and Description eq 'first'":    "Greeting",
				"OrganizationUnitId eq " + strconv.FormatInt(f.ID, 10): "Greeting,Enabled,Retries,Mailbox,ApiToken",
			} {
				page, _ := assetSearch(t, s, inShared, filter, "")
				if got := assetNameList(page); got != want {
					t.Errorf("$filter=%s: %s, want %s", filter, got, want)
				}
			}
			// A sealed value is nothing a query can reach.
			for _, filter := range []string{"SealedValue eq 'x'", "CredentialPassword eq 'x'", "SecretValue eq 'x'"} {
				x, err := odata.ParseFilter(filter)
				ok(t, err, "ParseFilter")
				_, _, err = s.AssetSearch(t.Context(), store.SearchParams{TenantID: e.tenant.ID, Query: odata.Query{Top: 10, Filter: x}})
				wantInvalid(t, err, "AssetSearch with $filter="+filter)
			}
		}},
		{"RobotValues", func(t *testing.T, s store.Store) {
			c := t.Context()
			re := mustRobotEnv(t, s)
			tn := re.tenant.ID
			other := mustMachine(t, s, tn, "other", "other-client")
			r1 := mustConnect(t, s, re, re.machine, "host-1", 1, time.Now())
			r2 := mustConnect(t, s, re, re.machine, "host-2", 1, time.Now())
			r3 := mustConnect(t, s, re, other, "host-3", 1, time.Now())
			sealed2 := []byte{0x00, 0xff, '2'}

			// A PerRobot Credential without a default, with values for two robots: written
			// with the asset and read back with it, in robot Id order.
			a, err := s.AssetCreate(c, store.AssetCreateParams{TenantID: tn, FolderID: re.folder, Name: "Mailbox",
				ValueScope: store.AssetPerRobot, ValueType: store.AssetCredential, RobotValues: []store.AssetRobotValue{
					{RobotID: r2.ID, CredentialUsername: "two", SealedValue: sealed2},
					{RobotID: r1.ID, CredentialUsername: "one", SealedValue: assetSealedBytes},
				}})
			ok(t, err, "AssetCreate PerRobot")
			want := []store.AssetRobotValue{
				{RobotID: r1.ID, RobotKey: r1.Key, RobotName: r1.Name, CredentialUsername: "one", SealedValue: assetSealedBytes},
				{RobotID: r2.ID, RobotKey: r2.Key, RobotName: r2.Name, CredentialUsername: "two", SealedValue: sealed2},
			}
			if a.HasDefaultValue || a.ValueScope != store.AssetPerRobot {
				t.Errorf("AssetCreate PerRobot without a default: HasDefaultValue %v, scope %s", a.HasDefaultValue, a.ValueScope)
			}
			same(t, "robot values of AssetCreate", a.RobotValues, want)
			got, err := s.AssetGet(c, tn, a.ID)
			ok(t, err, "AssetGet")
			sameAsset(t, "AssetGet of a PerRobot asset", got, a)
			got, err = s.AssetGetByName(c, tn, re.folder, "mailbox")
			ok(t, err, "AssetGetByName")
			same(t, "robot values of AssetGetByName", got.RobotValues, want)
			g := mustAsset(t, s, tn, re.folder, "Plain")
			page, _ := assetSearch(t, s, store.SearchParams{TenantID: tn, FolderID: re.folder}, "", "Name")
			if len(page) != 2 || page[0].Name != "Mailbox" || page[1].Name != "Plain" {
				t.Fatalf("AssetSearch: %v", assetNames(page))
			}
			same(t, "robot values in AssetSearch", page[0].RobotValues, want)
			if page[1].RobotValues != nil || !page[1].HasDefaultValue || !g.HasDefaultValue {
				t.Errorf("a Global asset: robot values %v, HasDefaultValue %v", page[1].RobotValues, page[1].HasDefaultValue)
			}

			v, err := s.AssetRobotValueGet(c, tn, a.ID, r2.ID)
			ok(t, err, "AssetRobotValueGet")
			same(t, "AssetRobotValueGet", v, want[1])
			_, err = s.AssetRobotValueGet(c, tn, a.ID, r3.ID)
			wantNotFound(t, err, "AssetRobotValueGet of a robot without a value")
			_, err = s.AssetRobotValueGet(c, tn, g.ID, r1.ID)
			wantNotFound(t, err, "AssetRobotValueGet of a Global asset")

			// A robot the tenant does not have, or twice the same robot, changes nothing.
			_, err = s.AssetCreate(c, store.AssetCreateParams{TenantID: tn, FolderID: re.folder, Name: "Ghost",
				ValueScope: store.AssetPerRobot, ValueType: store.AssetText, RobotValues: []store.AssetRobotValue{{RobotID: missingID}}})
			wantNotFound(t, err, "AssetCreate with a value for a missing robot")
			_, err = s.AssetGetByName(c, tn, re.folder, "Ghost")
			wantNotFound(t, err, "the asset of a refused create")
			_, err = s.AssetUpdate(c, tn, a.ID, func(x store.Asset) (store.Asset, error) {
				x.Description = "lost"
				x.RobotValues = append(x.RobotValues, store.AssetRobotValue{RobotID: r1.ID, CredentialUsername: "again"})
				return x, nil
			})
			wantConflict(t, err, "AssetUpdate with two values for one robot")
			got, err = s.AssetGet(c, tn, a.ID)
			ok(t, err, "AssetGet")
			sameAsset(t, "asset after a refused update", got, a)

			// An update replaces the values with those of the function and may add the
			// default; an update that keeps them keeps them.
			got, err = s.AssetUpdate(c, tn, a.ID, func(x store.Asset) (store.Asset, error) {
				x.HasDefaultValue, x.CredentialUsername, x.SealedValue = true, "default", []byte("d")
				x.RobotValues = []store.AssetRobotValue{x.RobotValues[1], {RobotID: r3.ID, CredentialUsername: "three", SealedValue: []byte("3")}}
				x.RobotValues[0].RobotName = "ignored"
				return x, nil
			})
			ok(t, err, "AssetUpdate of the robot values")
			want = []store.AssetRobotValue{want[1],
				{RobotID: r3.ID, RobotKey: r3.Key, RobotName: r3.Name, CredentialUsername: "three", SealedValue: []byte("3")}}
			same(t, "robot values after the update", got.RobotValues, want)
			if !got.HasDefaultValue || got.CredentialUsername != "default" {
				t.Errorf("after adding the default: %+v", got)
			}
			got, err = s.AssetUpdate(c, tn, a.ID, func(x store.Asset) (store.Asset, error) { x.Description = "kept"; return x, nil })
			ok(t, err, "AssetUpdate of the description")
			same(t, "robot values after an update that keeps them", got.RobotValues, want)
			_, err = s.AssetRobotValueGet(c, tn, a.ID, r1.ID)
			wantNotFound(t, err, "the value of a robot the update removed")

			// A robot's values go with its machine; an asset's with the asset.
			ok(t, s.MachineDelete(c, tn, other.ID), "MachineDelete")
			got, err = s.AssetGet(c, tn, a.ID)
			ok(t, err, "AssetGet")
			same(t, "robot values after the machine of one robot was deleted", got.RobotValues, want[:1])
			ok(t, s.AssetDelete(c, tn, a.ID), "AssetDelete")
			_, err = s.AssetRobotValueGet(c, tn, a.ID, r2.ID)
			wantNotFound(t, err, "AssetRobotValueGet of a deleted asset")
		}},
		{"RobotValuesIsolation", func(t *testing.T, s store.Store) {
			c := t.Context()
			re := mustRobotEnv(t, s)
			r := mustConnect(t, s, re, re.machine, "host-1", 1, time.Now())
			a, err := s.AssetCreate(c, store.AssetCreateParams{TenantID: re.tenant.ID, FolderID: re.folder, Name: "Per",
				ValueScope: store.AssetPerRobot, ValueType: store.AssetText, RobotValues: []store.AssetRobotValue{{RobotID: r.ID, StringValue: "mine"}}})
			ok(t, err, "AssetCreate")
			b := mustEnv(t, s, "globex")
			bf := mustFolder(t, s, b.tenant.ID, 0, "Theirs")
			_, err = s.AssetCreate(c, store.AssetCreateParams{TenantID: b.tenant.ID, FolderID: bf.ID, Name: "Stolen",
				ValueScope: store.AssetPerRobot, ValueType: store.AssetText, RobotValues: []store.AssetRobotValue{{RobotID: r.ID, StringValue: "x"}}})
			wantNotFound(t, err, "AssetCreate with a value for another tenant's robot")
			_, err = s.AssetRobotValueGet(c, b.tenant.ID, a.ID, r.ID)
			wantNotFound(t, err, "AssetRobotValueGet with another tenant")
			v, err := s.AssetRobotValueGet(c, re.tenant.ID, a.ID, r.ID)
			ok(t, err, "AssetRobotValueGet")
			if v.StringValue != "mine" {
				t.Errorf("AssetRobotValueGet: %+v", v)
			}
		}},
		{"Isolation", func(t *testing.T, s store.Store) {
			c := t.Context()
			f := newIsolationFixture(t, s)
			ta, tb := f.a.tenant.ID, f.b.tenant.ID
			a, err := s.AssetCreate(c, store.AssetCreateParams{TenantID: ta, FolderID: f.folder.ID, Name: "Mailbox",
				ValueScope: store.AssetGlobal, ValueType: store.AssetCredential, CredentialUsername: "robot", SealedValue: assetSealedBytes})
			ok(t, err, "AssetCreate")
			mustAsset(t, s, tb, f.bFolder.ID, "Theirs")

			_, err = s.AssetGet(c, tb, a.ID)
			wantNotFound(t, err, "AssetGet with another tenant")
			_, err = s.AssetGetByName(c, tb, f.folder.ID, a.Name)
			wantNotFound(t, err, "AssetGetByName with another tenant")
			called := false
			_, err = s.AssetUpdate(c, tb, a.ID, func(x store.Asset) (store.Asset, error) {
				called = true
				x.SealedValue = []byte("hijacked")
				return x, nil
			})
			wantNotFound(t, err, "AssetUpdate with another tenant")
			if called {
				t.Error("AssetUpdate with another tenant's id called its function")
			}
			wantNotFound(t, s.AssetDelete(c, tb, a.ID), "AssetDelete with another tenant")
			_, err = s.AssetCreate(c, store.AssetCreateParams{TenantID: tb, FolderID: f.folder.ID, Name: "Planted",
				ValueScope: store.AssetGlobal, ValueType: store.AssetText})
			wantNotFound(t, err, "AssetCreate into another tenant's folder")

			page, total := assetSearch(t, s, store.SearchParams{TenantID: tb}, "", "")
			if total != 1 || len(page) != 1 || page[0].Name != "Theirs" {
				t.Errorf("AssetSearch(B) = %v (total %d), want only B's asset", assetNames(page), total)
			}
			page, total = assetSearch(t, s, store.SearchParams{TenantID: tb, FolderID: f.folder.ID}, "", "")
			if total != 0 || len(page) != 0 {
				t.Errorf("AssetSearch(B, A's folder) = %v, want nothing", assetNames(page))
			}
			got, err := s.AssetGet(c, ta, a.ID)
			ok(t, err, "AssetGet in its own tenant")
			sameAsset(t, "tenant A's asset", got, a)
		}},
	}
}

func assetNameList(rows []store.Asset) string {
	var b bytes.Buffer
	for i, a := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a.Name)
	}
	return b.String()
}
