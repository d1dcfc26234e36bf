package legacy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/store"
)

// wantABPError checks a refusal in the ABP envelope: the status, the code, every key of the
// envelope, and the parts its message must say.
func wantABPError(t testing.TB, r response, status, code int, parts ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %d, want %d; body: %s", r.status, status, r.body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.body), &raw); err != nil {
		t.Fatalf("body is not a JSON object: %s", r.body)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"__abp", "error", "errorCode", "message", "result", "success", "targetUrl", "traceId", "unAuthorizedRequest"}
	if !slices.Equal(keys, want) {
		t.Errorf("envelope keys %v, want %v", keys, want)
	}
	var errKeys []string
	var inner map[string]json.RawMessage
	json.Unmarshal(raw["error"], &inner)
	for k := range inner {
		errKeys = append(errKeys, k)
	}
	slices.Sort(errKeys)
	if !slices.Equal(errKeys, []string{"code", "details", "message", "validationErrors"}) {
		t.Errorf("error object keys %v, want code, details, message, validationErrors", errKeys)
	}
	if r.json["success"] != false || r.json["__abp"] != true || r.json["result"] != nil || r.json["targetUrl"] != nil ||
		r.json["unAuthorizedRequest"] != (status == http.StatusUnauthorized) {
		t.Errorf("envelope flags wrong: %s", r.body)
	}
	if r.json["errorCode"] != float64(code) || r.errorField("code") != float64(code) {
		t.Errorf("errorCode %v / error.code %v, want %d", r.json["errorCode"], r.errorField("code"), code)
	}
	if !strings.HasPrefix(r.str("traceId"), "00-") {
		t.Errorf("traceId %q is not a traceparent", r.str("traceId"))
	}
	msg := r.str("message")
	if m, _ := r.errorField("message").(string); m != msg {
		t.Errorf("error.message %q differs from message %q", m, msg)
	}
	all := msg + " " + r.errorField("details").(string)
	for _, p := range parts {
		if !strings.Contains(all, p) {
			t.Errorf("the refusal does not say %q: %s", p, all)
		}
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", r.header.Get("Cache-Control"))
	}
}

// wantToken checks a successful login: the envelope exactly as the old service answered
// (no errorCode: clients take one for a failure), and the token's claims.
func wantToken(t testing.TB, e *env, r response, orgKey string) string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("login: %d %s; want 200", r.status, r.body)
	}
	var raw map[string]json.RawMessage
	json.Unmarshal([]byte(r.body), &raw)
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"__abp", "error", "result", "success", "targetUrl", "unAuthorizedRequest"}; !slices.Equal(keys, want) {
		t.Errorf("success keys %v, want %v", keys, want)
	}
	if r.json["success"] != true || r.json["__abp"] != true || r.json["error"] != nil || r.json["unAuthorizedRequest"] != false ||
		r.json["targetUrl"] != nil {
		t.Errorf("success envelope wrong: %s", r.body)
	}
	token := r.str("result")
	c := claimsOf(t, token)
	iat, _ := c["iat"].(float64)
	exp, _ := c["exp"].(float64)
	if c["iss"] != e.url+"/" || c["aud"] != "orchestrator" || c["sub_type"] != "user" || c["scope"] != "OrchestratorApiUserAccess" ||
		c["client_id"] != identity.LegacyClientID || c["prt_id"] != orgKey || exp-iat != 1800 || c["jti"] == "" {
		t.Errorf("claims %v; want iss %s/, aud orchestrator, sub_type user, scope OrchestratorApiUserAccess, client_id %s, prt_id %s, 30 minutes",
			c, e.url, identity.LegacyClientID, orgKey)
	}
	return token
}

