package api

import (
	"context"
	"errors"
	"testing"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
)

// TestAssetSealedValues checks the path robots will use to read a credential's password
// or a secret's value: what sealAssetValue stores opens with assetSecretValue for its own
// asset only, after a trip through the store.
func TestAssetSealedValues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	org, err := st.OrganizationCreate(ctx, store.OrganizationCreateParams{Name: "acme", DisplayName: "Acme"})
	assetMust(t, err)
	tn, err := st.TenantCreate(ctx, store.TenantCreateParams{OrgID: org.ID, Name: "Default", DisplayName: "Default"})
	assetMust(t, err)
	other, err := st.TenantCreate(ctx, store.TenantCreateParams{OrgID: org.ID, Name: "Other", DisplayName: "Other"})
	assetMust(t, err)
	f, err := st.FolderCreate(ctx, store.FolderCreateParams{TenantID: tn.ID, DisplayName: "Shared"})
	assetMust(t, err)
	g, err := st.FolderCreate(ctx, store.FolderCreateParams{TenantID: other.ID, DisplayName: "Shared"})
	assetMust(t, err)
	key, err := secret.GenerateKey()
	assetMust(t, err)
	a := New(Options{Store: st, SecretKey: key})

	// create seals for a new Key, as createAsset does, and stores the asset.
	create := func(tenantID, folderID int64, name string, typ store.AssetValueType, plaintext string) store.Asset {
		t.Helper()
		p := store.AssetCreateParams{TenantID: tenantID, FolderID: folderID, Key: "6e0f5a1c-0000-4000-8000-" + name[:4] + "00000000",
			Name: name, ValueScope: store.AssetGlobal, ValueType: typ}
		if typ == store.AssetCredential {
			p.CredentialUsername = "robot"
		}
		if plaintext != "" {
			p.SealedValue, err = a.sealAssetValue(tenantID, p.Key, typ, plaintext)
			assetMust(t, err)
		}
		as, err := st.AssetCreate(ctx, p)
		assetMust(t, err)
		return as
	}
	cred := create(tn.ID, f.ID, "cred", store.AssetCredential, "hunter2")
	sec := create(tn.ID, f.ID, "secr", store.AssetSecret, "s3cr3t")
	text := create(tn.ID, f.ID, "text", store.AssetText, "")
	theirs := create(other.ID, g.ID, "thei", store.AssetSecret, "theirs")

	for _, c := range []struct {
		as   store.Asset
		want string
	}{{cred, "hunter2"}, {sec, "s3cr3t"}, {theirs, "theirs"}} {
		got, err := st.AssetGet(ctx, c.as.TenantID, c.as.ID)
		assetMust(t, err)
		if string(got.SealedValue) == c.want || len(got.SealedValue) < len(c.want) {
			t.Errorf("asset %s: the store holds %q", got.Name, got.SealedValue)
		}
		plain, err := a.assetSecretValue(got)
		if err != nil || plain != c.want {
			t.Errorf("asset %s opens to %q, %v; want %q", got.Name, plain, err, c.want)
		}
	}

	// A sealed value moved to another row does not open: another asset of the tenant, an
	// asset of another type, another tenant's asset.
	moveTo := func(dst store.Asset, from store.Asset) store.Asset {
		t.Helper()
		moved, err := st.AssetUpdate(ctx, dst.TenantID, dst.ID, func(x store.Asset) (store.Asset, error) {
			x.SealedValue = from.SealedValue
			return x, nil
		})
		assetMust(t, err)
		return moved
	}
	cred2 := create(tn.ID, f.ID, "cre2", store.AssetCredential, "other password")
	for what, moved := range map[string]store.Asset{
		"another credential of the tenant": moveTo(cred2, cred),
		"a secret of the tenant":           moveTo(sec, cred),
		"another tenant's secret":          moveTo(theirs, cred),
	} {
		if plain, err := a.assetSecretValue(moved); !errors.Is(err, secret.ErrWrongKey) {
			t.Errorf("a password moved to %s opens: %q, %v", what, plain, err)
		}
	}
	// Nor does it open with another installation's key, nor without one.
	otherKey, _ := secret.GenerateKey()
	if plain, err := New(Options{SecretKey: otherKey}).assetSecretValue(cred); !errors.Is(err, secret.ErrWrongKey) {
		t.Errorf("another key opens the password: %q, %v", plain, err)
	}
	if _, err := New(Options{}).assetSecretValue(cred); err == nil {
		t.Error("without a secret key, the password opens")
	}
	if _, err := New(Options{}).sealAssetValue(tn.ID, cred.Key, cred.ValueType, "x"); err == nil {
		t.Error("without a secret key, a value is sealed")
	}
	// A Text asset has nothing sealed to open.
	if _, err := a.assetSecretValue(text); err == nil {
		t.Error("a Text asset has a sealed value to open")
	}
}

func assetMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
