package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/openorch/openorch/client"
)

func TestNewURLs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name              string
		cfg               client.Config
		base, org, tenant string
		err               string
	}{
		{name: "server and names", cfg: client.Config{URL: "https://orch.example.com/", Org: "acme", Tenant: "DefaultTenant"},
			base: "https://orch.example.com/acme/DefaultTenant/orchestrator_/", org: "acme", tenant: "DefaultTenant"},
		{name: "behind a path prefix", cfg: client.Config{URL: "http://h:8080/orch", Org: "acme", Tenant: "T"},
			base: "http://h:8080/orch/acme/T/orchestrator_/", org: "acme", tenant: "T"},
		{name: "a job's ORCH_URL", cfg: client.Config{URL: "http://127.0.0.1:9/acme/T/orchestrator_"},
			base: "http://127.0.0.1:9/acme/T/orchestrator_/", org: "acme", tenant: "T"},
		{name: "API base with a slash", cfg: client.Config{URL: "http://h/acme/T/orchestrator_/"},
			base: "http://h/acme/T/orchestrator_/", org: "acme", tenant: "T"},
		{name: "no tenant", cfg: client.Config{URL: "http://h"}, err: "names no organization and tenant"},
		{name: "org only", cfg: client.Config{URL: "http://h", Org: "acme"}, err: "set both Org and Tenant"},
		{name: "base and names", cfg: client.Config{URL: "http://h/acme/T/orchestrator_", Org: "acme", Tenant: "T"}, err: "API base already"},
		{name: "not http", cfg: client.Config{URL: "ftp://h", Org: "a", Tenant: "b"}, err: "not an http(s) address"},
		{name: "query", cfg: client.Config{URL: "http://h?x=1", Org: "a", Tenant: "b"}, err: "must not carry a query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.New(tc.cfg)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v; want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.BaseURL().String() != tc.base || c.Org() != tc.org || c.Tenant() != tc.tenant {
				t.Errorf("base %s org %s tenant %s; want %s %s %s", c.BaseURL(), c.Org(), c.Tenant(), tc.base, tc.org, tc.tenant)
			}
		})
	}
}

// echo answers every request with what it received.
type echoed struct {
	Method, Path, RawQuery, Body, ContentType string
	Header                                    http.Header
}

func echoServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(echoed{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Body: string(b),
			ContentType: r.Header.Get("Content-Type"), Header: r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRequests(t *testing.T) {
	t.Parallel()
	srv := echoServer(t)
	c, err := client.New(client.Config{URL: srv.URL, Org: "acme", Tenant: "T", Folder: "Shared", UserAgent: "test/1",
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok"})})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	do := func(method, path string, body any, opts ...client.RequestOption) echoed {
		t.Helper()
		req, err := c.NewRequest(method, path, body, opts...)
		if err != nil {
			t.Fatal(err)
		}
		var e echoed
		if _, err := c.Do(ctx, req, &e); err != nil {
			t.Fatal(err)
		}
		return e
	}

	e := do("GET", "/odata/Folders?$filter=FullyQualifiedName eq 'Shared'&$top=5", nil)
	switch {
	case e.Path != "/acme/T/orchestrator_/odata/Folders":
		t.Errorf("path %s", e.Path)
	case e.RawQuery != "%24filter=FullyQualifiedName+eq+%27Shared%27&%24top=5":
		t.Errorf("query %s; want it well-formed", e.RawQuery)
	case e.Header.Get("Authorization") != "Bearer tok" || e.Header.Get("User-Agent") != "test/1":
		t.Errorf("headers %v", e.Header)
	case e.Header.Get(client.HeaderFolderPath) != "Shared":
		t.Errorf("the default folder was not sent: %v", e.Header)
	}

	// Folder options replace the default; non-ASCII paths go encoded.
	for _, tc := range []struct {
		opt        client.RequestOption
		header, is string
	}{
		{client.InFolder("42"), client.HeaderFolderID, "42"},
		{client.InFolderID(7), client.HeaderFolderID, "7"},
		{client.InFolder("Finance/AP"), client.HeaderFolderPath, "Finance/AP"},
		{client.InFolderKey("6f9619ff-8b86-d011-b42d-00cf4fc964ff"), client.HeaderFolderKey, "6f9619ff-8b86-d011-b42d-00cf4fc964ff"},
		{client.InFolderPath("Finanzen/Größe"), client.HeaderFolderPathEncoded, client.EncodeFolderPath("Finanzen/Größe")},
	} {
		e := do("GET", "odata/QueueDefinitions", nil, tc.opt)
		n := 0
		for _, h := range []string{client.HeaderFolderID, client.HeaderFolderKey, client.HeaderFolderPath, client.HeaderFolderPathEncoded} {
			if e.Header.Get(h) != "" {
				n++
			}
		}
		if e.Header.Get(tc.header) != tc.is || n != 1 {
			t.Errorf("want only %s: %s, got %v", tc.header, tc.is, e.Header)
		}
	}
	if got := client.EncodeFolderPath("Shared"); got != "UwBoAGEAcgBlAGQA" {
		t.Errorf("EncodeFolderPath(Shared) = %s; want base64 of UTF-16LE", got)
	}

	// Bodies: values as JSON, readers as they are.
	e = do("POST", "odata/Queues/UiPathODataSvc.AddQueueItem", map[string]any{"itemData": map[string]string{"Name": "<Q&A>"}})
	if e.Body != `{"itemData":{"Name":"<Q&A>"}}`+"\n" || e.ContentType != "application/json" {
		t.Errorf("JSON body %q (%s)", e.Body, e.ContentType)
	}
	e = do("PUT", "odata/X(1)", strings.NewReader(`{"raw":true}`))
	if e.Body != `{"raw":true}` || e.Method != "PUT" {
		t.Errorf("reader body %q", e.Body)
	}
	e = do("GET", "odata/Jobs", nil, client.WithQuery((&client.ListOptions{Filter: "State eq 'Running'", Top: 10, Count: true}).Values()))
	if e.RawQuery != "%24count=true&%24filter=State+eq+%27Running%27&%24top=10" {
		t.Errorf("list options query %s", e.RawQuery)
	}

	// The raw answer into a writer.
	req, _ := c.NewRequest("GET", "odata/Folders", nil)
	var buf bytes.Buffer
	if _, err := c.Do(ctx, req, &buf); err != nil || !strings.Contains(buf.String(), `"Method":"GET"`) {
		t.Errorf("raw answer %q: %v", buf.String(), err)
	}

	if _, err := c.NewRequest("GET", "https://elsewhere.example/odata/Folders", nil); err == nil {
		t.Error("an absolute URL should be refused: the token must not go elsewhere")
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		want                    client.Error
		reason                  string
	}{
		{name: "current format", status: 400, contentType: "application/json",
			body:   `{"message":"An organization unit is required for this action.","errorCode":1101,"traceId":"00-abc-def-01","details":{"reason":"GET /odata/QueueDefinitions works in one folder","headers":[],"folders":[{"Id":1}]}}`,
			want:   client.Error{Message: "An organization unit is required for this action.", ErrorCode: 1101, TraceID: "00-abc-def-01"},
			reason: "GET /odata/QueueDefinitions works in one folder"},
		{name: "ABP envelope", status: 401, contentType: "application/json",
			body:   `{"message":"You are not authenticated!","errorCode":0,"result":null,"targetUrl":null,"success":false,"error":{"code":0,"message":"You are not authenticated!","details":"You should be authenticated (sign in) in order to perform this operation.","validationErrors":null},"unAuthorizedRequest":true,"__abp":true}`,
			want:   client.Error{Message: "You are not authenticated!"},
			reason: "You should be authenticated (sign in) in order to perform this operation."},
		{name: "ABP without top-level message", status: 400, contentType: "application/json",
			body: `{"success":false,"error":{"code":1000,"message":"Username cannot be empty.","details":null}}`,
			want: client.Error{Message: "Username cannot be empty.", ErrorCode: 1000}},
		{name: "string error code", status: 409, contentType: "application/json",
			body: `{"message":"Duplicate reference.","errorCode":"1016","resourceIds":null}`,
			want: client.Error{Message: "Duplicate reference.", ErrorCode: 1016}},
		{name: "OAuth", status: 400, contentType: "application/json",
			body: `{"error":"invalid_grant","error_description":"the refresh token was revoked"}`,
			want: client.Error{Message: "the refresh token was revoked", OAuthError: "invalid_grant"}},
		{name: "plain text", status: 404, contentType: "text/plain", body: "404 page not found\n",
			want: client.Error{Message: "404 page not found"}},
		{name: "HTML", status: 502, contentType: "text/html", body: "<html><body>Bad gateway</body></html>",
			want: client.Error{Message: "Bad Gateway"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c, _ := client.New(client.Config{URL: srv.URL + "/a/b/orchestrator_"})
			req, _ := c.NewRequest("GET", "odata/QueueDefinitions", nil)
			resp, err := c.Do(context.Background(), req, nil)
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v; want *client.Error", err)
			}
			if resp == nil || resp.StatusCode != tc.status || e.StatusCode != tc.status || e.Method != "GET" || e.Path != "/a/b/orchestrator_/odata/QueueDefinitions" {
				t.Errorf("status %d, method %s, path %s", e.StatusCode, e.Method, e.Path)
			}
			if e.Message != tc.want.Message || e.ErrorCode != tc.want.ErrorCode || e.OAuthError != tc.want.OAuthError || e.TraceID != tc.want.TraceID {
				t.Errorf("got %+v; want %+v", e, tc.want)
			}
			if e.Reason() != tc.reason {
				t.Errorf("Reason() = %q; want %q", e.Reason(), tc.reason)
			}
			if string(e.Body) != tc.body {
				t.Errorf("Body %q", e.Body)
			}
			if !strings.Contains(e.Error(), tc.want.Message) || !strings.Contains(e.Error(), strconv.Itoa(tc.status)) {
				t.Errorf("Error() = %q", e.Error())
			}
		})
	}
}

// All pages through a list with $skip until a page comes back short.
func TestAll(t *testing.T) {
	t.Parallel()
	const rows = 23
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		top, _ := strconv.Atoi(r.URL.Query().Get("$top"))
		skip, _ := strconv.Atoi(r.URL.Query().Get("$skip"))
		var value []client.Folder
		for i := skip; i < min(skip+top, rows); i++ {
			value = append(value, client.Folder{ID: int64(i + 1), DisplayName: fmt.Sprint("F", i+1)})
		}
		json.NewEncoder(w).Encode(map[string]any{"value": value})
	}))
	defer srv.Close()
	c, _ := client.New(client.Config{URL: srv.URL, Org: "a", Tenant: "b"})
	var ids []int64
	for f, err := range client.All[client.Folder](context.Background(), c, "odata/Folders", &client.ListOptions{Top: 10}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.ID)
	}
	if len(ids) != rows || ids[0] != 1 || ids[rows-1] != rows || calls.Load() != 3 {
		t.Fatalf("got %d rows in %d calls: %v", len(ids), calls.Load(), ids)
	}
	// Stopping early fetches no more pages.
	calls.Store(0)
	for range client.All[client.Folder](context.Background(), c, "odata/Folders", &client.ListOptions{Top: 5}) {
		break
	}
	if calls.Load() != 1 {
		t.Errorf("breaking out of All made %d calls", calls.Load())
	}
}