// TestSeedLegacyLogin replays seed 001 (the tenant's URL, camelCase keys) and seed 000 (the
// org-less URL with the id_token as Bearer), then uses the token as that era's scripts did:
// folders on the older layout with X-UIPATH-TenantName, and on the current one. The token
// is revocable by jti and by subject, and the sign-in is recorded.
func TestSeedLegacyLogin(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, eng.open)
			// Seed 001: POST {account}/{service instance}/api/account/authenticate.
			r := e.authenticate(t, "/acme/DefaultTenant/api/account/authenticate",
				loginBody("DefaultTenant", "ann@acme.test", annPassword), freshAddr(), nil)
			token := wantToken(t, e, r, e.acme.Key)
			if strings.Contains(r.body, annPassword) {
				t.Error("the answer contains the password")
			}

			for _, c := range []struct{ path, header string }{
				{"/acme/DefaultTenant/odata/Folders", "DefaultTenant"},
				{"/acme/DefaultTenant/orchestrator_/odata/Folders", ""},
			} {
				h := map[string]string{}
				if c.header != "" {
					h["X-UIPATH-TenantName"] = c.header
				}
				f := e.get(t, c.path, token, h)
				if f.status != http.StatusOK || !strings.Contains(f.body, `"FullyQualifiedName":"Shared"`) {
					t.Errorf("GET %s with the legacy token: %d %s; want 200 listing Shared", c.path, f.status, f.body)
				}
			}

			// The token is for DefaultTenant only, even where ann could sign in too.
			if f := e.get(t, "/acme/Common/orchestrator_/odata/Folders", token, nil); f.status != http.StatusUnauthorized ||
				!strings.Contains(f.body, "issued for tenant DefaultTenant, not Common") {
				t.Errorf("the legacy token in another tenant: %d %s; want 401 naming both tenants", f.status, f.body)
			}

			// Seed 000: the org-less URL, the id_token as Bearer, the same body.
			_, idToken := e.signIn(t, "acme", "ann@acme.test", annPassword)
			r = e.authenticate(t, "/api/account/authenticate", loginBody("DefaultTenant", "ann@acme.test", annPassword), freshAddr(),
				map[string]string{"Authorization": "Bearer " + idToken})
			second := wantToken(t, e, r, e.acme.Key)

			// Revoked by jti: that token stops, the other does not.
			jti, _ := claimsOf(t, token)["jti"].(string)
			if err := e.deny.Revoke(context.Background(), store.RevokeJTI, jti, e.clock.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			path := "/acme/DefaultTenant/orchestrator_/odata/Folders"
			if f := e.get(t, path, token, nil); f.status != http.StatusUnauthorized || !strings.Contains(f.body, "revoked") {
				t.Errorf("a token revoked by jti: %d %s; want 401 saying it was revoked", f.status, f.body)
			}
			if f := e.get(t, path, second, nil); f.status != http.StatusOK {
				t.Errorf("another legacy token after one was revoked: %d %s", f.status, f.body)
			}
			// Revoked by subject: every token of the user stops.
			sub, _ := claimsOf(t, second)["sub"].(string)
			e.clock.Set(e.clock.Now().Add(time.Second))
			if err := e.deny.Revoke(context.Background(), store.RevokeSubject, sub, e.clock.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if f := e.get(t, path, second, nil); f.status != http.StatusUnauthorized || !strings.Contains(f.body, "revoked") {
				t.Errorf("a token whose user was revoked: %d %s; want 401", f.status, f.body)
			}

			evs := e.events(t, e.acme)
			if !hasEvent(evs, "signin", "legacy basic authentication to tenant DefaultTenant") {
				t.Errorf("no signin event of the legacy login: %+v", evs)
			}
			for _, ev := range evs {
				if strings.Contains(ev.Detail, annPassword) || strings.Contains(ev.Detail, token) {
					t.Errorf("an event holds a secret: %+v", ev)
				}
			}
			// The organization's audit log shows the sign-in too.
			audit, _, err := e.st.AuditSearch(context.Background(), e.acme.ID, store.SearchParams{Query: odata.Query{Top: 100}})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, a := range audit {
				found = found || a.Action == "signin" && a.Component == "Identity" && a.ClientID == identity.LegacyClientID
			}
			if !found {
				t.Errorf("no audit entry of the legacy sign-in among %d", len(audit))
			}
		})
	}
}

