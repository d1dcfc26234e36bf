package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"regexp"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/packages"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// ---- building packages

// zipEntry is one entry of a test archive.
type zipEntry struct{ name, body string }

// buildZip makes a zip archive of the entries, stored uncompressed so that its bytes are
// the same on every run.
func buildZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, en := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: en.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(en.body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func nuspecEntry(id, version string) zipEntry {
	return zipEntry{id + ".nuspec", `<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2010/07/nuspec.xsd">
  <metadata><id>` + id + `</id><version>` + version + `</version><title>` + id + ` process</title>
    <authors>ann</authors><description>` + id + ` for the tests</description></metadata>
</package>`}
}

// nupkg builds a package: its nuspec, a project.json (main run.sh when project is ""),
// run.sh and the extra entries.
func nupkg(t testing.TB, id, version, project string, extra ...zipEntry) []byte {
	t.Helper()
	if project == "" {
		project = `{"main":"run.sh"}`
	}
	entries := append([]zipEntry{nuspecEntry(id, version), {"project.json", project}, {"run.sh", "#!/bin/sh\necho " + id + " " + version + "\n"}}, extra...)
	return buildZip(t, entries...)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// multipartBody writes content as one file part of field, as clients send it.
func multipartBody(t testing.TB, field, filename string, content []byte) (body []byte, contentType string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, field, filename))
	h.Set("Content-Type", "application/octet-stream")
	w, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(content)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

const uploadPath = base + "/odata/Processes/UiPath.Server.Configuration.OData.UploadPackage"

// upload posts one package in field with a Content-Length, as the node client does.
func (e *env) upload(t *testing.T, tok, field, filename string, content []byte) reply {
	t.Helper()
	body, ct := multipartBody(t, field, filename, content)
	return e.sendRaw(t, "POST", uploadPath, bytes.NewReader(body), map[string]string{"Authorization": "Bearer " + tok, "Content-Type": ct})
}

// sendRaw makes a request with the body and headers as given (a body that is not a
// *bytes.Reader goes chunked).
func (e *env) sendRaw(t *testing.T, method, path string, body io.Reader, headers map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header[k] = []string{v}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	json.Unmarshal(b, &r.body)
	return r
}

// addPackage stores a package through the store, as an upload would.
func addPackage(t testing.TB, st store.Store, tenantID int64, content []byte) store.Package {
	t.Helper()
	m, err := packages.Read(content)
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.PackageAdd(context.Background(), store.PackageAddParams{TenantID: tenantID, Name: m.ID, Version: m.Version,
		Title: m.Title, Description: m.Description, Authors: m.Authors, EntryPoint: m.EntryPoint, Arguments: m.Arguments.Encode(), Content: content})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ---- fixtures every environment and the matrix get

func init() {
	envSeeds = append(envSeeds, seedHello)
	matrixFixtures = append(matrixFixtures, packageMatrixFixtures)
}

// seedHello gives every environment a package, Hello 1.0.0, a process running it in
// Shared, and a job of it (seedJob): the metadata test needs a row of each entity set.
func seedHello(t testing.TB, e *env) {
	t.Helper()
	ctx := context.Background()
	acme, _ := e.st.OrganizationGetByName(ctx, "acme")
	tn, _ := e.st.TenantGetByName(ctx, acme.ID, "DefaultTenant")
	shared, _ := e.st.FolderGetByPath(ctx, tn.ID, "Shared")
	addPackage(t, e.st, tn.ID, nupkg(t, "Hello", "1.0.0", `{"main":"run.sh","arguments":{"input":[{"name":"who","type":"string","default":"world"}]}}`))
	r, err := e.st.ReleaseCreate(ctx, store.ReleaseCreateParams{TenantID: tn.ID, FolderID: shared.ID, Name: "Hello",
		PackageName: "Hello", PackageVersion: "1.0.0", InputArguments: `{"who":"you"}`})
	if err != nil {
		t.Fatal(err)
	}
	seedJob(t, e, tn.ID, r)
}

// packageMatrixFixtures: a package with two versions and a process that ran both (so that
// each version action succeeds), a package and a process to delete, and an upload body.
func packageMatrixFixtures(t *testing.T, e *env, fx *matrixFixture) {
	ctx := context.Background()
	addPackage(t, e.st, fx.tenantID, nupkg(t, "MatrixPkg", "1.0.0", ""))
	addPackage(t, e.st, fx.tenantID, nupkg(t, "MatrixPkg", "2.0.0", ""))
	addPackage(t, e.st, fx.tenantID, nupkg(t, "MatrixDoomed", "1.0.0", ""))
	rel, err := e.st.ReleaseCreate(ctx, store.ReleaseCreateParams{TenantID: fx.tenantID, FolderID: fx.shared, Name: "Matrix Release",
		PackageName: "MatrixPkg", PackageVersion: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.ReleaseUpdate(ctx, fx.tenantID, rel.ID, func(r store.Release) (store.Release, error) {
		r.PackageVersion = "2.0.0"
		return r, nil
	}); err != nil {
		t.Fatal(err)
	}
	doomed, err := e.st.ReleaseCreate(ctx, store.ReleaseCreateParams{TenantID: fx.tenantID, FolderID: fx.shared, Name: "Matrix Doomed",
		PackageName: "MatrixPkg", PackageVersion: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	fx.keys["Releases"], fx.deleteKeys["Releases"] = itoa(rel.ID), itoa(doomed.ID)
	fx.deleteKeys["Processes"] = "'MatrixDoomed:1.0.0'"
	const action = "/UiPath.Server.Configuration.OData."
	fx.bodies["POST /odata/Releases"] = `{"name":"matrix-new","processKey":"MatrixPkg","processVersion":"1.0.0"}`
	fx.bodies["PUT /odata/Releases({key})"] = `{"Name":"Matrix Release","ProcessKey":"MatrixPkg","ProcessVersion":"2.0.0"}`
	fx.bodies["PATCH /odata/Releases({key})"] = `{"Description":"patched"}`
	fx.bodies["POST /odata/Releases({key})"+action+"UpdateToSpecificPackageVersion"] = `{"packageVersion":"2.0.0"}`
	fx.bodies["POST /odata/Releases({key})"+action+"UpdateToLatestPackageVersion"] = `{}`
	fx.bodies["POST /odata/Releases({key})"+action+"RollbackToPreviousReleaseVersion"] = `{}`
	body, ct := multipartBody(t, "file", "MatrixUpload.1.0.0.nupkg", nupkg(t, "MatrixUpload", "1.0.0", ""))
	fx.bodies["POST /odata/Processes"+action+"UploadPackage"] = string(body)
	fx.contentTypes["POST /odata/Processes"+action+"UploadPackage"] = ct
	fx.funcParams["GET /odata/Processes"+action+"GetProcessVersions"] = "(processId='MatrixPkg')"
	fx.funcParams["GET /odata/Processes"+action+"DownloadPackage"] = "(key='MatrixPkg:1.0.0')"
	fx.funcParams["GET /api/PackageFeeds/GetFolderFeed"] = "?folderId=" + itoa(fx.shared)
}

// ---- the tests

// TestPublishSequence replays, request by request, how the official CLI publishes a
// package (reference/clients.md), then moves the process between versions the three ways
// UiPath offers.
func TestPublishSequence(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			tok := e.userToken(t, "acme", "ann@acme.test", "OR.Folders OR.Execution")
			auth := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}

			// 1. The folder, by its name.
			r := e.sendRaw(t, "GET", base+"/odata/Folders?%24filter=FullyQualifiedName+eq+%27Shared%27", nil, auth)
			wantStatus(t, r, 200)
			folderID := int64(r.body["value"].([]any)[0].(map[string]any)["Id"].(float64))
			inFolder := with(auth, "X-Uipath-Organizationunitid", itoa(folderID))

			// 2. The folder's feed: null, the tenant feed.
			r = e.sendRaw(t, "GET", base+"/api/PackageFeeds/GetFolderFeed?folderId="+itoa(folderID), nil, auth)
			wantStatus(t, r, 200)
			if strings.TrimSpace(r.raw) != "null" {
				t.Fatalf("GetFolderFeed = %q, want null", r.raw)
			}

			// 3. The upload as the CLI streams it: chunked multipart, field "file".
			v1 := nupkg(t, "Calculator", "1.0.0", "")
			cliUpload := func(content []byte, filename string) reply {
				t.Helper()
				pr, pw := io.Pipe()
				mw := multipart.NewWriter(pw)
				go func() {
					h := textproto.MIMEHeader{}
					h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, filename))
					h.Set("Content-Type", "application/octet-stream")
					w, _ := mw.CreatePart(h)
					w.Write(content)
					mw.Close()
					pw.Close()
				}()
				return e.sendRaw(t, "POST", uploadPath, pr, map[string]string{"Authorization": "Bearer " + tok, "Content-Type": mw.FormDataContentType()})
			}
			r = cliUpload(v1, "Calculator.1.0.0.nupkg")
			wantStatus(t, r, 200, `"Key":"Calculator.1.0.0.nupkg"`, `"Status":"OK"`, `"Body":"{\"Id\":\"Calculator\",\"Version\":\"1.0.0\"}"`)

			// 4. No process runs it yet.
			releases := base + "/odata/Releases?$filter=ProcessKey%20eq%20'Calculator'"
			r = e.sendRaw(t, "GET", releases, nil, inFolder)
			wantStatus(t, r, 200, `"value":[]`)

			// 5. The process, as the CLI posts it: camelCase, 201 with Id.
			r = e.sendRaw(t, "POST", base+"/odata/Releases", strings.NewReader(`{"name":"Calculator","processKey":"Calculator","processVersion":"1.0.0"}`), inFolder)
			wantStatus(t, r, 201, `"ProcessKey":"Calculator"`, `"ProcessVersion":"1.0.0"`, `"IsLatestVersion":true`, `"Key":"`,
				`"OrganizationUnitFullyQualifiedName":"Shared"`, `"@odata.context":"`+e.url+base+`/odata/$metadata#Releases/$entity"`)
			id := int64(r.body["Id"].(float64))

			// 6. A second version; uploading the first again is a 409, as the CLI expects.
			r = cliUpload(nupkg(t, "Calculator", "1.0.1", ""), "Calculator.1.0.1.nupkg")
			wantStatus(t, r, 200)
			r = cliUpload(v1, "Calculator.1.0.0.nupkg")
			wantStatus(t, r, 409, "package Calculator version 1.0.0 already exists", `"errorCode":1004`)

			// 7. The CLI finds the process by ProcessKey and PATCHes it: exactly 200.
			r = e.sendRaw(t, "GET", releases, nil, inFolder)
			wantStatus(t, r, 200, `"Id":`+itoa(id))
			r = e.sendRaw(t, "PATCH", base+"/odata/Releases("+itoa(id)+")", strings.NewReader(`{"name":"Calculator","processKey":"Calculator","processVersion":"1.0.1"}`), inFolder)
			if r.status != 200 {
				t.Fatalf("PATCH Releases: %d %s, want 200", r.status, r.raw)
			}
			version := func(want string, latest bool) {
				t.Helper()
				r := e.sendRaw(t, "GET", base+"/odata/Releases("+itoa(id)+")", nil, inFolder)
				wantStatus(t, r, 200, `"ProcessVersion":"`+want+`"`, fmt.Sprintf(`"IsLatestVersion":%v`, latest))
			}
			version("1.0.1", true)

			// 8. Back, forward, and to a chosen version.
			act := func(action, body string) reply {
				t.Helper()
				var rd io.Reader
				if body != "" {
					rd = strings.NewReader(body)
				}
				return e.sendRaw(t, "POST", base+"/odata/Releases("+itoa(id)+")/UiPath.Server.Configuration.OData."+action, rd, inFolder)
			}
			wantStatus(t, act("RollbackToPreviousReleaseVersion", `{}`), 200, `"ProcessVersion":"1.0.0"`, `"IsLatestVersion":false`)
			version("1.0.0", false)
			wantStatus(t, act("RollbackToPreviousReleaseVersion", ""), 400, "no earlier version to roll back to")
			wantStatus(t, act("UpdateToLatestPackageVersion", ""), 200, `"ProcessVersion":"1.0.1"`, `"IsLatestVersion":true`)
			version("1.0.1", true)
			wantStatus(t, act("UpdateToSpecificPackageVersion", `{"packageVersion":"1.0"}`), 200, `"ProcessVersion":"1.0.0"`)
			version("1.0.0", false)
			wantStatus(t, act("UpdateToSpecificPackageVersion", `{"packageVersion":"9.9.9"}`), 400, "package Calculator has no version 9.9.9",
				"GetProcessVersions(processId='Calculator')")
			wantStatus(t, act("UpdateToSpecificPackageVersion", `{}`), 400, `{\"packageVersion\":\"1.0.1\"}`)
			wantStatus(t, act("UpdateToLatestPackageVersion", `{"mergePackageTags":false}`), 200, `"ProcessVersion":"1.0.1"`)
			wantStatus(t, act("RollbackToPreviousReleaseVersion", ""), 200, `"ProcessVersion":"1.0.0"`)

			// Every step is in the audit log, in order.
			audit := bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Audit.Read"))
			r = e.get(t, base+"/odata/AuditLogs?$filter=Component+eq+'Packages'+or+Component+eq+'Processes'&$orderby=Id", audit)
			wantStatus(t, r, 200, `"OperationText":"uploaded package Calculator version 1.0.0 (`,
				`"OperationText":"created process Calculator in folder Shared, running package Calculator version 1.0.0"`,
				`"OperationText":"updated process Calculator in folder Shared: package version 1.0.0 → 1.0.1"`,
				`"OperationText":"rolled back process Calculator in folder Shared from version 1.0.1 to 1.0.0 of package Calculator"`,
				`"OperationText":"process Calculator in folder Shared now runs version 1.0.1 of package Calculator (was 1.0.0): package version 1.0.0 → 1.0.1"`,
				`"UserName":"user ann@acme.test"`)
			want := "Create,Create,Create,Update,RollbackToPreviousReleaseVersion,UpdateToLatestPackageVersion,UpdateToSpecificPackageVersion,UpdateToLatestPackageVersion,RollbackToPreviousReleaseVersion"
			if got := strings.Join(names(t, r, "Action"), ","); got != want {
				t.Errorf("audit actions\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestPackages: uploads in the node client's field, the 409 of a version uploaded twice,
// versions, downloads byte for byte, deletes, and who may do what.
func TestPackages(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ctx := context.Background()
			tn := mustTenant(t, e)
			annTok := e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess")
			ann := bearer(annTok)
			bobTok := e.userToken(t, "acme", "bob@acme.test", "OrchestratorApiUserAccess")
			bob := bearer(bobTok)
			processes := base + "/odata/Processes"

			// The node client's field, uploads[], with a Content-Length; and a package of 12 MiB,
			// above the server's 10 MiB cap for other calls: the upload route's limit is its own.
			big := make([]byte, 12<<20)
			rand.Read(big)
			v1 := nupkg(t, "Mailer", "1.0.0", `{"main":"bin/send.py","arguments":{"input":[{"name":"to","type":"string","required":true}]}}`,
				zipEntry{"bin/send.py", "print('sent')"}, zipEntry{"data/blob.bin", string(big)})
			r := e.upload(t, annTok, "uploads[]", "Mailer.1.0.0.nupkg", v1)
			wantStatus(t, r, 200, `"Key":"Mailer.1.0.0.nupkg"`, `"Status":"OK"`)
			v2 := nupkg(t, "Mailer", "1.1.0-beta", "")
			wantStatus(t, e.upload(t, annTok, "file", "m.nupkg", v2), 200)
			v3 := nupkg(t, "mailer", "1.1.0", "")
			wantStatus(t, e.upload(t, annTok, "file", "m3.nupkg", v3), 200)
			// The same id and version, in another case and spelling: 409, nothing changes.
			r = e.upload(t, annTok, "file", "again.nupkg", nupkg(t, "MAILER", "1.0", ""))
			wantStatus(t, r, 409, `"errorCode":1004`, "package Mailer version 1.0.0 already exists", "give the new one a higher version")
			// Only the tenant's administrators upload.
			wantStatus(t, e.upload(t, bobTok, "file", "b.nupkg", nupkg(t, "Bobs", "1.0.0", "")), 403, "Packages.Create")
			// An unknown feed is refused; the tenant feed (null, empty or its Key) is fine.
			body, ct := multipartBody(t, "file", "f.nupkg", nupkg(t, "Feedy", "1.0.0", ""))
			r = e.sendRaw(t, "POST", uploadPath+"?feedId=abc", bytes.NewReader(body), with(ann, "Content-Type", ct))
			wantStatus(t, r, 400, `feedId \"abc\" names no feed`)
			r = e.sendRaw(t, "POST", uploadPath+"?FeedId="+tn.Key, bytes.NewReader(body), with(ann, "Content-Type", ct))
			wantStatus(t, r, 200)

			// The list: each package once, at its latest version (the highest, not the last
			// uploaded); every member with Packages.View somewhere may read it.
			for _, tok := range []map[string]string{ann, bob} {
				r = e.get(t, processes+"?$orderby=Id&$count=true", tok)
				wantStatus(t, r, 200, `"@odata.count":3`)
				if got := strings.Join(names(t, r, "Key"), ","); got != "Feedy:1.0.0,Hello:1.0.0,Mailer:1.1.0" {
					t.Errorf("Processes: %s", got)
				}
			}
			r = e.get(t, processes+"?$filter=Id+eq+'mailer'", ann)
			wantStatus(t, r, 200, `"Version":"1.1.0"`, `"IsLatestVersion":true`, `"MainEntryPointPath":"run.sh"`)
			wantStatus(t, e.get(t, processes+"?$filter=Nope+eq+1", ann), 400, "Nope")

			// Versions: all of them, with @odata.count.
			versions := processes + "/UiPath.Server.Configuration.OData.GetProcessVersions(processId='Mailer')"
			r = e.get(t, versions+"?$orderby=Published", bob)
			wantStatus(t, r, 200, `"@odata.count":3`, `"@odata.context":"`+e.url+base+`/odata/$metadata#Processes"`,
				`"Input":"[{\"name\":\"to\",\"type\":\"string\",\"required\":true,\"hasDefault\":false}]"`,
				`"MainEntryPointPath":"bin/send.py"`, `"ContentSha256":"`+sha(v1)+`"`)
			if got := strings.Join(names(t, r, "Version"), ","); got != "1.0.0,1.1.0-beta,1.1.0" {
				t.Errorf("versions: %s", got)
			}
			wantStatus(t, e.get(t, versions+"?$filter=IsLatestVersion+eq+true", ann), 200, `"Version":"1.1.0"`)
			wantStatus(t, e.get(t, processes+"/UiPath.Server.Configuration.OData.GetProcessVersions()", ann), 400, "processId='Calculator'")
			wantStatus(t, e.get(t, processes+"/UiPath.Server.Configuration.OData.GetProcessVersions(processId='Nope')", ann), 200, `"@odata.count":0`)

			// Downloads: the same bytes, by version or the latest; a cached copy is not sent again.
			download := func(key string, h map[string]string) reply {
				return e.get(t, processes+"/UiPathODataSvc.DownloadPackage(key='"+key+"')", h)
			}
			for key, want := range map[string][]byte{"Mailer:1.0.0": v1, "mailer:1.1.0-BETA": v2, "Mailer": v3} {
				r := download(key, bob)
				wantStatus(t, r, 200)
				if sha(([]byte)(r.raw)) != sha(want) {
					t.Errorf("DownloadPackage(%s): %d bytes with SHA-256 %s, want %d bytes with %s", key, len(r.raw), sha([]byte(r.raw)), len(want), sha(want))
				}
				if r.header.Get("ETag") != `"`+sha(want)+`"` || r.header.Get("Content-Type") != "application/octet-stream" ||
					!strings.Contains(r.header.Get("Content-Disposition"), ".nupkg") || !strings.HasPrefix(r.header.Get("Repr-Digest"), "sha-256=:") {
					t.Errorf("DownloadPackage(%s) headers: %v", key, r.header)
				}
			}
			r = download("Mailer:1.0.0", with(bob, "If-None-Match", `"`+sha(v1)+`"`))
			if r.status != 304 || r.raw != "" {
				t.Errorf("a download with a matching If-None-Match: %d, %d bytes", r.status, len(r.raw))
			}
			wantStatus(t, download("Mailer:9.0.0", ann), 404, "package Mailer has no version 9.0.0", "GetProcessVersions(processId='Mailer')")
			wantStatus(t, download("Nope", ann), 404, "package Nope does not exist")
			wantStatus(t, download("Mailer:x", ann), 400, `version \"x\"`)
			wantStatus(t, e.get(t, processes+"/UiPath.Server.Configuration.OData.DownloadPackage()", ann), 400, "DownloadPackage needs the package key")

			// A member whose roles lack Packages.View everywhere cannot read packages.
			watcher, err := e.st.RoleCreate(ctx, store.RoleCreateParams{TenantID: tn.ID, Name: "Queue Watcher", Type: tenancy.RoleTypeFolder,
				Permissions: []tenancy.Permission{"Queues.View"}})
			if err != nil {
				t.Fatal(err)
			}
			eve, _ := e.st.UserGetByEmail(ctx, tn.OrgID, "eve@acme.test")
			shared, _ := e.st.FolderGetByPath(ctx, tn.ID, "Shared")
			if err := e.st.MembershipSet(ctx, tenancy.Membership{TenantID: tn.ID, FolderID: shared.ID,
				Principal: tenancy.Principal{Kind: tenancy.PrincipalUser, ID: eve.ID}, RoleIDs: []int64{watcher.ID}}); err != nil {
				t.Fatal(err)
			}
			eveTok := bearer(e.userToken(t, "acme", "eve@acme.test", "OrchestratorApiUserAccess"))
			wantStatus(t, e.get(t, processes, eveTok), 403, "lacks permission Packages.View, at tenant level and in every folder")
			wantStatus(t, download("Mailer", eveTok), 403, "Packages.View")
			// GetFolderFeed: null for a folder the caller may use, the folder error otherwise.
			secretF, _ := e.st.FolderGetByPath(ctx, tn.ID, "Secret")
			wantStatus(t, e.get(t, base+"/api/PackageFeeds/GetFolderFeed?folderId="+itoa(secretF.ID), bob), 403, `"errorCode":1100`)
			wantStatus(t, e.get(t, base+"/api/PackageFeeds/GetFolderFeed?folderId=abc", bob), 400, "folderId must be a folder Id")
			wantStatus(t, e.get(t, "/acme/DefaultTenant/api/PackageFeeds/GetFolderFeed", with(bob, "X-UIPATH-TenantName", "DefaultTenant")), 200, "null")

			// Deletes: a version no process runs; a package a process runs is refused, naming it.
			mailerRel := e.send(t, "POST", base+"/odata/Releases", `{"Name":"Mail out","ProcessKey":"Mailer","ProcessVersion":"1.1.0"}`,
				with(ann, "X-UIPATH-FolderPath", "Shared"))
			wantStatus(t, mailerRel, 201)
			wantStatus(t, e.send(t, "DELETE", processes+"('Mailer:1.0.0')", "", bob), 403, "Packages.Delete")
			wantStatus(t, e.send(t, "DELETE", processes+"('Mailer:1.0.0')", "", ann), 204)
			_, err = e.st.PackageContent(ctx, tn.ID, sha(v1))
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the content of a deleted version is still stored: %v", err)
			}
			wantStatus(t, download("Mailer:1.0.0", ann), 404)
			r = e.send(t, "DELETE", processes+"('Mailer')", "", ann)
			wantStatus(t, r, 409, "package Mailer is run by the processes Mail out (version 1.1.0, folder Shared)")
			wantStatus(t, e.get(t, versions, ann), 200, `"@odata.count":2`)
			wantStatus(t, e.send(t, "DELETE", base+"/odata/Releases("+itoa(int64(mailerRel.body["Id"].(float64)))+")", "", with(ann, "X-UIPATH-FolderPath", "Shared")), 204)
			wantStatus(t, e.send(t, "DELETE", processes+"('Mailer')", "", ann), 204)
			wantStatus(t, e.get(t, versions, ann), 200, `"@odata.count":0`)
			wantStatus(t, e.send(t, "DELETE", processes+"('Mailer')", "", ann), 404, "package Mailer does not exist")
			wantStatus(t, e.send(t, "DELETE", processes+"('Feedy:2.0.0')", "", ann), 404, "package Feedy has no version 2.0.0")

			audit := bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Audit.Read"))
			r = e.get(t, base+"/odata/AuditLogs?$filter=Component+eq+'Packages'&$orderby=Id", audit)
			wantStatus(t, r, 200, `"OperationText":"uploaded package Mailer version 1.0.0 (12 MiB, SHA-256 `+sha(v1)+`)"`,
				`"OperationText":"deleted package Mailer version 1.0.0"`, `"OperationText":"deleted package Mailer (every version: 1.1.0-beta, 1.1.0)"`)
			if got := strings.Join(names(t, r, "Action"), ","); got != "Create,Create,Create,Create,Delete,Delete" {
				t.Errorf("audit actions %s", got)
			}
		})
	}
}

// TestBadUploads: each refusal says what is wrong, and leaves nothing behind: no package,
// no stored bytes, no audit entry.
func TestBadUploads(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ctx := context.Background()
			tn := mustTenant(t, e)
			tok := e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess")
			run := []zipEntry{{"run.sh", "echo"}}
			proj := zipEntry{"project.json", `{"main":"run.sh"}`}
			cases := []struct {
				name    string
				content []byte
				status  int
				want    string
			}{
				{"not a zip", []byte("this is not a zip file"), 400, "not a readable zip archive (a .nupkg is a zip file)"},
				{"zip without a nuspec", buildZip(t, append(run, proj)...), 400, "no .nuspec file at its root"},
				{"nuspec without a version", buildZip(t, append(run, proj, zipEntry{"Calc.nuspec", "<package><metadata><id>Calc</id></metadata></package>"})...), 400,
					"Calc.nuspec has no <version> in its <metadata>"},
				{"nuspec without an id", buildZip(t, append(run, proj, zipEntry{"Calc.nuspec", "<package><metadata><version>1.0.0</version></metadata></package>"})...), 400,
					"Calc.nuspec has no <id>"},
				{"no project.json", buildZip(t, append(run, nuspecEntry("Calc", "1.0.0"))...), 400, "no project.json at its root"},
				{"project.json without main", buildZip(t, nuspecEntry("Calc", "1.0.0"), zipEntry{"project.json", `{"name":"Calc"}`}), 400, `project.json has no \"main\"`},
				{"main that is not there", nupkg(t, "Calc", "1.0.0", `{"main":"start.sh"}`), 400, "names start.sh, which the package does not hold; its files are Calc.nuspec, project.json, run.sh"},
				{"an entry ../evil", nupkg(t, "Calc", "1.0.0", "", zipEntry{"../evil", "x"}), 400, `entry \"../evil\" leads out of the package`},
				{"an absolute entry", nupkg(t, "Calc", "1.0.0", "", zipEntry{"/etc/passwd", "x"}), 400, `entry \"/etc/passwd\" is an absolute path`},
				{"undeclared argument type", nupkg(t, "Calc", "1.0.0", `{"main":"run.sh","arguments":{"input":[{"name":"n","type":"decimal"}]}}`), 400,
					`type \"decimal\" is not known`},
				{"too large", make([]byte, packages.MaxSize+1), 413, "package bad.nupkg is larger than the limit of 64 MiB (67108864 bytes)"},
			}
			for _, c := range cases {
				r := e.upload(t, tok, "file", "bad.nupkg", c.content)
				if r.status != c.status || !strings.Contains(r.raw, c.want) {
					t.Errorf("%s: %d %s\nwant %d with %q", c.name, r.status, r.raw, c.status, c.want)
				}
				if c.status == 400 && !strings.Contains(r.raw, "bad.nupkg is not a usable package: ") {
					t.Errorf("%s: the message should name the file: %s", c.name, r.raw)
				}
				if _, err := e.st.PackageContent(ctx, tn.ID, sha(c.content)); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s: the refused package's bytes are stored (%v)", c.name, err)
				}
			}
			// A too large package sent chunked is refused the same way.
			body, ct := multipartBody(t, "file", "huge.nupkg", make([]byte, packages.MaxSize+1))
			r := e.sendRaw(t, "POST", uploadPath, io.MultiReader(bytes.NewReader(body)), map[string]string{"Authorization": "Bearer " + tok, "Content-Type": ct})
			wantStatus(t, r, 413, "package huge.nupkg is larger than the limit of 64 MiB")

			// Requests that hold no package.
			ann := bearer(tok)
			wantStatus(t, e.send(t, "POST", uploadPath, `{"file":"x"}`, ann), 400, "UploadPackage takes multipart/form-data", `field named \"file\"`)
			body, ct = multipartBody(t, "document", "notes.txt", []byte("hello"))
			r = e.sendRaw(t, "POST", uploadPath, bytes.NewReader(body), with(ann, "Content-Type", ct))
			wantStatus(t, r, 400, `the request holds no package`, `fields sent: \"document\"`)
			r = e.sendRaw(t, "POST", uploadPath, strings.NewReader("--x\r\nbroken"), with(ann, "Content-Type", "multipart/form-data; boundary=x"))
			wantStatus(t, r, 400, "the multipart body is malformed")

			// Nothing was stored and nothing audited.
			r = e.get(t, base+"/odata/Processes?$count=true", ann)
			wantStatus(t, r, 200, `"@odata.count":1`, `"Id":"Hello"`)
			audit := bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Audit.Read"))
			wantStatus(t, e.get(t, base+"/odata/AuditLogs?$filter=Component+eq+'Packages'&$count=true", audit), 200, `"@odata.count":0`)

			// Two packages in one request land together, or not at all.
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for _, p := range []struct {
				name    string
				content []byte
			}{{"a.nupkg", nupkg(t, "Pair", "1.0.0", "")}, {"b.nupkg", nupkg(t, "Hello", "1.0.0", "")}} {
				w, _ := mw.CreateFormFile("uploads[]", p.name)
				w.Write(p.content)
			}
			mw.Close()
			r = e.sendRaw(t, "POST", uploadPath, bytes.NewReader(buf.Bytes()), with(ann, "Content-Type", mw.FormDataContentType()))
			wantStatus(t, r, 409, "package Hello version 1.0.0 already exists")
			wantStatus(t, e.get(t, base+"/odata/Processes?$filter=Id+eq+'Pair'&$count=true", ann), 200, `"@odata.count":0`)
		})
	}
}

