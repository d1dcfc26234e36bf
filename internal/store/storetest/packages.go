package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/store"
)

// ---- packages and releases

// nupkgBytes stands for a .nupkg: the store keeps whatever bytes it is given.
func nupkgBytes(name, version string) []byte {
	return []byte("PK\x03\x04\x00\xff " + name + " " + version)
}

func hexSHA(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func pkgParams(tenantID int64, name, version string) store.PackageAddParams {
	return store.PackageAddParams{TenantID: tenantID, Name: name, Version: version, Title: "The " + name,
		Description: "Does " + name, Authors: "ann", ReleaseNotes: "notes of " + version, EntryPoint: "lib/run.sh",
		Arguments: `{"input":[{"name":"amount","type":"number"}],"output":null}`, Content: nupkgBytes(name, version)}
}

func mustPackage(t testing.TB, s store.Store, tenantID int64, name, version string) store.Package {
	t.Helper()
	p, err := s.PackageAdd(t.Context(), pkgParams(tenantID, name, version))
	ok(t, err, "PackageAdd "+name+" "+version)
	return p
}

func mustRelease(t testing.TB, s store.Store, tenantID, folderID int64, name, pkg, version string) store.Release {
	t.Helper()
	r, err := s.ReleaseCreate(t.Context(), store.ReleaseCreateParams{TenantID: tenantID, FolderID: folderID, Name: name,
		PackageName: pkg, PackageVersion: version})
	ok(t, err, "ReleaseCreate "+name)
	return r
}

// samePackage compares two package versions field by field, times as instants.
func samePackage(t testing.TB, what string, got, want store.Package) {
	t.Helper()
	got.CreatedAt, want.CreatedAt = normTime(got.CreatedAt), normTime(want.CreatedAt)
	same(t, what, got, want)
}

// sameRelease compares two releases, times as instants; the package they run too.
func sameRelease(t testing.TB, what string, got, want store.Release) {
	t.Helper()
	norm := func(r store.Release) store.Release {
		r.CreatedAt, r.UpdatedAt, r.Package.CreatedAt = normTime(r.CreatedAt), normTime(r.UpdatedAt), normTime(r.Package.CreatedAt)
		return r
	}
	same(t, what, norm(got), norm(want))
}

func query(t testing.TB, filter, orderBy string) odata.Query {
	t.Helper()
	q := odata.Query{Top: 100, Count: true}
	if filter != "" {
		x, err := odata.ParseFilter(filter)
		ok(t, err, "ParseFilter "+filter)
		q.Filter = x
	}
	if orderBy != "" {
		desc := strings.HasSuffix(orderBy, " desc")
		q.OrderBy = []odata.Order{{Path: strings.TrimSuffix(orderBy, " desc"), Desc: desc}}
	}
	return q
}

// pkgVersions writes a list of package versions as "name version, …".
func pkgVersions(rows []store.Package) string {
	out := make([]string, len(rows))
	for i, p := range rows {
		out[i] = p.Name + " " + p.Version
	}
	return strings.Join(out, ", ")
}

func releaseNames(rows []store.Release) string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Name
	}
	return strings.Join(out, ", ")
}

func historyOf(t testing.TB, s store.Store, tenantID, id int64) string {
	t.Helper()
	h, err := s.ReleaseVersions(t.Context(), tenantID, id)
	ok(t, err, "ReleaseVersions")
	out := make([]string, len(h))
	for i, v := range h {
		if v.ReleaseID != id || v.ID <= 0 || time.Since(v.CreatedAt) > time.Minute {
			t.Errorf("history entry %+v of release %d", v, id)
		}
		out[i] = v.Version
	}
	return strings.Join(out, " ")
}

// latestOf checks that exactly one version of a package is its latest and returns it.
func latestOf(t testing.TB, s store.Store, tenantID int64, name string) string {
	t.Helper()
	all, err := s.PackageList(t.Context(), tenantID, name)
	ok(t, err, "PackageList "+name)
	var latest []string
	for _, p := range all {
		if p.IsLatest {
			latest = append(latest, p.Version)
		}
	}
	if len(all) > 0 && len(latest) != 1 {
		t.Errorf("package %s: versions %s marked latest, want exactly one", name, strings.Join(latest, ", "))
	}
	got, err := s.PackageGetLatest(t.Context(), tenantID, name)
	ok(t, err, "PackageGetLatest "+name)
	return got.Version
}