// TestLegacyLoginShapes checks what clients send: PascalCase and camelCase keys, paths in
// any case, the tenant's display name or Key as tenancyName on the tenant's URL, and
// tenancyName left out there.
func TestLegacyLoginShapes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, engines()[0].open)
	ctx := context.Background()
	tn, err := e.st.TenantGetByName(ctx, e.acme.ID, "DefaultTenant")
	if err != nil {
		t.Fatal(err)
	}
	pascal := `{"TenancyName":"DefaultTenant","UsernameOrEmailAddress":"ann@acme.test","Password":"` + annPassword + `"}`
	camel := loginBody("defaulttenant", "ANN@acme.test", annPassword)
	for _, c := range []struct{ name, path, body string }{
		{"PascalCase", "/api/account/authenticate", pascal},
		{"camelCase", "/api/account/authenticate", camel},
		{"documented path case", "/api/Account/Authenticate", pascal},
		{"upper case path", "/API/ACCOUNT/AUTHENTICATE", camel},
		{"tenant URL in another case", "/ACME/defaulttenant/Api/Account/Authenticate", camel},
		{"tenant URL without tenancyName", "/acme/DefaultTenant/api/account/authenticate",
			`{"usernameOrEmailAddress":"ann@acme.test","password":"` + annPassword + `"}`},
		{"display name as tenancyName", "/acme/DefaultTenant/api/account/authenticate", loginBody("Default Tenant", "ann@acme.test", annPassword)},
		{"tenant Key in the URL", "/" + e.acme.Key + "/" + tn.Key + "/api/account/authenticate", camel},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantToken(t, e, e.authenticate(t, c.path, c.body, freshAddr(), nil), e.acme.Key)
		})
	}
}