// The token comes from an oauth2 token source: an expired token is renewed by oauth2 at
// the token endpoint, not by the client.
func TestTokenSourceRenews(t *testing.T) {
	t.Parallel()
	var issued atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /acme/identity_/connect/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") != "rt-1" || r.PostForm.Get("client_id") != client.CLIClientID {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_grant"}`)
			return
		}
		n := issued.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"at-%d","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-1"}`, n+1)
	})
	var seen atomic.Value
	mux.HandleFunc("GET /acme/T/orchestrator_/odata/Folders", func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("Authorization"))
		io.WriteString(w, `{"value":[]}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	conf := oauth2.Config{ClientID: client.CLIClientID, Endpoint: client.Endpoint(srv.URL, "acme")}
	expired := &oauth2.Token{AccessToken: "at-1", RefreshToken: "rt-1", Expiry: time.Now().Add(-time.Minute)}
	c, _ := client.New(client.Config{URL: srv.URL, Org: "acme", Tenant: "T", TokenSource: conf.TokenSource(context.Background(), expired)})
	for range 2 {
		if _, _, err := c.Folders.List(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if seen.Load() != "Bearer at-2" || issued.Load() != 1 {
		t.Errorf("sent %v after %d renewals; want the renewed token, renewed once", seen.Load(), issued.Load())
	}

	// A refused renewal is the oauth2 error, as it is.
	bad := conf.TokenSource(context.Background(), &oauth2.Token{AccessToken: "x", RefreshToken: "stolen", Expiry: time.Now().Add(-time.Minute)})
	c, _ = client.New(client.Config{URL: srv.URL, Org: "acme", Tenant: "T", TokenSource: bad})
	_, _, err := c.Folders.List(context.Background(), nil)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("err %v; want *oauth2.RetrieveError invalid_grant", err)
	}
}

func TestEndpoint(t *testing.T) {
	t.Parallel()
	ep := client.Endpoint("https://orch.example.com/", "acme")
	if ep.AuthURL != "https://orch.example.com/acme/identity_/connect/authorize" ||
		ep.TokenURL != "https://orch.example.com/acme/identity_/connect/token" ||
		ep.DeviceAuthURL != "https://orch.example.com/acme/identity_/connect/deviceauthorization" || ep.AuthStyle != oauth2.AuthStyleInParams {
		t.Errorf("Endpoint = %+v", ep)
	}
	if got := client.IdentityBase("http://h", ""); got != "http://h/identity_" {
		t.Errorf("IdentityBase without an organization = %s", got)
	}
}

// TestUploadProgress shows WithProgress reports an upload in growing steps up to the
// length of the whole body.
func TestUploadProgress(t *testing.T) {
	t.Parallel()
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		got.Store(n)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"value":[{"Key":"Hello:1.0.0","Status":"OK"}]}`)
	}))
	defer srv.Close()
	c, err := client.New(client.Config{URL: srv.URL + "/acme/T/orchestrator_", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	pkg := bytes.Repeat([]byte("x"), 300_000)
	var sent []int64
	var total int64
	if _, _, err := c.Packages.Upload(t.Context(), "Hello.1.0.0.nupkg", bytes.NewReader(pkg), client.WithProgress(func(s, tot int64) {
		sent, total = append(sent, s), tot
	})); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(sent); i++ {
		if sent[i] <= sent[i-1] {
			t.Fatalf("progress went back: %v", sent)
		}
	}
	if len(sent) < 2 || sent[0] >= total || sent[len(sent)-1] != total || total != got.Load() || total <= int64(len(pkg)) {
		t.Fatalf("progress %v of %d, server read %d: want several steps ending at the whole body (> %d bytes)", sent, total, got.Load(), len(pkg))
	}
}