// packageTests are the tests of packages and of the releases that run them.
func packageTests() []test {
	return append([]test{
		{"AddGet", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			in := pkgParams(e.tenant.ID, "Acme.Calc", "1.0.0")
			p, err := s.PackageAdd(c, in)
			ok(t, err, "PackageAdd")
			if p.ID <= 0 || time.Since(p.CreatedAt) > time.Minute || time.Since(p.CreatedAt) < -time.Minute {
				t.Errorf("PackageAdd: id %d, created %v", p.ID, p.CreatedAt)
			}
			want := store.Package{ID: p.ID, TenantID: e.tenant.ID, Name: "Acme.Calc", Version: "1.0.0", Title: in.Title,
				Description: in.Description, Authors: in.Authors, ReleaseNotes: in.ReleaseNotes, EntryPoint: in.EntryPoint,
				Arguments: in.Arguments, SHA256: hexSHA(in.Content), Size: int64(len(in.Content)), IsLatest: true, CreatedAt: p.CreatedAt}
			samePackage(t, "PackageAdd", p, want)
			// Names match in any case, versions in any spelling of the same version.
			for _, v := range []string{"1.0.0", "1.0", "1.0.0.0"} {
				got, err := s.PackageGet(c, e.tenant.ID, "acme.CALC", v)
				ok(t, err, "PackageGet "+v)
				samePackage(t, "PackageGet "+v, got, want)
			}
			content, err := s.PackageContent(c, e.tenant.ID, p.SHA256)
			ok(t, err, "PackageContent")
			if string(content) != string(in.Content) {
				t.Errorf("PackageContent = %q, want %q", content, in.Content)
			}

			// The same version again, whatever the case and the content, is a conflict.
			again := pkgParams(e.tenant.ID, "ACME.calc", "1.0")
			again.Content = []byte("other bytes")
			_, err = s.PackageAdd(c, again)
			wantConflict(t, err, "PackageAdd of an existing version")
			if err != nil && !strings.Contains(err.Error(), "Acme.Calc version 1.0.0 already exists") {
				t.Errorf("the conflict should name the version: %v", err)
			}
			_, err = s.PackageContent(c, e.tenant.ID, hexSHA(again.Content))
			wantNotFound(t, err, "PackageContent of a refused upload")

			_, err = s.PackageAdd(c, pkgParams(missingID, "Calc", "1.0.0"))
			wantNotFound(t, err, "PackageAdd in a missing tenant")
			_, err = s.PackageGet(c, e.tenant.ID, "Acme.Calc", "9.9.9")
			wantNotFound(t, err, "PackageGet of a missing version")
			_, err = s.PackageGetLatest(c, e.tenant.ID, "nope")
			wantNotFound(t, err, "PackageGetLatest of a missing package")
			_, err = s.PackageContent(c, e.tenant.ID, hexSHA([]byte("nothing")))
			wantNotFound(t, err, "PackageContent of unknown bytes")
			if list, err := s.PackageList(c, e.tenant.ID, "nope"); err != nil || len(list) != 0 {
				t.Errorf("PackageList of a missing package: %v, %v", list, err)
			}
		}},
		{"Latest", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			for _, v := range []string{"1.0.0", "1.10.0", "1.9.0", "2.0.0-beta"} {
				mustPackage(t, s, e.tenant.ID, "Calc", v)
			}
			if got := latestOf(t, s, e.tenant.ID, "calc"); got != "2.0.0-beta" {
				t.Errorf("latest is %s, want 2.0.0-beta (the highest, whatever the upload order)", got)
			}
			// Every version keeps the spelling of the package's first version.
			if p := mustPackage(t, s, e.tenant.ID, "CALC", "2.0.0"); p.Name != "Calc" {
				t.Errorf("a version uploaded as CALC is named %s, want Calc (the first version's spelling)", p.Name)
			}
			if got := latestOf(t, s, e.tenant.ID, "Calc"); got != "2.0.0" {
				t.Errorf("latest is %s, want 2.0.0 (a release is above its pre-releases)", got)
			}
			list, err := s.PackageList(c, e.tenant.ID, "CALC")
			ok(t, err, "PackageList")
			if got := pkgVersions(list); got != "Calc 2.0.0, Calc 2.0.0-beta, Calc 1.10.0, Calc 1.9.0, Calc 1.0.0" {
				t.Errorf("PackageList = %s, want the highest first", got)
			}
			mustPackage(t, s, e.tenant.ID, "Calc", "1.11.0") // lower than the latest: it stays
			if got := latestOf(t, s, e.tenant.ID, "Calc"); got != "2.0.0" {
				t.Errorf("after uploading a lower version the latest is %s", got)
			}
			_, err = s.PackageDelete(c, e.tenant.ID, "calc", "2.0.0")
			ok(t, err, "PackageDelete 2.0.0")
			if got := latestOf(t, s, e.tenant.ID, "Calc"); got != "2.0.0-beta" {
				t.Errorf("after deleting the latest, the latest is %s, want 2.0.0-beta", got)
			}
		}},
		{"Search", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			mustPackage(t, s, e.tenant.ID, "Calc", "1.0.0")
			mustPackage(t, s, e.tenant.ID, "Calc", "1.2.0")
			mustPackage(t, s, e.tenant.ID, "Mail", "0.1.0")
			mustPackage(t, s, e.tenant.ID, "Zip", "3.0.0")
			search := func(filter, orderBy string) (string, int) {
				t.Helper()
				page, total, err := s.PackageSearch(c, store.SearchParams{TenantID: e.tenant.ID, Query: query(t, filter, orderBy)})
				ok(t, err, "PackageSearch "+filter)
				return pkgVersions(page), total
			}
			if got, n := search("", "Id desc"); got != "Zip 3.0.0, Mail 0.1.0, Calc 1.2.0" || n != 3 {
				t.Errorf("PackageSearch lists %s (%d), want the latest version of each package", got, n)
			}
			if got, n := search("Id eq 'CALC'", ""); got != "Calc 1.2.0" || n != 1 {
				t.Errorf("Id eq 'CALC' → %s (%d)", got, n)
			}
			if got, _ := search("Key eq 'mail:0.1.0' or startswith(Title,'The Z')", "Id"); got != "Mail 0.1.0, Zip 3.0.0" {
				t.Errorf("Key and Title → %s", got)
			}
			versions := func(name, filter, orderBy string) (string, int) {
				t.Helper()
				page, total, err := s.PackageVersionSearch(c, name, store.SearchParams{TenantID: e.tenant.ID, Query: query(t, filter, orderBy)})
				ok(t, err, "PackageVersionSearch "+filter)
				return pkgVersions(page), total
			}
			if got, n := versions("calc", "", "Version desc"); got != "Calc 1.2.0, Calc 1.0.0" || n != 2 {
				t.Errorf("PackageVersionSearch = %s (%d)", got, n)
			}
			if got, _ := versions("Calc", "IsLatestVersion eq false", ""); got != "Calc 1.0.0" {
				t.Errorf("IsLatestVersion eq false → %s", got)
			}
			if got, n := versions("Nope", "", ""); got != "" || n != 0 {
				t.Errorf("versions of a missing package: %s (%d)", got, n)
			}
			_, _, err := s.PackageSearch(c, store.SearchParams{TenantID: e.tenant.ID, Query: query(t, "Nope eq 1", "")})
			wantInvalid(t, err, "PackageSearch on an unknown property")
		}},
		{"Delete", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Shared")
			// Two versions that happen to share their bytes share one stored content.
			v1 := pkgParams(e.tenant.ID, "Calc", "1.0.0")
			v2 := pkgParams(e.tenant.ID, "Calc", "1.0.1")
			v2.Content = v1.Content
			p1, err := s.PackageAdd(c, v1)
			ok(t, err, "PackageAdd 1.0.0")
			_, err = s.PackageAdd(c, v2)
			ok(t, err, "PackageAdd 1.0.1")
			mustPackage(t, s, e.tenant.ID, "Calc", "2.0.0")
			gone, err := s.PackageDelete(c, e.tenant.ID, "calc", "1.0")
			ok(t, err, "PackageDelete 1.0.0")
			if pkgVersions(gone) != "Calc 1.0.0" {
				t.Errorf("PackageDelete returned %s", pkgVersions(gone))
			}
			_, err = s.PackageGet(c, e.tenant.ID, "Calc", "1.0.0")
			wantNotFound(t, err, "PackageGet of a deleted version")
			if _, err := s.PackageContent(c, e.tenant.ID, p1.SHA256); err != nil {
				t.Errorf("the content 1.0.1 still uses was deleted: %v", err)
			}
			_, err = s.PackageDelete(c, e.tenant.ID, "Calc", "1.0.1")
			ok(t, err, "PackageDelete 1.0.1")
			_, err = s.PackageContent(c, e.tenant.ID, p1.SHA256)
			wantNotFound(t, err, "PackageContent once no version uses it")
			_, err = s.PackageDelete(c, e.tenant.ID, "Calc", "1.0.1")
			wantNotFound(t, err, "PackageDelete of a deleted version")
			_, err = s.PackageDelete(c, e.tenant.ID, "Nope", "")
			wantNotFound(t, err, "PackageDelete of a missing package")

			// A version a release runs stays.
			mustPackage(t, s, e.tenant.ID, "Calc", "3.0.0")
			r := mustRelease(t, s, e.tenant.ID, f.ID, "Nightly calc", "Calc", "2.0.0")
			_, err = s.PackageDelete(c, e.tenant.ID, "Calc", "")
			wantConflict(t, err, "PackageDelete of a package a release runs")
			if err != nil && !strings.Contains(err.Error(), "Nightly calc (version 2.0.0, folder Shared)") {
				t.Errorf("the refusal should name the release, its version and folder: %v", err)
			}
			if got := latestOf(t, s, e.tenant.ID, "Calc"); got != "3.0.0" {
				t.Errorf("a refused delete changed the latest to %s", got)
			}
			_, err = s.ReleaseUpdate(c, e.tenant.ID, r.ID, func(r store.Release) (store.Release, error) {
				r.PackageVersion = "3.0.0"
				return r, nil
			})
			ok(t, err, "ReleaseUpdate to 3.0.0")
			gone, err = s.PackageDelete(c, e.tenant.ID, "Calc", "2.0.0")
			ok(t, err, "PackageDelete of a version no release runs any more")
			ok(t, s.ReleaseDelete(c, e.tenant.ID, r.ID), "ReleaseDelete")
			gone, err = s.PackageDelete(c, e.tenant.ID, "CALC", "")
			ok(t, err, "PackageDelete of every version")
			if pkgVersions(gone) != "Calc 3.0.0" {
				t.Errorf("PackageDelete of every version returned %s", pkgVersions(gone))
			}
			if page, _, err := s.PackageSearch(c, store.SearchParams{TenantID: e.tenant.ID, Query: query(t, "", "")}); err != nil || len(page) != 0 {
				t.Errorf("PackageSearch after deleting everything: %s, %v", pkgVersions(page), err)
			}
		}},
	}, releaseTests()...)
}