// TestLegacyLoginRefusals checks that every rule that refuses says which, and what to use
// instead, in the ABP envelope; and that nothing secret is told.
func TestLegacyLoginRefusals(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, eng.open)
			alternatives := []string{"client credentials", e.url + "/identity_/connect/token", "personal access token",
				e.url + "/acme/identity_/api/PersonalAccessTokens"}
			for _, c := range []struct {
				name, path, body string
				header           map[string]string
				status, code     int
				parts            []string
				not              []string
			}{
				{name: "tenant with legacy basic authentication off", path: "/api/account/authenticate",
					body: loginBody("Closed", "ann@acme.test", annPassword), status: 403,
					parts: append([]string{"turned off for tenant Closed of organization acme"}, alternatives...)},
				{name: "user without basicAuth", path: "/acme/DefaultTenant/api/account/authenticate",
					body: loginBody("DefaultTenant", "newbie@acme.test", newbiePassword), status: 403,
					parts: []string{"newbie@acme.test may not use legacy basic authentication", "basicAuth", "personal access token"}},
				{name: "user without basicAuth, wrong password", path: "/acme/DefaultTenant/api/account/authenticate",
					body: loginBody("DefaultTenant", "newbie@acme.test", "guess"), status: 400, code: 1000,
					parts: []string{"Invalid credentials, failed to login"}, not: []string{"basicAuth"}},
				{name: "wrong password", path: "/api/account/authenticate",
					body: loginBody("DefaultTenant", "ann@acme.test", "not-her-password"), status: 400, code: 1000,
					parts: []string{"Invalid credentials, failed to login: the user name or password is not right for organization acme"},
					not:   []string{"not-her-password"}},
				{name: "unknown user", path: "/api/account/authenticate",
					body: loginBody("DefaultTenant", "nobody@acme.test", annPassword), status: 400, code: 1000,
					parts: []string{"Invalid credentials, failed to login: the user name or password is not right for organization acme"}},
				{name: "user name that is not an email", path: "/api/account/authenticate",
					body: loginBody("DefaultTenant", "ann", annPassword), status: 400, code: 1000,
					parts: []string{"Invalid credentials", `"ann" is not an email address`}},
				{name: "unknown tenancy name", path: "/api/account/authenticate",
					body: loginBody("Nope", "ann@acme.test", annPassword), status: 400, code: 1000,
					parts: []string{`There is no tenant "Nope" on this server`, "logical name"},
					not:   []string{"DefaultTenant", "Closed", "Common", "acme", "globex"}},
				{name: "ambiguous tenancy name", path: "/api/account/authenticate",
					body: loginBody("Common", "ann@acme.test", annPassword), status: 400, code: 1000,
					parts: []string{`tenancyName "Common" is ambiguous`, "organizations acme, globex",
						e.url + "/acme/Common/api/account/authenticate", e.url + "/globex/Common/api/account/authenticate"}},
				{name: "ambiguous tenancy name, unusable token", path: "/api/account/authenticate",
					body: loginBody("Common", "ann@acme.test", annPassword), header: map[string]string{"Authorization": "Bearer a.b.c"},
					status: 400, code: 1000, parts: []string{"is ambiguous", "The Authorization header's token could not choose"}},
				{name: "tenancyName disagrees with the URL", path: "/acme/DefaultTenant/api/account/authenticate",
					body: loginBody("Closed", "ann@acme.test", annPassword), status: 400, code: 1000,
					parts: []string{`tenancyName "Closed" does not name tenant DefaultTenant of the URL`}},
				{name: "unknown organization in the URL", path: "/nope/DefaultTenant/api/account/authenticate",
					body: loginBody("", "ann@acme.test", annPassword), status: 404, code: 1002, parts: []string{`Organization "nope" does not exist`}},
				{name: "unknown tenant in the URL", path: "/acme/Nope/api/account/authenticate",
					body: loginBody("", "ann@acme.test", annPassword), status: 404, code: 1002,
					parts: []string{`Tenant "Nope" does not exist in organization acme`}, not: []string{"DefaultTenant"}},
				{name: "empty fields", path: "/api/account/authenticate", body: `{"tenancyName":" "}`, status: 400, code: 1000,
					parts: []string{"tenancyName, usernameOrEmailAddress, password cannot be empty", "/{organization}/{tenant}/api/account/authenticate"}},
				{name: "not JSON", path: "/api/account/authenticate", body: "tenancyName=DefaultTenant&password=x", status: 400, code: 1000,
					parts: []string{"must be a JSON object", "application/json"}},
			} {
				t.Run(c.name, func(t *testing.T) {
					r := e.authenticate(t, c.path, c.body, freshAddr(), c.header)
					wantABPError(t, r, c.status, c.code, c.parts...)
					for _, n := range c.not {
						if strings.Contains(r.body, n) {
							t.Errorf("the refusal tells %q: %s", n, r.body)
						}
					}
				})
			}

			// Empty fields are named one by one, as ABP's validation errors did.
			r := e.authenticate(t, "/api/account/authenticate", `{}`, freshAddr(), nil)
			var body struct {
				Error struct {
					ValidationErrors []struct {
						Members []string `json:"members"`
					} `json:"validationErrors"`
				} `json:"error"`
			}
			json.Unmarshal([]byte(r.body), &body)
			var members []string
			for _, v := range body.Error.ValidationErrors {
				members = append(members, v.Members...)
			}
			if !slices.Equal(members, []string{"tenancyName", "usernameOrEmailAddress", "password"}) {
				t.Errorf("validationErrors name %v, want tenancyName, usernameOrEmailAddress, password: %s", members, r.body)
			}

			// The id_token of the user's organization settles an ambiguous tenancyName.
			_, gusID := e.signIn(t, "globex", "gus@globex.test", gusPassword)
			r = e.authenticate(t, "/api/account/authenticate", loginBody("Common", "gus@globex.test", gusPassword), freshAddr(),
				map[string]string{"Authorization": "Bearer " + gusID})
			token := wantToken(t, e, r, e.globex.Key)
			if f := e.get(t, "/globex/Common/odata/Folders", token, map[string]string{"X-UIPATH-TenantName": "Common"}); f.status != http.StatusOK {
				t.Errorf("gus's legacy token on globex/Common: %d %s", f.status, f.body)
			}
			// So does the organization's URL.
			wantToken(t, e, e.authenticate(t, "/acme/Common/api/account/authenticate", loginBody("Common", "ann@acme.test", annPassword), freshAddr(), nil), e.acme.Key)

			evs := e.events(t, e.acme)
			for _, want := range []struct{ kind, part string }{
				{"token.refused", "turned off for tenant Closed"},
				{"token.refused", "may not use legacy basic authentication"},
				{"signin.failed", "wrong password"},
				{"signin.failed", "no such user"},
			} {
				if !hasEvent(evs, want.kind, want.part) {
					t.Errorf("no %s event saying %q", want.kind, want.part)
				}
			}
		})
	}
}

