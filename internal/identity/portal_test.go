package identity_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// portalURL is a page of acme's portal: portalURL("/apiAccess").
func (e *testEnv) portalURL(p string) string { return e.base + "/" + orgName + "/portal_" + p }

var (
	reReturn    = regexp.MustCompile(`<input type="hidden" name="return" value="([^"]*)">`)
	reNewSecret = regexp.MustCompile(`<input type="text" id="new-secret" value="([^"]*)"`)
	reRow       = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	reCell      = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	reHref      = regexp.MustCompile(`<a href="([^"]*)"`)
)

// portalSignIn fills the portal's login page p in and posts it.
func (b *browser) portalSignIn(t testing.TB, p page, email, password string) page {
	t.Helper()
	if !isLoginPage(p) {
		t.Fatalf("want the login page, got %d:\n%s", p.status, excerpt(p.body))
	}
	a, c, ret := reFormAction.FindStringSubmatch(p.body), reCSRF.FindStringSubmatch(p.body), reReturn.FindStringSubmatch(p.body)
	if a == nil || c == nil || ret == nil {
		t.Fatalf("the login page has no form with csrf and return fields:\n%s", excerpt(p.body))
	}
	return b.post(t, html.UnescapeString(a[1]), url.Values{"csrf": {html.UnescapeString(c[1])}, "return": {html.UnescapeString(ret[1])},
		"email": {email}, "password": {password}})
}

// openAPIAccess opens acme's API access page, signing in as email when the login page comes.
func (b *browser) openAPIAccess(t testing.TB, email string) page {
	t.Helper()
	p := b.get(t, b.e.portalURL("/apiAccess"))
	if isLoginPage(p) {
		p = b.portalSignIn(t, p, email, userPassword)
	}
	wantAPIAccess(t, p)
	return p
}

func wantAPIAccess(t testing.TB, p page) {
	t.Helper()
	if p.status != http.StatusOK || !strings.Contains(p.body, "<h1>API access</h1>") {
		t.Fatalf("want the API access page, got %d (hops %v):\n%s", p.status, p.hops, excerpt(p.body))
	}
	wantSecurePage(t, p)
}

// pageCSRF is the CSRF token of a page's forms.
func pageCSRF(t testing.TB, p page) string {
	t.Helper()
	m := reCSRF.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("the page has no CSRF field:\n%s", excerpt(p.body))
	}
	return html.UnescapeString(m[1])
}