// TestPackageGoldenShapes pins the JSON of ProcessDto, ReleaseDto and the upload's answer.
// Run with -update after an intended change and review the diff.
func TestPackageGoldenShapes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, engines()["sqlite"])
	tok := e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess")
	ann := bearer(tok)
	shared := with(ann, "X-UIPATH-FolderPath", "Shared")
	calc := nupkg(t, "Calculator", "2.1.0", `{"main":"run.sh","arguments":{"input":[{"name":"a","type":"number","required":true},{"name":"op","type":"string","default":"add"}],"output":[{"name":"result","type":"number"}]}}`)
	up := e.upload(t, tok, "file", "Calculator.2.1.0.nupkg", calc)
	wantStatus(t, up, 200)
	rel := e.send(t, "POST", base+"/odata/Releases", `{"Name":"Calculator","ProcessKey":"Calculator","InputArguments":"{\"a\":2}","JobPriority":"High","MaxRunTimeSeconds":900}`, shared)
	wantStatus(t, rel, 201)
	cases := map[string]reply{
		"package_upload":             up,
		"processes":                  e.get(t, base+"/odata/Processes?$orderby=Id", ann),
		"process_versions":           e.get(t, base+"/odata/Processes/UiPath.Server.Configuration.OData.GetProcessVersions(processId='Calculator')", ann),
		"release_created":            rel,
		"releases":                   e.get(t, base+"/odata/Releases?$orderby=Id", shared),
		"error_release_needs_folder": e.get(t, base+"/odata/Releases", ann),
	}
	// The packages' bytes (and so their hashes and sizes) depend on archive/zip's output.
	hash := regexp.MustCompile(`[0-9a-f]{64}`)
	size := regexp.MustCompile(`"(Size)": \d+`)
	for name, r := range cases {
		checkGolden(t, name, r.raw, func(s string) string {
			return size.ReplaceAllString(hash.ReplaceAllString(s, "<sha256>"), `"$1": <bytes>`)
		})
	}
}