// TestLegacyLoginSunset checks the seed's "until July 15": the same request that works the
// day before is refused from the sunset on, saying when it ended and what to use instead.
func TestLegacyLoginSunset(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, eng.open)
			body := loginBody("DefaultTenant", "ann@acme.test", annPassword)
			e.clock.Set(sunset.Add(-time.Minute))
			wantToken(t, e, e.authenticate(t, "/api/account/authenticate", body, freshAddr(), nil), e.acme.Key)
			e.clock.Set(sunset)
			r := e.authenticate(t, "/api/account/authenticate", body, freshAddr(), nil)
			wantABPError(t, r, http.StatusForbidden, 0,
				"legacy basic authentication for tenant DefaultTenant of organization acme ended at 2026-07-15T00:00:00Z",
				"use an external application with client credentials", "personal access token")
			// A tenant without a sunset date goes on.
			wantToken(t, e, e.authenticate(t, "/acme/Common/api/account/authenticate", loginBody("", "ann@acme.test", annPassword), freshAddr(), nil), e.acme.Key)
			if !hasEvent(e.events(t, e.acme), "token.refused", "ended at 2026-07-15T00:00:00Z") {
				t.Error("the refusal after the sunset was not recorded")
			}
		})
	}
}

// TestLegacyLoginRateLimit checks that failed logins are limited like the login page's,
// with the same counters: after 10 failures for an account, even the right password is
// refused with 429 and Retry-After until the window has passed, and the block is recorded.
func TestLegacyLoginRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, engines()[0].open)
	addr := freshAddr()
	for i := range 10 {
		r := e.authenticate(t, "/api/account/authenticate", loginBody("DefaultTenant", "ann@acme.test", "wrong"), addr, nil)
		wantABPError(t, r, http.StatusBadRequest, 1000, "Invalid credentials")
		if r.header.Get("Retry-After") != "" {
			t.Fatalf("attempt %d: Retry-After before the limit", i+1)
		}
	}
	good := loginBody("DefaultTenant", "ann@acme.test", annPassword)
	r := e.authenticate(t, "/api/account/authenticate", good, addr, nil)
	wantABPError(t, r, http.StatusTooManyRequests, 0, "Too many failed sign-ins", "try again in 900 seconds")
	if r.header.Get("Retry-After") != "900" {
		t.Errorf("Retry-After %q, want 900", r.header.Get("Retry-After"))
	}
	// The account is what was guessed at: it waits from every address …
	if r := e.authenticate(t, "/api/account/authenticate", good, freshAddr(), nil); r.status != http.StatusTooManyRequests {
		t.Errorf("the blocked account from another address: %d %s, want 429", r.status, r.body)
	}
	// … while other accounts are not touched.
	wantToken(t, e, e.authenticate(t, "/globex/Common/api/account/authenticate", loginBody("Common", "gus@globex.test", gusPassword), addr, nil), e.globex.Key)
	if !hasEvent(e.events(t, e.acme), "signin.blocked", "too many failed sign-ins") {
		t.Error("the blocked attempt was not recorded")
	}
	// Once the window has passed, the right password works again.
	e.clock.Set(e.clock.Now().Add(15 * time.Minute))
	wantToken(t, e, e.authenticate(t, "/api/account/authenticate", good, addr, nil), e.acme.Key)
}