// newSecret is the key or token the page shows once, or "".
func newSecret(p page) string {
	if m := reNewSecret.FindStringSubmatch(p.body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// codeBlock is the text of the page's <code id="…">.
func codeBlock(t testing.TB, p page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<code id="` + id + `">(.*?)</code>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("the page has no code %s:\n%s", id, excerpt(p.body))
	}
	return html.UnescapeString(m[1])
}

// tableRow is a row of the user keys or personal access tokens table: its cells' text and
// its revoke link.
type tableRow struct {
	cells  []string
	revoke string
}

func tableRows(t testing.TB, p page, id string) []tableRow {
	t.Helper()
	m := regexp.MustCompile(`(?s)<table id="` + id + `">.*?<tbody>(.*?)</tbody>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("the page has no table %s:\n%s", id, excerpt(p.body))
	}
	var rows []tableRow
	for _, tr := range reRow.FindAllStringSubmatch(m[1], -1) {
		var row tableRow
		for _, td := range reCell.FindAllStringSubmatch(tr[1], -1) {
			row.cells = append(row.cells, fullText(td[1]))
		}
		if h := reHref.FindStringSubmatch(tr[1]); h != nil {
			row.revoke = html.UnescapeString(h[1])
		}
		if len(row.cells) > 1 { // not the "none yet" row
			rows = append(rows, row)
		}
	}
	return rows
}

// fullText is the visible text of a whole page (pageText's, without the cut).
func fullText(body string) string {
	if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:]
	}
	body = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(body, " ")
	return strings.Join(strings.Fields(html.UnescapeString(body)), " ")
}

func rowNamed(t testing.TB, rows []tableRow, name string) tableRow {
	t.Helper()
	for _, r := range rows {
		if r.cells[0] == name {
			return r
		}
	}
	t.Fatalf("no row %q in %v", name, rows)
	return tableRow{}
}

// TestPortalSignIn checks that the portal sends a browser without a session to the login
// page and back, shows the names a script needs, refuses return addresses outside the
// organization's portal, and signs out.
func TestPortalSignIn(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	ctx := t.Context()
	// alice holds a role in a second tenant, not in Default.
	second, err := e.st.TenantCreate(ctx, store.TenantCreateParams{OrgID: e.org.ID, Name: "Second"})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := e.st.RoleGetByName(ctx, second.ID, "Administrator")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.MembershipSet(ctx, tenancy.Membership{TenantID: second.ID, Principal: tenancy.Principal{Kind: tenancy.PrincipalUser, ID: e.alice.ID},
		RoleIDs: []int64{admin.ID}}); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, e)
	// /acme/portal_/ (any case of the organization) → API access → the login page, which
	// will return there.
	for _, start := range []string{"/" + orgName + "/portal_/", "/ACME/portal_", "/" + e.org.Key + "/portal_/apiAccess"} {
		p := b.get(t, e.base+start)
		if !isLoginPage(p) {
			t.Fatalf("%s: want the login page, got %d:\n%s", start, p.status, excerpt(p.body))
		}
		wantSecurePage(t, p)
		last := p.hops[len(p.hops)-1]
		if last.status != http.StatusSeeOther || last.to != e.base+"/acme/identity_/account/login?ReturnUrl=%2Facme%2Fportal_%2FapiAccess" {
			t.Errorf("%s: redirected %v, want 303 to the login page with ReturnUrl /acme/portal_/apiAccess", start, p.hops)
		}
		if ret := reReturn.FindStringSubmatch(p.body); ret == nil || ret[1] != "/acme/portal_/apiAccess" {
			t.Errorf("%s: the login form returns to %v", start, ret)
		}
	}

	// A wrong password shows the login page again, still returning to the portal.
	login := b.get(t, e.portalURL("/apiAccess"))
	p := b.portalSignIn(t, login, aliceEmail, "wrong")
	if !isLoginPage(p) || !strings.Contains(fullText(p.body), "The email or password is not right for organization acme") || reReturn.FindStringSubmatch(p.body) == nil {
		t.Fatalf("wrong password: %d\n%s", p.status, excerpt(p.body))
	}
	// Signed in, the browser is back on API access.
	p = b.portalSignIn(t, p, aliceEmail, userPassword)
	wantAPIAccess(t, p)
	if last := p.hops[len(p.hops)-1]; last.to != e.base+"/acme/portal_/apiAccess" {
		t.Errorf("after the sign-in: hops %v, want back to /acme/portal_/apiAccess", p.hops)
	}
	text := fullText(p.body)
	for _, want := range []string{"Signed in as " + aliceEmail + " in organization Acme", "Account logical name acme",
		"Default Copy tenant Default no role here yet", "Second Copy tenant Second you have a role here",
		"Client Id (for user keys) 8DEv1AMNXczW3y4U15LL3jYf62jK93n5", "Token URL " + e.public + "/oauth/token",
		"You have no user keys yet.", "You have no personal access tokens yet."} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not say %q:\n%s", want, text)
		}
	}
	// The copy buttons only appear when the page's script runs, which the CSP lets run.
	nonce := reNonce.FindStringSubmatch(p.body)
	if nonce == nil || !strings.Contains(p.header.Get("Content-Security-Policy"), "script-src 'nonce-"+nonce[1]+"'") {
		t.Errorf("the page's script has no nonce that the CSP names (%q)", p.header.Get("Content-Security-Policy"))
	}
	if strings.Contains(p.body, `class="copy" data-copy="org-name">`) || !strings.Contains(p.body, `data-copy="org-name" hidden>`) {
		t.Error("the copy buttons are not hidden until the script shows them")
	}
	// The example commands use the tenant where alice holds a role.
	if got, want := codeBlock(t, p, "curl-folders"), "curl '"+e.public+"/acme/Second/orchestrator_/odata/Folders' \\\n  -H \"Authorization: Bearer $ACCESS_TOKEN\""; got != want {
		t.Errorf("the API call is\n%s\nwant\n%s", got, want)
	}

	// Signed in, the login page goes straight back.
	if p := b.get(t, e.base+"/acme/identity_/account/login?ReturnUrl=%2Facme%2Fportal_%2FapiAccess"); len(p.hops) != 1 ||
		!strings.Contains(p.body, "<h1>API access</h1>") {
		t.Errorf("the login page when signed in: %d hops %v", p.status, p.hops)
	}
	// alice's session is not a session of globex: its portal asks for a sign-in there.
	if p := b.get(t, e.base+"/"+otherOrg+"/portal_/apiAccess"); !isLoginPage(p) || !strings.Contains(p.body, "Sign in to Globex") {
		t.Errorf("another organization's portal: %d\n%s", p.status, excerpt(p.body))
	}

	// Return addresses outside the organization's portal are refused, on the login page
	// and in a posted login form.
	for _, bad := range []string{"https://evil.example/acme/portal_/", "//evil.example/acme/portal_/", "/globex/portal_/apiAccess",
		"/acme/identity_/api/UserKeys", `/\evil.example`, "acme/portal_/"} {
		p := newBrowser(t, e).get(t, e.base+"/acme/identity_/account/login?ReturnUrl="+url.QueryEscape(bad))
		if p.status != http.StatusBadRequest || !strings.Contains(fullText(p.body), "it must be a path under /acme/portal_/") {
			t.Errorf("ReturnUrl %q: %d %s", bad, p.status, fullText(p.body))
		}
	}
	b2 := newBrowser(t, e)
	login = b2.get(t, e.portalURL("/apiAccess"))
	action, csrf := html.UnescapeString(reFormAction.FindStringSubmatch(login.body)[1]), pageCSRF(t, login)
	p = b2.postOnce(t, action, url.Values{"csrf": {csrf}, "return": {"https://evil.example/"}, "email": {aliceEmail}, "password": {userPassword}})
	if p.status != http.StatusBadRequest || p.location != "" || p.cookie("oo_session") != nil {
		t.Errorf("a login form returning elsewhere: %d Location %q", p.status, p.location)
	}
	// A return address posted to the organization-less login is refused too.
	p = b2.postOnce(t, e.base+"/identity_/account/login", url.Values{"csrf": {csrf}, "return": {"/acme/portal_/apiAccess"}, "org": {orgName},
		"email": {aliceEmail}, "password": {userPassword}})
	if p.status != http.StatusBadRequest || !strings.Contains(fullText(p.body), "/{organization}/identity_/account/login") {
		t.Errorf("a portal login posted to /identity_: %d %s", p.status, fullText(p.body))
	}

	// An unknown organization is a page that says so.
	if p := b.get(t, e.base+"/nope/portal_/apiAccess"); p.status != http.StatusNotFound || !strings.Contains(fullText(p.body), `There is no organization "nope"`) {
		t.Errorf("unknown organization: %d %s", p.status, fullText(p.body))
	}

	// Sign out: the page asks for a sign-in again.
	p = b.post(t, e.base+"/acme/identity_/connect/endsession", url.Values{})
	if !strings.Contains(fullText(p.body), "You are signed out") {
		t.Fatalf("sign out: %d %s", p.status, fullText(p.body))
	}
	if p := b.get(t, e.portalURL("/apiAccess")); !isLoginPage(p) {
		t.Errorf("after signing out: %d\n%s", p.status, excerpt(p.body))
	}
}

// TestPortalUserKeys creates, lists and revokes user keys on the page: the key is shown
// once (never in a URL), works at /oauth/token until revoked, and nobody else can revoke it;
// forms without the CSRF token change nothing.
func TestPortalUserKeys(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			testPortalUserKeys(t, newTestEnv(t, envOptions{store: eng.open}))
		})
	}
}

func testPortalUserKeys(t *testing.T, e *testEnv) {
	alice := newBrowser(t, e)
	p := alice.openAPIAccess(t, aliceEmail)
	csrf := pageCSRF(t, p)
	create := e.portalURL("/apiAccess/userKeys")

	// Created: a 303 to the page, which shows the key once.
	res := alice.postOnce(t, create, url.Values{"csrf": {csrf}, "name": {"nightly report"}})
	if res.status != http.StatusSeeOther || res.location != "/acme/portal_/apiAccess" {
		t.Fatalf("create: %d Location %q, want 303 to the page:\n%s", res.status, res.location, excerpt(res.body))
	}
	once := res.cookie("oo_portal_once")
	if once == nil || once.Path != "/acme/portal_/" || !once.HttpOnly || once.MaxAge <= 0 || once.MaxAge > 300 {
		t.Fatalf("the created key travels in cookie %+v; want a short-lived HttpOnly cookie of the portal", once)
	}
	p = alice.get(t, e.base+res.location)
	wantAPIAccess(t, p)
	key := newSecret(p)
	if !strings.HasPrefix(key, "oo_uk_") || strings.Contains(once.Value, key) {
		t.Fatalf("the page shows %q after creating a key (the cookie was %q)", key, once.Value)
	}
	text := fullText(p.body)
	for _, want := range []string{`New user key “nightly report”`, "Copy it now: it will not be shown again."} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not say %q", want)
		}
	}
	wantToken := "curl '" + e.public + "/oauth/token' \\\n  -H 'Content-Type: application/json' \\\n" +
		`  -d '{"grant_type":"refresh_token","client_id":"8DEv1AMNXczW3y4U15LL3jYf62jK93n5","refresh_token":"` + key + `"}'`
	if got := codeBlock(t, p, "curl-token"); got != wantToken {
		t.Errorf("the exchange command is\n%s\nwant\n%s", got, wantToken)
	}
	row := rowNamed(t, tableRows(t, p, "user-keys"), "nightly report")
	if row.cells[2] != "never" || row.cells[3] != "Active" || row.revoke == "" {
		t.Errorf("the new key's row: %+v", row)
	}
	// Shown once: reloading shows it no more, nor does the same cookie for another session.
	if p := alice.get(t, e.portalURL("/apiAccess")); newSecret(p) != "" || strings.Contains(p.body, key) {
		t.Error("the key is shown again on reload")
	}
	bob := newBrowser(t, e)
	bob.openAPIAccess(t, bobEmail)
	base, _ := url.Parse(e.base + "/acme/portal_/")
	bob.jar.SetCookies(base, []*http.Cookie{{Name: "oo_portal_once", Value: once.Value, Path: "/acme/portal_/"}})
	if p := bob.get(t, e.portalURL("/apiAccess")); strings.Contains(p.body, key) {
		t.Error("alice's created key opens in bob's session")
	}

	// It works at /oauth/token, and the page shows it was used.
	wantSeedTokens(t, e, e.seedJSON(t, userKeyJSON(seedAPIAccessClient, key)), seedAPIAccessClient, false)
	p = alice.get(t, e.portalURL("/apiAccess"))
	if row := rowNamed(t, tableRows(t, p, "user-keys"), "nightly report"); row.cells[2] == "never" {
		t.Errorf("last used not shown after an exchange: %+v", row)
	}

	// No name: the default name, as with the API.
	if p := alice.post(t, create, url.Values{"csrf": {csrf}, "name": {"  "}}); !strings.Contains(fullText(p.body), `New user key “API access”`) {
		t.Errorf("a key without a name: %d %s", p.status, fullText(p.body))
	}
	// A refused name is shown on the form, which keeps it; nothing is created.
	long := strings.Repeat("k", 101)
	p = alice.post(t, create, url.Values{"csrf": {csrf}, "name": {long}})
	if p.status != http.StatusBadRequest || !strings.Contains(fullText(p.body), "Name is 101 characters long; at most 100 are allowed.") ||
		!strings.Contains(p.body, `value="`+long+`"`) || newSecret(p) != "" {
		t.Errorf("a long name: %d %s", p.status, fullText(p.body))
	}
	// Without the CSRF token, or with another one, nothing is created.
	for _, form := range []url.Values{{"name": {"forged"}}, {"csrf": {strings.Repeat("x", 43)}, "name": {"forged"}}} {
		p := alice.postOnce(t, create, form)
		if p.status != http.StatusForbidden || !strings.Contains(fullText(p.body), "security token did not match") ||
			!strings.Contains(fullText(p.body), "Back to API access") {
			t.Errorf("create without a good CSRF token: %d %s", p.status, fullText(p.body))
		}
	}
	// Without a session, a post goes to the login page and creates nothing.
	p = newBrowser(t, e).postOnce(t, create, url.Values{"csrf": {csrf}, "name": {"anonymous"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/acme/identity_/account/login?ReturnUrl=") {
		t.Errorf("create without a session: %d Location %q", p.status, p.location)
	}
	rows := tableRows(t, alice.get(t, e.portalURL("/apiAccess")), "user-keys")
	if len(rows) != 2 {
		t.Errorf("alice has %d keys, want 2 (nightly report, API access): %v", len(rows), rows)
	}

	// bob can neither see nor revoke alice's key: not through the confirmation page, not by
	// posting the form with his own token.
	pb := bob.get(t, e.portalURL("/apiAccess"))
	if rows := tableRows(t, pb, "user-keys"); len(rows) != 0 {
		t.Errorf("bob sees keys: %v", rows)
	}
	if p := bob.get(t, e.base+row.revoke); p.status != http.StatusNotFound || !strings.Contains(fullText(p.body), "You ("+bobEmail+") have no user key with id") {
		t.Errorf("bob's confirmation of alice's key: %d %s", p.status, fullText(p.body))
	}
	if p := bob.postOnce(t, e.base+row.revoke, url.Values{"csrf": {pageCSRF(t, pb)}}); p.status != http.StatusNotFound ||
		!strings.Contains(fullText(p.body), "nothing was revoked") {
		t.Errorf("bob revoking alice's key: %d %s", p.status, fullText(p.body))
	}
	// Nor can a form without the CSRF token.
	if p := alice.postOnce(t, e.base+row.revoke, url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("revoke without the CSRF token: %d %s", p.status, fullText(p.body))
	}
	wantSeedTokens(t, e, e.seedJSON(t, userKeyJSON(seedAPIAccessClient, key)), seedAPIAccessClient, false)

	// alice revokes it: the confirmation, then the form.
	p = alice.get(t, e.base+row.revoke)
	if p.status != http.StatusOK || !strings.Contains(fullText(p.body), `Revoke user key “nightly report”?`) ||
		!strings.Contains(p.body, `<form method="post" action="`+row.revoke+`">`) {
		t.Fatalf("the confirmation: %d %s", p.status, excerpt(p.body))
	}
	wantSecurePage(t, p)
	p = alice.post(t, e.base+row.revoke, url.Values{"csrf": {pageCSRF(t, p)}})
	wantAPIAccess(t, p)
	if !strings.Contains(fullText(p.body), `User key "nightly report" is revoked.`) {
		t.Errorf("after revoking: %s", fullText(p.body))
	}
	if r := rowNamed(t, tableRows(t, p, "user-keys"), "nightly report"); !strings.HasPrefix(r.cells[3], "Revoked ") || r.revoke != "" {
		t.Errorf("the revoked key's row: %+v", r)
	}
	wantError(t, e.seedJSON(t, userKeyJSON(seedAPIAccessClient, key)), http.StatusBadRequest, "invalid_grant",
		`the user key "nightly report" was revoked at `)
	// Again: nothing left to revoke.
	if p := alice.get(t, e.base+row.revoke); !strings.Contains(fullText(p.body), "there is nothing left to revoke") || strings.Contains(p.body, "<form") {
		t.Errorf("the confirmation of a revoked key: %s", fullText(p.body))
	}
	if p := alice.post(t, e.base+row.revoke, url.Values{"csrf": {csrf}}); !strings.Contains(fullText(p.body), `User key "nightly report" was already revoked.`) {
		t.Errorf("revoking again: %s", fullText(p.body))
	}
}

// TestPortalPATs creates personal access tokens on the page with the scopes and lifetimes
// it offers, checks the refusals the form shows, and revokes one.
func TestPortalPATs(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	alice := newBrowser(t, e)
	p := alice.openAPIAccess(t, aliceEmail)
	csrf := pageCSRF(t, p)
	create := e.portalURL("/apiAccess/personalAccessTokens")
	// The form offers every OR area, read or read and write, besides OrchestratorApiUserAccess.
	for _, want := range []string{`<input type="checkbox" name="scopes" value="OrchestratorApiUserAccess">`,
		`<option value="OR.Jobs.Read">Read (OR.Jobs.Read)</option>`, `<option value="OR.Webhooks">Read and write (OR.Webhooks)</option>`,
		`<option value="30" selected>30 days</option>`, `<option value="365">365 days</option>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the form lacks %s", want)
		}
	}

	// Refusals are shown on the form, which keeps what was chosen.
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"name": {"x"}, "scopes": {"", ""}, "expiresInDays": {"30"}}, "Choose what the token may do: OrchestratorApiUserAccess, or read"},
		{url.Values{"name": {" "}, "scopes": {"OR.Jobs"}, "expiresInDays": {"30"}}, "Name is missing: give the personal access token a name."},
		{url.Values{"name": {"x"}, "scopes": {"OR.Jobs"}, "expiresInDays": {"400"}}, "ExpiresInDays is 400; it must be 1 to 365."},
		{url.Values{"name": {"x"}, "scopes": {"OR.Jobs"}, "expiresInDays": {"soon"}}, `Expires in "soon" is not a number of days`},
		{url.Values{"name": {"x"}, "scopes": {"openid"}, "expiresInDays": {"30"}}, `Scopes[0] "openid" is not allowed for a personal access token`},
	} {
		c.form.Set("csrf", csrf)
		p := alice.post(t, create, c.form)
		if p.status != http.StatusBadRequest || !strings.Contains(fullText(p.body), c.want) || newSecret(p) != "" {
			t.Errorf("%v: %d, want 400 saying %q:\n%s", c.form, p.status, c.want, fullText(p.body))
		}
	}
	p = alice.post(t, create, url.Values{"csrf": {csrf}, "name": {""}, "scopes": {"OR.Queues.Read"}, "expiresInDays": {"7"}})
	if !strings.Contains(p.body, `<option value="OR.Queues.Read" selected>`) || !strings.Contains(p.body, `<option value="7" selected>`) {
		t.Error("the refused form does not keep the chosen scope and lifetime")
	}
	if p := alice.postOnce(t, create, url.Values{"name": {"forged"}, "scopes": {"OR.Jobs"}, "expiresInDays": {"7"}}); p.status != http.StatusForbidden {
		t.Errorf("create without the CSRF token: %d", p.status)
	}

	// Created with OrchestratorApiUserAccess (so that it may read the identity APIs) for 7
	// days, and another with two areas.
	before := time.Now()
	p = alice.post(t, create, url.Values{"csrf": {csrf}, "name": {"ci"}, "scopes": {"OrchestratorApiUserAccess", "", "OR.Jobs.Read"},
		"expiresInDays": {"7"}})
	wantAPIAccess(t, p)
	tok := newSecret(p)
	if !strings.HasPrefix(tok, "oo_pat_") || !strings.Contains(fullText(p.body), `New personal access token “ci”`) {
		t.Fatalf("the page shows %q after creating a token:\n%s", tok, fullText(p.body))
	}
	if got := codeBlock(t, p, "curl-pat"); !strings.HasSuffix(got, "-H 'Authorization: Bearer "+tok+"'") {
		t.Errorf("the PAT command is %s", got)
	}
	row := rowNamed(t, tableRows(t, p, "pats"), "ci")
	exp, err := time.Parse("2006-01-02 15:04 UTC", row.cells[3])
	if err != nil || row.cells[1] != "OrchestratorApiUserAccess OR.Jobs.Read" || row.cells[5] != "Active" ||
		exp.Before(before.Add(7*24*time.Hour-time.Minute)) || exp.After(time.Now().Add(7*24*time.Hour)) {
		t.Errorf("the token's row: %+v", row)
	}
	p = alice.post(t, create, url.Values{"csrf": {csrf}, "name": {"reader"}, "scopes": {"", "OR.Folders.Read", "OR.Queues"}, "expiresInDays": {"30"}})
	if r := rowNamed(t, tableRows(t, p, "pats"), "reader"); r.cells[1] != "OR.Folders.Read OR.Queues" {
		t.Errorf("the second token's row: %+v", r)
	}

	// The token works where tokens are checked (here: the user's own token list).
	list := func() apiAnswer {
		return (&adminEnv{testEnv: e}).call(t, "GET", "/acme/identity_/api/PersonalAccessTokens", bearer(tok), nil, nil)
	}
	if r := list(); r.status != http.StatusOK || !strings.Contains(string(r.body), `"name":"ci"`) {
		t.Fatalf("the new token at the API: %d %s", r.status, r.body)
	}

	// bob cannot revoke it.
	bob := newBrowser(t, e)
	pb := bob.openAPIAccess(t, bobEmail)
	if p := bob.postOnce(t, e.base+row.revoke, url.Values{"csrf": {pageCSRF(t, pb)}}); p.status != http.StatusNotFound ||
		!strings.Contains(fullText(p.body), "You ("+bobEmail+") have no personal access token with id") {
		t.Errorf("bob revoking alice's token: %d %s", p.status, fullText(p.body))
	}
	// alice revokes it; the API refuses it from then on.
	p = alice.get(t, e.base+row.revoke)
	if !strings.Contains(fullText(p.body), `Revoke personal access token “ci”?`) {
		t.Fatalf("the confirmation: %s", fullText(p.body))
	}
	p = alice.post(t, e.base+row.revoke, url.Values{"csrf": {pageCSRF(t, p)}})
	if !strings.Contains(fullText(p.body), `Personal access token "ci" is revoked.`) ||
		!strings.HasPrefix(rowNamed(t, tableRows(t, p, "pats"), "ci").cells[5], "Revoked ") {
		t.Errorf("after revoking: %s", fullText(p.body))
	}
	wantAPIError(t, list(), http.StatusUnauthorized, `the personal access token "ci" was revoked at`)
}
