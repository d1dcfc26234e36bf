package identity_test

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openorch/openorch/internal/identity"
)

// addr gives each subtest a client address of its own (through X-Forwarded-For from the
// trusted loopback proxy), so that the failures of one never slow another down.
var addrSeq atomic.Int32

func freshAddr() string {
	n := addrSeq.Add(1)
	return fmt.Sprintf("198.51.%d.%d", n/250, n%250+1)
}

// cliBody is the body the official CLI sends: every field, sorted, empty ones included.
func cliBody(id, sec string) string {
	return "client_id=" + url.QueryEscape(id) + "&client_secret=" + url.QueryEscape(sec) +
		"&code=&code_verifier=&grant_type=client_credentials&redirect_uri=&refresh_token=&scope="
}

// TestTokenRequestShapes sends the request shapes of reference/clients.md.
func TestTokenRequestShapes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	allApp := strings.Join(appScopes, " ")

	// The official CLI: a chunked body (no Content-Length) with every field present.
	t.Run("CLI chunked body", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct{ org, id, sec, want string }{
			{"", appClientID, e.appSecret, allApp},
			{orgName, appClientID, e.appSecret, allApp},
			{"", machineID, e.machineSec, strings.Join(identity.RobotScopes, " ")},
		} {
			body := cliBody(tc.id, tc.sec)
			// A reader of unknown length, handed over in pieces: net/http sends it chunked.
			pr, pw := io.Pipe()
			go func() {
				for len(body) > 0 {
					n := min(len(body), 17)
					pw.Write([]byte(body[:n]))
					body = body[n:]
				}
				pw.Close()
			}()
			req, err := http.NewRequest(http.MethodPost, e.tokenURL(tc.org), pr)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			id := "cli-" + tc.org + tc.id
			req.Header.Set("X-Test-Request", id)
			r := e.do(t, req)
			if chunked, _ := e.chunked.Load(id); chunked != true {
				t.Fatalf("the request was not sent chunked: the test proves nothing")
			}
			if r.status != http.StatusOK || r.str("scope") != tc.want || r.str("access_token") == "" || r.json["expires_in"] != float64(3600) {
				t.Errorf("org %q client %s: %d %s, want 200 with scope %q", tc.org, tc.id, r.status, r.body, tc.want)
			}
		}
	})

	scopeCases := []struct {
		scope     string
		status    int
		want      string // granted scope, or the error code
		descExact string
		descParts []string
	}{
		{"", 200, allApp, "", nil},
		{"   ", 200, allApp, "", nil},
		{"OR.Jobs", 200, "OR.Jobs", "", nil},
		{"OR.Jobs.Read", 200, "OR.Jobs.Read", "", nil},
		{"OR.Jobs.Write", 200, "OR.Jobs.Write", "", nil},
		{"OR.Jobs OR.Jobs.Read OR.Jobs.Write", 200, "OR.Jobs OR.Jobs.Read OR.Jobs.Write", "", nil},
		{"OR.Queues.Read OR.Folders.Read", 200, "OR.Queues.Read OR.Folders.Read", "", nil},
		{"OR.Jobs OR.Jobs", 200, "OR.Jobs", "", nil},
		{"OR.Robots", 400, "invalid_scope",
			"scope OR.Robots is not registered for app invoice-bot (registered: OR.Queues OR.Jobs OR.Folders.Read)", nil},
		{"OR.Jobs OR.Robots.Read", 400, "invalid_scope",
			"scope OR.Robots.Read is not registered for app invoice-bot (registered: OR.Queues OR.Jobs OR.Folders.Read)", nil},
		// Registered narrowly: OR.Folders.Read covers neither OR.Folders nor OR.Folders.Write.
		{"OR.Folders", 400, "invalid_scope", "", []string{"scope OR.Folders is not registered", "OR.Folders.Read"}},
		{"OR.Folders.Write", 400, "invalid_scope", "", []string{"scope OR.Folders.Write is not registered"}},
		{"OR.Jobs.Read.Read", 400, "invalid_scope", "", []string{"OR.Jobs.Read.Read"}},
		{"OrchestratorApiUserAccess", 400, "invalid_scope", "", []string{"OrchestratorApiUserAccess"}},
		{"offline_access", 400, "invalid_scope", "", []string{"offline_access", "client_credentials"}},
		{"OR.Jobs offline_access", 400, "invalid_scope", "", []string{"offline_access"}},
		{"openid", 400, "invalid_scope", "", []string{"openid", "user"}},
		{"OR.Jobs profile", 400, "invalid_scope", "", []string{"profile"}},
		{"email", 400, "invalid_scope", "", []string{"email"}},
	}
	for _, tc := range scopeCases {
		t.Run("scope="+tc.scope, func(t *testing.T) {
			t.Parallel()
			for _, org := range []string{"", orgName} {
				form := clientCreds(appClientID, e.appSecret, "")
				form.Set("scope", tc.scope)
				r := e.postForm(t, org, form, nil)
				if tc.status == 200 {
					if r.status != 200 || r.str("scope") != tc.want {
						t.Fatalf("org %q: %d %s, want scope %q", org, r.status, r.body, tc.want)
					}
					c, err := e.verifier.Verify(t.Context(), r.str("access_token"))
					if err != nil || c.Scope != tc.want {
						t.Fatalf("token scope %q (%v), want %q", c.Scope, err, tc.want)
					}
					continue
				}
				wantError(t, r, tc.status, tc.want, tc.descParts...)
				if tc.descExact != "" && r.str("error_description") != tc.descExact {
					t.Errorf("error_description\n got %q\nwant %q", r.str("error_description"), tc.descExact)
				}
				if r.header.Get("WWW-Authenticate") != "" {
					t.Errorf("WWW-Authenticate on a %d", r.status)
				}
			}
		})
	}

	// The body shape: content types, grant types.
	formBody := clientCreds(appClientID, e.appSecret, "").Encode()
	shapeCases := []struct {
		name        string
		contentType string
		body        string
		query       string
		status      int
		code        string
		descParts   []string
	}{
		{"form with charset", "application/x-www-form-urlencoded; charset=UTF-8", formBody, "", 200, "", nil},
		{"form in upper case", "Application/X-WWW-Form-URLEncoded", formBody, "", 200, "", nil},
		{"JSON", "application/json", `{"grant_type":"client_credentials","client_id":"` + appClientID + `","client_secret":"` + e.appSecret + `"}`, "",
			400, "invalid_request", []string{"application/x-www-form-urlencoded", `"application/json"`}},
		{"no content type", "", formBody, "", 400, "invalid_request", []string{"application/x-www-form-urlencoded", `""`}},
		{"multipart", "multipart/form-data; boundary=x", "--x--", "", 400, "invalid_request", []string{"multipart/form-data"}},
		{"empty body", "application/x-www-form-urlencoded", "", "", 400, "invalid_request", []string{"grant_type is missing"}},
		{"grant_type missing", "application/x-www-form-urlencoded",
			"client_id=" + appClientID + "&client_secret=" + e.appSecret, "", 400, "invalid_request", []string{"grant_type is missing"}},
		{"grant_type empty (CLI shape)", "application/x-www-form-urlencoded",
			strings.Replace(cliBody(appClientID, e.appSecret), "grant_type=client_credentials", "grant_type=", 1), "",
			400, "invalid_request", []string{"grant_type is missing"}},
		{"credentials only in the query string", "application/x-www-form-urlencoded", "", formBody,
			400, "invalid_request", []string{"grant_type is missing"}},
		{"unknown grant_type", "application/x-www-form-urlencoded", "grant_type=password&username=a&password=b", "",
			400, "unsupported_grant_type", []string{`"password"`, "client_credentials"}},
		{"client_id missing", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_secret=x", "",
			400, "invalid_request", []string{"client_id is missing"}},
		{"malformed form", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=%zz", "",
			400, "invalid_request", []string{"form body"}},
	}
	for _, tc := range shapeCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := e.tokenURL("")
			if tc.query != "" {
				u += "?" + tc.query
			}
			req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			req.Header.Set("X-Forwarded-For", freshAddr())
			r := e.do(t, req)
			if tc.status == 200 {
				if r.status != 200 || r.str("access_token") == "" {
					t.Fatalf("%d %s, want a token", r.status, r.body)
				}
				return
			}
			wantError(t, r, tc.status, tc.code, tc.descParts...)
			if strings.Contains(r.body, e.appSecret) {
				t.Errorf("the body quotes the client secret: %s", r.body)
			}
		})
	}
}