func releaseTests() []test {
	return []test{
		{"ReleaseCreateGet", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			shared := mustFolder(t, s, e.tenant.ID, 0, "Shared")
			other := mustFolder(t, s, e.tenant.ID, 0, "Other")
			p := mustPackage(t, s, e.tenant.ID, "Calc", "1.0.0")
			in := store.ReleaseCreateParams{TenantID: e.tenant.ID, FolderID: shared.ID, Name: "Nightly Calc", Description: "runs at night",
				PackageName: "calc", PackageVersion: "1.0", InputArguments: `{"amount":5}`, JobPriority: store.PriorityHigh, MaxRunTimeSeconds: 600}
			r, err := s.ReleaseCreate(c, in)
			ok(t, err, "ReleaseCreate")
			checkNew(t, "release", r.ID, r.Key, r.CreatedAt)
			want := store.Release{ID: r.ID, Key: r.Key, TenantID: e.tenant.ID, FolderID: shared.ID, Name: "Nightly Calc",
				Description: "runs at night", PackageName: "Calc", PackageVersion: "1.0.0", InputArguments: `{"amount":5}`,
				JobPriority: store.PriorityHigh, MaxRunTimeSeconds: 600, CreatedAt: r.CreatedAt, UpdatedAt: r.CreatedAt, Package: p}
			sameRelease(t, "ReleaseCreate", r, want)
			got, err := s.ReleaseGet(c, e.tenant.ID, r.ID)
			ok(t, err, "ReleaseGet")
			sameRelease(t, "ReleaseGet", got, want)
			got, err = s.ReleaseGetByKey(c, e.tenant.ID, strings.ToUpper(r.Key))
			ok(t, err, "ReleaseGetByKey")
			sameRelease(t, "ReleaseGetByKey", got, want)
			got, err = s.ReleaseGetByName(c, e.tenant.ID, shared.ID, "NIGHTLY calc")
			ok(t, err, "ReleaseGetByName")
			sameRelease(t, "ReleaseGetByName", got, want)
			if h := historyOf(t, s, e.tenant.ID, r.ID); h != "1.0.0" {
				t.Errorf("history %q, want 1.0.0", h)
			}
			// Defaults.
			d := mustRelease(t, s, e.tenant.ID, other.ID, "Nightly Calc", "Calc", "1.0.0") // the same name in another folder
			if d.JobPriority != store.PriorityNormal || d.MaxRunTimeSeconds != 0 || d.InputArguments != "" {
				t.Errorf("defaults: %+v", d)
			}

			base := in
			base.Name = "nightly CALC"
			_, err = s.ReleaseCreate(c, base)
			wantConflict(t, err, "ReleaseCreate of a name the folder has")
			for what, mod := range map[string]func(*store.ReleaseCreateParams){
				"a missing version": func(p *store.ReleaseCreateParams) { p.PackageVersion = "9.0.0" },
				"a missing package": func(p *store.ReleaseCreateParams) { p.PackageName = "Nope" },
				"a missing folder":  func(p *store.ReleaseCreateParams) { p.FolderID = missingID },
			} {
				p := in
				p.Name = "x"
				mod(&p)
				_, err := s.ReleaseCreate(c, p)
				wantNotFound(t, err, "ReleaseCreate with "+what)
			}
			for what, mod := range map[string]func(*store.ReleaseCreateParams){
				"a bad priority":      func(p *store.ReleaseCreateParams) { p.JobPriority = "Urgent" },
				"a negative run time": func(p *store.ReleaseCreateParams) { p.MaxRunTimeSeconds = -1 },
				"an empty name":       func(p *store.ReleaseCreateParams) { p.Name = " " },
			} {
				p := in
				p.Name = "y"
				mod(&p)
				_, err := s.ReleaseCreate(c, p)
				wantInvalid(t, err, "ReleaseCreate with "+what)
			}
			_, err = s.ReleaseGet(c, e.tenant.ID, missingID)
			wantNotFound(t, err, "ReleaseGet of a missing release")
			_, err = s.ReleaseGetByKey(c, e.tenant.ID, "00000000-0000-0000-0000-000000000000")
			wantNotFound(t, err, "ReleaseGetByKey of a missing key")
			_, err = s.ReleaseGetByName(c, e.tenant.ID, other.ID, "nope")
			wantNotFound(t, err, "ReleaseGetByName of a missing name")
			_, err = s.ReleaseVersions(c, e.tenant.ID, missingID)
			wantNotFound(t, err, "ReleaseVersions of a missing release")
		}},
		{"ReleaseUpdate", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Shared")
			mustPackage(t, s, e.tenant.ID, "Calc", "1.0.0")
			p2 := mustPackage(t, s, e.tenant.ID, "Calc", "2.0.0")
			mustPackage(t, s, e.tenant.ID, "Mail", "1.0.0")
			r := mustRelease(t, s, e.tenant.ID, f.ID, "Calc", "Calc", "1.0.0")
			mustRelease(t, s, e.tenant.ID, f.ID, "Taken", "Calc", "1.0.0")
			if r.Package.IsLatest {
				t.Error("1.0.0 is not the latest version")
			}
			up, err := s.ReleaseUpdate(c, e.tenant.ID, r.ID, func(x store.Release) (store.Release, error) {
				sameRelease(t, "ReleaseUpdate's old value", x, r)
				x.Name, x.Description, x.InputArguments = "Calc nightly", "new", `{"a":1}`
				x.JobPriority, x.MaxRunTimeSeconds, x.PackageVersion = store.PriorityLow, 30, "2.0"
				x.ID, x.Key, x.FolderID, x.TenantID = 1, "ignored", missingID, missingID // not changeable
				return x, nil
			})
			ok(t, err, "ReleaseUpdate")
			want := r
			want.Name, want.Description, want.InputArguments, want.JobPriority, want.MaxRunTimeSeconds = "Calc nightly", "new", `{"a":1}`, store.PriorityLow, 30
			want.PackageVersion, want.Package, want.UpdatedAt = "2.0.0", p2, up.UpdatedAt
			sameRelease(t, "ReleaseUpdate", up, want)
			if up.UpdatedAt.Before(r.UpdatedAt) || !up.Package.IsLatest {
				t.Errorf("updated %v (created %v), latest %v", up.UpdatedAt, r.UpdatedAt, up.Package.IsLatest)
			}
			got, err := s.ReleaseGet(c, e.tenant.ID, r.ID)
			ok(t, err, "ReleaseGet")
			sameRelease(t, "ReleaseGet after ReleaseUpdate", got, up)
			if h := historyOf(t, s, e.tenant.ID, r.ID); h != "1.0.0 2.0.0" {
				t.Errorf("history %q, want 1.0.0 2.0.0", h)
			}
			// The same version, however written, adds nothing to the history.
			_, err = s.ReleaseUpdate(c, e.tenant.ID, r.ID, func(x store.Release) (store.Release, error) {
				x.PackageVersion, x.Description = "2.0.0.0", "again"
				return x, nil
			})
			ok(t, err, "ReleaseUpdate to the same version")
			if h := historyOf(t, s, e.tenant.ID, r.ID); h != "1.0.0 2.0.0" {
				t.Errorf("history %q after an update to the same version", h)
			}

			before, _ := s.ReleaseGet(c, e.tenant.ID, r.ID)
			refusals := []struct {
				what string
				fn   func(store.Release) (store.Release, error)
				want error
			}{
				{"a missing version", func(x store.Release) (store.Release, error) { x.PackageVersion = "9.9.9"; return x, nil }, store.ErrNotFound},
				{"another package", func(x store.Release) (store.Release, error) { x.PackageName = "Mail"; return x, nil }, store.ErrInvalid},
				{"a name the folder has", func(x store.Release) (store.Release, error) { x.Name = "TAKEN"; return x, nil }, store.ErrConflict},
				{"a bad priority", func(x store.Release) (store.Release, error) { x.JobPriority = "Now"; return x, nil }, store.ErrInvalid},
				{"a failing function", func(x store.Release) (store.Release, error) { x.Name = "changed"; return x, errBoom }, errBoom},
			}
			for _, rf := range refusals {
				_, err := s.ReleaseUpdate(c, e.tenant.ID, r.ID, rf.fn)
				if rf.want == errBoom {
					if err != errBoom {
						t.Errorf("ReleaseUpdate with %s: %v, want the function's error", rf.what, err)
					}
				} else {
					wantErr(t, err, rf.want, "ReleaseUpdate with "+rf.what)
				}
				after, _ := s.ReleaseGet(c, e.tenant.ID, r.ID)
				sameRelease(t, "the release after a refused update ("+rf.what+")", after, before)
			}
			if h := historyOf(t, s, e.tenant.ID, r.ID); h != "1.0.0 2.0.0" {
				t.Errorf("history %q after refused updates", h)
			}
			_, err = s.ReleaseUpdate(c, e.tenant.ID, missingID, func(x store.Release) (store.Release, error) { return x, nil })
			wantNotFound(t, err, "ReleaseUpdate of a missing release")
		}},
		{"ReleaseRollback", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Shared")
			for _, v := range []string{"1.0.0", "2.0.0", "3.0.0"} {
				mustPackage(t, s, e.tenant.ID, "Calc", v)
			}
			r := mustRelease(t, s, e.tenant.ID, f.ID, "Calc", "Calc", "1.0.0")
			to := func(v string) {
				t.Helper()
				_, err := s.ReleaseUpdate(c, e.tenant.ID, r.ID, func(x store.Release) (store.Release, error) { x.PackageVersion = v; return x, nil })
				ok(t, err, "ReleaseUpdate to "+v)
			}
			to("2.0.0")
			to("3.0.0")
			// The function sees the release at the earlier version and may change its values.
			back, err := s.ReleaseRollback(c, e.tenant.ID, r.ID, func(x store.Release) (store.Release, error) {
				if x.PackageVersion != "2.0.0" || x.Package.Version != "2.0.0" {
					t.Errorf("the rollback's function sees version %s (package %s), want 2.0.0", x.PackageVersion, x.Package.Version)
				}
				x.InputArguments, x.PackageVersion = `{"b":2}`, "1.0.0" // the version is the rollback's to choose
				return x, nil
			})
			ok(t, err, "ReleaseRollback")
			if back.PackageVersion != "2.0.0" || back.Package.Version != "2.0.0" || back.InputArguments != `{"b":2}` {
				t.Errorf("after the rollback: version %s, inputs %s", back.PackageVersion, back.InputArguments)
			}
			if h := historyOf(t, s, e.tenant.ID, r.ID); h != "1.0.0 2.0.0" {
				t.Errorf("history %q after a rollback, want 1.0.0 2.0.0", h)
			}
			// A failing function changes nothing.
			_, err = s.ReleaseRollback(c, e.tenant.ID, r.ID, func(x store.Release) (store.Release, error) { return x, errBoom })
			if err != errBoom {
				t.Errorf("ReleaseRollback with a failing function: %v", err)
			}
			if h := historyOf(t, s, e.tenant.ID, r.ID); h != "1.0.0 2.0.0" {
				t.Errorf("history %q after a failed rollback", h)
			}
			back, err = s.ReleaseRollback(c, e.tenant.ID, r.ID, nil)
			ok(t, err, "ReleaseRollback to 1.0.0")
			if back.PackageVersion != "1.0.0" {
				t.Errorf("second rollback: version %s, want 1.0.0", back.PackageVersion)
			}
			_, err = s.ReleaseRollback(c, e.tenant.ID, r.ID, nil)
			wantInvalid(t, err, "ReleaseRollback without an earlier version")
			if err != nil && !strings.Contains(err.Error(), "no earlier version") {
				t.Errorf("the refusal should say there is no earlier version: %v", err)
			}

			// An earlier version deleted since cannot be rolled back to.
			to("3.0.0")
			_, err = s.PackageDelete(c, e.tenant.ID, "Calc", "1.0.0")
			ok(t, err, "PackageDelete 1.0.0")
			_, err = s.ReleaseRollback(c, e.tenant.ID, r.ID, nil)
			wantNotFound(t, err, "ReleaseRollback to a deleted version")
			if err != nil && !strings.Contains(err.Error(), "version 1.0.0 of package Calc") {
				t.Errorf("the refusal should name the version: %v", err)
			}
			if h := historyOf(t, s, e.tenant.ID, r.ID); h != "1.0.0 3.0.0" {
				t.Errorf("history %q after a refused rollback", h)
			}
			_, err = s.ReleaseRollback(c, e.tenant.ID, missingID, nil)
			wantNotFound(t, err, "ReleaseRollback of a missing release")
		}},
		{"ReleaseSearch", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			shared := mustFolder(t, s, e.tenant.ID, 0, "Shared")
			fin := mustFolder(t, s, e.tenant.ID, 0, "Finance")
			mustPackage(t, s, e.tenant.ID, "Calc", "1.0.0")
			mustPackage(t, s, e.tenant.ID, "Calc", "2.0.0")
			mustPackage(t, s, e.tenant.ID, "Mail", "1.0.0")
			mustRelease(t, s, e.tenant.ID, shared.ID, "Calc old", "Calc", "1.0.0")
			mustRelease(t, s, e.tenant.ID, shared.ID, "Calc new", "Calc", "2.0.0")
			mustRelease(t, s, e.tenant.ID, shared.ID, "Mailer", "Mail", "1.0.0")
			mustRelease(t, s, e.tenant.ID, fin.ID, "Calc fin", "Calc", "2.0.0")
			search := func(p store.SearchParams, filter, orderBy string) (string, int) {
				t.Helper()
				p.TenantID, p.Query = e.tenant.ID, query(t, filter, orderBy)
				page, total, err := s.ReleaseSearch(c, p)
				ok(t, err, "ReleaseSearch "+filter)
				return releaseNames(page), total
			}
			inShared := store.SearchParams{FolderID: shared.ID}
			if got, n := search(inShared, "ProcessKey eq 'calc'", "Name"); got != "Calc new, Calc old" || n != 2 {
				t.Errorf("ProcessKey eq 'calc' in Shared → %s (%d)", got, n)
			}
			if got, _ := search(inShared, "IsLatestVersion eq true", "Id desc"); got != "Mailer, Calc new" {
				t.Errorf("IsLatestVersion → %s", got)
			}
			if got, _ := search(inShared, "ProcessVersion eq '1.0.0' and JobPriority eq 'Normal'", "Name desc"); got != "Mailer, Calc old" {
				t.Errorf("ProcessVersion and JobPriority → %s", got)
			}
			if got, n := search(store.SearchParams{}, "ProcessKey eq 'Calc'", "Id"); got != "Calc old, Calc new, Calc fin" || n != 3 {
				t.Errorf("every folder → %s (%d)", got, n)
			}
			if got, _ := search(store.SearchParams{OnlyFolders: []int64{fin.ID}}, "", ""); got != "Calc fin" {
				t.Errorf("OnlyFolders → %s", got)
			}
			if got, n := search(store.SearchParams{OnlyFolders: []int64{}}, "", ""); got != "" || n != 0 {
				t.Errorf("no folders → %s (%d)", got, n)
			}
			_, _, err := s.ReleaseSearch(c, store.SearchParams{TenantID: e.tenant.ID, Query: query(t, "Nope eq 1", "")})
			wantInvalid(t, err, "ReleaseSearch on an unknown property")
		}},
		{"ReleaseDelete", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Shared")
			mustPackage(t, s, e.tenant.ID, "Calc", "1.0.0")
			r := mustRelease(t, s, e.tenant.ID, f.ID, "Calc", "Calc", "1.0.0")
			// A folder that holds a release stays.
			wantConflict(t, s.FolderDelete(c, e.tenant.ID, f.ID), "FolderDelete of a folder holding a release")
			ok(t, s.ReleaseDelete(c, e.tenant.ID, r.ID), "ReleaseDelete")
			_, err := s.ReleaseGet(c, e.tenant.ID, r.ID)
			wantNotFound(t, err, "ReleaseGet of a deleted release")
			_, err = s.ReleaseVersions(c, e.tenant.ID, r.ID)
			wantNotFound(t, err, "ReleaseVersions of a deleted release")
			wantNotFound(t, s.ReleaseDelete(c, e.tenant.ID, r.ID), "ReleaseDelete of a deleted release")
			// Its name is free again, and the folder can go.
			r2 := mustRelease(t, s, e.tenant.ID, f.ID, "Calc", "Calc", "1.0.0")
			ok(t, s.ReleaseDelete(c, e.tenant.ID, r2.ID), "ReleaseDelete")
			ok(t, s.FolderDelete(c, e.tenant.ID, f.ID), "FolderDelete once its releases are gone")
		}},
		{"TenantDelete", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Shared")
			p := mustPackage(t, s, e.tenant.ID, "Calc", "1.0.0")
			mustPackage(t, s, e.tenant.ID, "Calc", "2.0.0")
			r := mustRelease(t, s, e.tenant.ID, f.ID, "Calc", "Calc", "1.0.0")
			_, err := s.ReleaseUpdate(c, e.tenant.ID, r.ID, func(x store.Release) (store.Release, error) { x.PackageVersion = "2.0.0"; return x, nil })
			ok(t, err, "ReleaseUpdate")
			ok(t, s.TenantDelete(c, e.org.ID, e.tenant.ID), "TenantDelete of a tenant with packages and releases")
			_, err = s.PackageContent(c, e.tenant.ID, p.SHA256)
			wantNotFound(t, err, "PackageContent of a deleted tenant")
			_, err = s.ReleaseGet(c, e.tenant.ID, r.ID)
			wantNotFound(t, err, "ReleaseGet of a deleted tenant")
		}},
		{"Isolation", func(t *testing.T, s store.Store) {
			c := t.Context()
			a, b := mustEnv(t, s, "org-a"), mustEnv(t, s, "org-b")
			fa, fb := mustFolder(t, s, a.tenant.ID, 0, "Shared"), mustFolder(t, s, b.tenant.ID, 0, "Shared")
			p := mustPackage(t, s, a.tenant.ID, "Calc", "1.0.0")
			r := mustRelease(t, s, a.tenant.ID, fa.ID, "Calc", "Calc", "1.0.0")
			bt := b.tenant.ID

			_, err := s.PackageGet(c, bt, "Calc", "1.0.0")
			wantNotFound(t, err, "PackageGet from another tenant")
			_, err = s.PackageGetLatest(c, bt, "Calc")
			wantNotFound(t, err, "PackageGetLatest from another tenant")
			_, err = s.PackageContent(c, bt, p.SHA256)
			wantNotFound(t, err, "PackageContent from another tenant")
			if list, err := s.PackageList(c, bt, "Calc"); err != nil || len(list) != 0 {
				t.Errorf("PackageList from another tenant: %s, %v", pkgVersions(list), err)
			}
			if page, n, err := s.PackageSearch(c, store.SearchParams{TenantID: bt, Query: query(t, "", "")}); err != nil || n != 0 {
				t.Errorf("PackageSearch from another tenant: %s (%d), %v", pkgVersions(page), n, err)
			}
			if page, n, err := s.PackageVersionSearch(c, "Calc", store.SearchParams{TenantID: bt, Query: query(t, "", "")}); err != nil || n != 0 {
				t.Errorf("PackageVersionSearch from another tenant: %s (%d), %v", pkgVersions(page), n, err)
			}
			_, err = s.PackageDelete(c, bt, "Calc", "")
			wantNotFound(t, err, "PackageDelete from another tenant")

			_, err = s.ReleaseGet(c, bt, r.ID)
			wantNotFound(t, err, "ReleaseGet from another tenant")
			_, err = s.ReleaseGetByKey(c, bt, r.Key)
			wantNotFound(t, err, "ReleaseGetByKey from another tenant")
			_, err = s.ReleaseGetByName(c, bt, fa.ID, "Calc")
			wantNotFound(t, err, "ReleaseGetByName from another tenant")
			_, err = s.ReleaseVersions(c, bt, r.ID)
			wantNotFound(t, err, "ReleaseVersions from another tenant")
			_, err = s.ReleaseUpdate(c, bt, r.ID, func(x store.Release) (store.Release, error) { x.Name = "stolen"; return x, nil })
			wantNotFound(t, err, "ReleaseUpdate from another tenant")
			_, err = s.ReleaseRollback(c, bt, r.ID, nil)
			wantNotFound(t, err, "ReleaseRollback from another tenant")
			wantNotFound(t, s.ReleaseDelete(c, bt, r.ID), "ReleaseDelete from another tenant")
			if page, n, err := s.ReleaseSearch(c, store.SearchParams{TenantID: bt, Query: query(t, "", "")}); err != nil || n != 0 {
				t.Errorf("ReleaseSearch from another tenant: %s (%d), %v", releaseNames(page), n, err)
			}
			// B cannot create a release in A's folder, nor run A's package.
			_, err = s.ReleaseCreate(c, store.ReleaseCreateParams{TenantID: bt, FolderID: fa.ID, Name: "x", PackageName: "Calc", PackageVersion: "1.0.0"})
			wantNotFound(t, err, "ReleaseCreate in another tenant's folder")
			_, err = s.ReleaseCreate(c, store.ReleaseCreateParams{TenantID: bt, FolderID: fb.ID, Name: "x", PackageName: "Calc", PackageVersion: "1.0.0"})
			wantNotFound(t, err, "ReleaseCreate of another tenant's package")

			// B has packages of its own, of the same name and version and bytes.
			pb := mustPackage(t, s, bt, "Calc", "1.0.0")
			if pb.ID == p.ID || pb.SHA256 != p.SHA256 {
				t.Errorf("B's package %+v, A's %+v", pb, p)
			}
			_, err = s.PackageDelete(c, bt, "Calc", "")
			ok(t, err, "PackageDelete of B's own package")
			got, err := s.PackageContent(c, a.tenant.ID, p.SHA256)
			if err != nil || string(got) != string(nupkgBytes("Calc", "1.0.0")) {
				t.Errorf("A's content after B deleted its copy: %q, %v", got, err)
			}
			after, err := s.ReleaseGet(c, a.tenant.ID, r.ID)
			ok(t, err, "ReleaseGet in its own tenant")
			sameRelease(t, "tenant A's release", after, r)
		}},
		{"ConcurrentVersions", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			// Writers upload versions of one package at once: each lands, and exactly one
			// version, the highest, is the latest.
			parallel(writers, func(w int) {
				for i := range 3 {
					v := fmt.Sprintf("%d.%d.0", i, w)
					if _, err := s.PackageAdd(c, pkgParams(e.tenant.ID, "Calc", v)); err != nil {
						t.Errorf("PackageAdd %s: %v", v, err)
					}
				}
			})
			list, err := s.PackageList(c, e.tenant.ID, "Calc")
			ok(t, err, "PackageList")
			if len(list) != 3*writers {
				t.Errorf("%d versions stored, want %d", len(list), 3*writers)
			}
			if got, want := latestOf(t, s, e.tenant.ID, "Calc"), fmt.Sprintf("2.%d.0", writers-1); got != want {
				t.Errorf("latest %s, want %s", got, want)
			}
		}},
	}
}