// TestGrantTypes checks that the token endpoint refuses the grant types it does not serve
// with unsupported_grant_type naming them, and serves every grant type that discovery
// advertises (answering these requests, which carry no valid code or token, with another
// error).
func TestGrantTypes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	req, _ := http.NewRequest(http.MethodGet, e.identityBase("")+"/.well-known/openid-configuration", nil)
	doc := e.do(t, req)
	var advertised []string
	for _, g := range doc.json["grant_types_supported"].([]any) {
		advertised = append(advertised, g.(string))
	}
	if !slices.Contains(advertised, "client_credentials") {
		t.Fatalf("discovery does not list client_credentials: %v", advertised)
	}
	for _, grant := range []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code",
		"password", "implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer", "Client_Credentials"} {
		t.Run(grant, func(t *testing.T) {
			t.Parallel()
			form := url.Values{"grant_type": {grant}, "client_id": {"orch-cli"}, "code": {"not-a-code"}, "code_verifier": {strings.Repeat("v", 43)},
				"redirect_uri": {"http://localhost:12700"}, "refresh_token": {"oo_rt_not-a-token"}, "device_code": {"x"}}
			r := e.postForm(t, "", form, map[string]string{"X-Forwarded-For": freshAddr()})
			if slices.Contains(advertised, grant) {
				if r.status < 400 || r.status >= 500 || r.str("error") == "" || r.str("error") == "unsupported_grant_type" {
					t.Errorf("advertised grant %s: %d %s", grant, r.status, r.body)
				}
				return
			}
			wantError(t, r, 400, "unsupported_grant_type", grant)
		})
	}
}

// TestClientAuthRefusals checks that every way of failing client authentication is
// refused with the right status and code, and a description that names the cause.
func TestClientAuthRefusals(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	const wrong = "oo_cs_this-is-not-the-secret"
	basic := func(id, sec string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(sec)))
	}
	cases := []struct {
		name      string
		org       string
		form      url.Values
		auth      string // Authorization header
		status    int
		code      string
		descParts []string
	}{
		{name: "unknown client_id", form: clientCreds("nobody", wrong, ""),
			status: 401, code: "invalid_client", descParts: []string{`"nobody"`, "not known"}},
		{name: "unknown client_id, Basic", form: url.Values{"grant_type": {"client_credentials"}}, auth: basic("nobody", wrong),
			status: 401, code: "invalid_client", descParts: []string{`"nobody"`, "not known"}},
		{name: "wrong secret", form: clientCreds(appClientID, wrong, ""),
			status: 401, code: "invalid_client", descParts: []string{"client_secret is wrong", "app " + appName}},
		{name: "wrong secret, Basic", form: url.Values{"grant_type": {"client_credentials"}}, auth: basic(appClientID, wrong),
			status: 401, code: "invalid_client", descParts: []string{"client_secret is wrong", "app " + appName}},
		{name: "wrong secret at the organization's endpoint", org: orgName, form: clientCreds(appClientID, wrong, ""),
			status: 401, code: "invalid_client", descParts: []string{"client_secret is wrong"}},
		{name: "missing secret", form: clientCreds(appClientID, "", ""),
			status: 401, code: "invalid_client", descParts: []string{"client_secret is missing", "app " + appName}},
		{name: "missing secret, CLI shape", form: must(url.ParseQuery(cliBody(appClientID, ""))),
			status: 401, code: "invalid_client", descParts: []string{"client_secret is missing"}},
		{name: "machine, wrong secret", form: clientCreds(machineID, wrong, ""),
			status: 401, code: "invalid_client", descParts: []string{"client_secret is wrong", "machine " + machineName}},
		{name: "secret in Basic and in the form", form: clientCreds(appClientID, e.appSecret, ""), auth: basic(appClientID, e.appSecret),
			status: 400, code: "invalid_request", descParts: []string{"Authorization header or in the form, not both"}},
		{name: "form client_id disagrees with Basic", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {otherAppID}},
			auth:   basic(appClientID, e.appSecret),
			status: 400, code: "invalid_request", descParts: []string{otherAppID, appClientID, "disagrees"}},
		{name: "Basic not form-encoded", form: url.Values{"grant_type": {"client_credentials"}},
			auth:   "Basic " + base64.StdEncoding.EncodeToString([]byte(appClientID+":%zz")),
			status: 400, code: "invalid_request", descParts: []string{"form-encoded"}},
		{name: "public app", form: clientCreds(publicAppID, "", ""),
			status: 400, code: "unauthorized_client", descParts: []string{"app spa", "public client", "client_credentials"}},
		{name: "public app sending a secret", form: clientCreds(publicAppID, wrong, ""),
			status: 400, code: "unauthorized_client", descParts: []string{"public client"}},
		{name: "built-in orch-cli", form: clientCreds("orch-cli", "", ""),
			status: 400, code: "unauthorized_client", descParts: []string{"public client", "client_credentials"}},
		{name: "built-in seed-era client", form: clientCreds("5v7PmPJL6FOGu6RB8I1Y4adLBhIwovQN", "", ""),
			status: 400, code: "unauthorized_client", descParts: []string{"public client"}},
		{name: "built-in orch-cli at an organization's endpoint", org: orgName, form: clientCreds("orch-cli", "", ""),
			status: 400, code: "unauthorized_client", descParts: []string{"public client", "client_credentials"}},
		{name: "client of another organization", org: orgName, form: clientCreds(otherAppID, e.otherSec, ""),
			status: 401, code: "invalid_client", descParts: []string{otherAppID, "organization " + otherOrg, "not " + orgName}},
		{name: "machine of another organization", org: otherOrg, form: clientCreds(machineID, e.machineSec, ""),
			status: 401, code: "invalid_client", descParts: []string{machineID, "organization " + orgName, "not " + otherOrg}},
		{name: "organization path in another case", org: "ACME", form: clientCreds(otherAppID, e.otherSec, ""),
			status: 401, code: "invalid_client", descParts: []string{"organization " + otherOrg}},
		{name: "unknown organization", org: "nosuchorg", form: clientCreds(appClientID, e.appSecret, ""),
			status: 404, code: "invalid_request", descParts: []string{`"nosuchorg"`, "does not exist"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := map[string]string{"X-Forwarded-For": freshAddr()}
			if tc.auth != "" {
				h["Authorization"] = tc.auth
			}
			r := e.postForm(t, tc.org, tc.form, h)
			wantError(t, r, tc.status, tc.code, tc.descParts...)
			www := r.header.Get("WWW-Authenticate")
			if tc.status == 401 && (!strings.HasPrefix(www, "Basic ") || !strings.Contains(www, `error="invalid_client"`)) {
				t.Errorf("401 with WWW-Authenticate %q", www)
			}
			if tc.status != 401 && www != "" {
				t.Errorf("%d with WWW-Authenticate %q", tc.status, www)
			}
			for _, s := range []string{e.appSecret, e.machineSec, e.otherSec, wrong, url.QueryEscape(wrong)} {
				if strings.Contains(r.body, s) {
					t.Errorf("the body quotes a secret: %s", r.body)
				}
			}
		})
	}

	// What is allowed: Basic with the same client_id repeated in the form.
	t.Run("Basic with the same client_id in the form", func(t *testing.T) {
		t.Parallel()
		r := e.postForm(t, "", url.Values{"grant_type": {"client_credentials"}, "client_id": {appClientID}},
			map[string]string{"Authorization": basic(appClientID, e.appSecret), "X-Forwarded-For": freshAddr()})
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	// The authorization scheme is case-insensitive (RFC 7235).
	t.Run("basic in lower case", func(t *testing.T) {
		t.Parallel()
		r := e.postForm(t, "", url.Values{"grant_type": {"client_credentials"}},
			map[string]string{"Authorization": "basic " + strings.TrimPrefix(basic(appClientID, e.appSecret), "Basic "), "X-Forwarded-For": freshAddr()})
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestMachineTokens checks what a machine's client credentials give: robot tokens with
// scopes within RobotScopes.
func TestMachineTokens(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	allRobot := strings.Join(identity.RobotScopes, " ")
	cases := []struct {
		scope, want, code string
		descParts         []string
	}{
		{scope: "", want: allRobot},
		{scope: "OR.Jobs OR.Queues.Write OR.Robots.Read", want: "OR.Jobs OR.Queues.Write OR.Robots.Read"},
		{scope: "OR.Execution OR.Assets OR.Monitoring OR.Folders", want: "OR.Execution OR.Assets OR.Monitoring OR.Folders"},
		{scope: "OR.Users", code: "invalid_scope", descParts: []string{"scope OR.Users is not registered for machine " + machineName, "registered: " + allRobot}},
		{scope: "OR.Jobs OR.Settings.Read", code: "invalid_scope", descParts: []string{"OR.Settings.Read"}},
		{scope: "OR.Administration", code: "invalid_scope", descParts: []string{"OR.Administration"}},
		{scope: "OR.Machines", code: "invalid_scope", descParts: []string{"OR.Machines"}},
		{scope: "OR.Audit", code: "invalid_scope", descParts: []string{"OR.Audit"}},
		{scope: "OrchestratorApiUserAccess", code: "invalid_scope", descParts: []string{"OrchestratorApiUserAccess"}},
		{scope: "offline_access", code: "invalid_scope", descParts: []string{"offline_access"}},
	}
	for _, tc := range cases {
		t.Run("scope="+tc.scope, func(t *testing.T) {
			t.Parallel()
			for _, org := range []string{"", orgName} {
				r := e.postForm(t, org, clientCreds(machineID, e.machineSec, tc.scope), nil)
				if tc.code != "" {
					wantError(t, r, 400, tc.code, tc.descParts...)
					continue
				}
				if r.status != 200 || r.str("scope") != tc.want {
					t.Fatalf("org %q: %d %s, want scope %q", org, r.status, r.body, tc.want)
				}
				c, err := e.verifier.Verify(t.Context(), r.str("access_token"))
				if err != nil {
					t.Fatal(err)
				}
				if c.SubType != identity.SubRobot || c.Subject != e.machine.Key || c.ClientID != machineID || c.OrgKey != e.org.Key ||
					c.Issuer != e.identityBase(org) || c.Scope != tc.want {
					t.Errorf("claims %+v", c)
				}
				for _, s := range c.Scopes() {
					base := strings.TrimSuffix(strings.TrimSuffix(s, ".Read"), ".Write")
					if !slices.Contains(identity.RobotScopes, base) {
						t.Errorf("scope %s is outside RobotScopes", s)
					}
				}
			}
		})
	}
}

// TestTokenCORS checks that the token endpoint answers CORS from loopback origins only.
func TestTokenCORS(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	cases := []struct {
		origin  string
		allowed bool
	}{
		{"http://localhost:8104", true},
		{"http://localhost", true},
		{"http://127.0.0.1:5000", true},
		{"http://[::1]:8080", true},
		{"https://evil.example", false},
		{"http://evil.example", false},
		{"http://localhost.evil.example", false},
		{"http://127.0.0.1.nip.io:8104", false},
		{"http://localhost@evil.example", false},
		{"null", false},
		{"", false},
	}
	for _, tc := range cases {
		t.Run("origin="+tc.origin, func(t *testing.T) {
			t.Parallel()
			for _, org := range []string{"", orgName} {
				req, _ := http.NewRequest(http.MethodOptions, e.tokenURL(org), nil)
				if tc.origin != "" {
					req.Header.Set("Origin", tc.origin)
				}
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", "content-type")
				r := e.do(t, req)
				acao := r.header.Get("Access-Control-Allow-Origin")
				if tc.allowed {
					if r.status != http.StatusNoContent || acao != tc.origin {
						t.Fatalf("preflight: %d, Allow-Origin %q; want 204 echoing %q", r.status, acao, tc.origin)
					}
					if m := r.header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") {
						t.Errorf("Allow-Methods %q", m)
					}
					if h := strings.ToLower(r.header.Get("Access-Control-Allow-Headers")); !strings.Contains(h, "content-type") || !strings.Contains(h, "authorization") {
						t.Errorf("Allow-Headers %q", h)
					}
				} else if r.status != http.StatusForbidden || acao != "" {
					t.Fatalf("preflight: %d, Allow-Origin %q; want 403 without it", r.status, acao)
				}
				if !slices.Contains(r.header.Values("Vary"), "Origin") {
					t.Errorf("Vary %q lacks Origin", r.header.Values("Vary"))
				}
				if r.header.Get("Access-Control-Allow-Credentials") != "" {
					t.Errorf("Allow-Credentials is set")
				}

				// The POST itself, successful and refused: a loopback page can read both.
				for _, sec := range []string{e.appSecret, "wrong"} {
					h := map[string]string{"X-Forwarded-For": freshAddr()}
					if tc.origin != "" {
						h["Origin"] = tc.origin
					}
					r := e.postForm(t, org, clientCreds(appClientID, sec, ""), h)
					if (r.status == 200) != (sec == e.appSecret) {
						t.Fatalf("POST: %d %s", r.status, r.body)
					}
					want := ""
					if tc.allowed {
						want = tc.origin
					}
					if got := r.header.Get("Access-Control-Allow-Origin"); got != want {
						t.Errorf("POST answering %d: Allow-Origin %q, want %q", r.status, got, want)
					}
				}
			}
		})
	}
}
