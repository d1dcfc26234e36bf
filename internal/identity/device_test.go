package identity_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/tenancy"
)

// The device flow (RFC 8628): POST …/connect/deviceauthorization, the device page, and
// grant_type=urn:ietf:params:oauth:grant-type:device_code at the token endpoint.

const deviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// reUserCode is a user code as the server hands it out: XXXX-XXXX of consonants.
var reUserCode = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

var (
	reDeviceField   = regexp.MustCompile(`<input type="hidden" name="device" value="([^"]*)">`)
	reUserCodeField = regexp.MustCompile(`<input type="hidden" name="user_code" value="([^"]*)">`)
)

// postEndpoint posts form to any URL and reads the answer; header entries are added.
func (e *testEnv) postEndpoint(t testing.TB, u string, form url.Values, header map[string]string) response {
	t.Helper()
	req := formRequest(t, u, form)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return e.do(t, req)
}

// deviceStart posts a device authorization request to the identity base of org.
func (e *testEnv) deviceStart(t testing.TB, org string, form url.Values) response {
	t.Helper()
	return e.postEndpoint(t, e.identityBase(org)+"/connect/deviceauthorization", form, nil)
}

// deviceStarted starts a device authorization for a client (sec "" for a public one) and
// checks that it succeeded.
func (e *testEnv) deviceStarted(t testing.TB, org, clientID, sec, scope string) response {
	t.Helper()
	form := url.Values{"client_id": {clientID}}
	if sec != "" {
		form.Set("client_secret", sec)
	}
	if scope != "" {
		form.Set("scope", scope)
	}
	r := e.deviceStart(t, org, form)
	if r.status != http.StatusOK || r.str("device_code") == "" || r.str("user_code") == "" {
		t.Fatalf("device authorization: %d %s", r.status, r.body)
	}
	return r
}

// devicePoll polls the token endpoint of org once for a device code.
func (e *testEnv) devicePoll(t testing.TB, org, clientID, sec, deviceCode string) response {
	t.Helper()
	form := url.Values{"grant_type": {deviceGrantType}, "client_id": {clientID}, "device_code": {deviceCode}}
	if sec != "" {
		form.Set("client_secret", sec)
	}
	return e.postForm(t, org, form, nil)
}

// deviceSignIn fills in the login page p of a device sign-in (it carries the user code in
// the hidden field device, and no authorize request) and follows the browser back to the
// device page. It returns the page it ends on and the device field's value.
func (b *browser) deviceSignIn(t testing.TB, p page, org, email string) (page, string) {
	t.Helper()
	if !isLoginPage(p) {
		t.Fatalf("want the login page, got %d Location %q:\n%s", p.status, p.location, excerpt(p.body))
	}
	a, c, d := reFormAction.FindStringSubmatch(p.body), reCSRF.FindStringSubmatch(p.body), reDeviceField.FindStringSubmatch(p.body)
	if a == nil || c == nil || d == nil {
		t.Fatalf("the login page has no form with csrf and device fields:\n%s", excerpt(p.body))
	}
	if reRequest.MatchString(p.body) {
		t.Errorf("the login page of a device sign-in also carries an authorize request")
	}
	device := html.UnescapeString(d[1])
	form := url.Values{"csrf": {html.UnescapeString(c[1])}, "device": {device}, "email": {email}, "password": {userPassword}}
	if reOrgField.MatchString(p.body) {
		form.Set("org", org)
	}
	return b.post(t, html.UnescapeString(a[1]), form), device
}

// deviceConfirmation checks that p is the device confirmation page and returns its form:
// where it posts, its CSRF token and the user code it carries.
func deviceConfirmation(t testing.TB, p page) (action, csrf, userCode string) {
	t.Helper()
	a, c, u := reFormAction.FindStringSubmatch(p.body), reCSRF.FindStringSubmatch(p.body), reUserCodeField.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || a == nil || c == nil || u == nil || !strings.Contains(p.body, `name="decision"`) {
		t.Fatalf("want the device confirmation page, got %d Location %q:\n%s", p.status, p.location, excerpt(p.body))
	}
	return html.UnescapeString(a[1]), html.UnescapeString(c[1]), html.UnescapeString(u[1])
}

// deviceDecide answers the confirmation page p with decision ("allow" or "deny").
func (b *browser) deviceDecide(t testing.TB, p page, decision string) page {
	t.Helper()
	action, csrf, code := deviceConfirmation(t, p)
	return b.post(t, action, url.Values{"csrf": {csrf}, "user_code": {code}, "decision": {decision}})
}

// deviceApprove plays a person who opens uri (a verification_uri_complete), signs in as
// email of org when asked, and answers decision; it returns the last page.
func (b *browser) deviceApprove(t testing.TB, uri, org, email, decision string) page {
	t.Helper()
	p := b.get(t, uri)
	if isLoginPage(p) {
		p, _ = b.deviceSignIn(t, p, org, email)
	}
	return b.deviceDecide(t, p, decision)
}

// deviceTokens runs a whole device flow at the identity base of pathOrg for a client, the
// person signing in as email of org and allowing, and returns the token answer.
func (e *testEnv) deviceTokens(t testing.TB, pathOrg, clientID, sec, scope, org, email string) response {
	t.Helper()
	r := e.deviceStarted(t, pathOrg, clientID, sec, scope)
	done := newBrowser(t, e).deviceApprove(t, r.str("verification_uri_complete"), org, email, "allow")
	if !strings.Contains(pageText(done.body), "Your device is signed in as "+email) {
		t.Fatalf("after allowing: %d %s", done.status, excerpt(done.body))
	}
	tok := e.devicePoll(t, pathOrg, clientID, sec, r.str("device_code"))
	if tok.status != http.StatusOK || tok.str("access_token") == "" {
		t.Fatalf("device token: %d %s", tok.status, tok.body)
	}
	return tok
}

// runClock advances clk by step every tick until the test ends: a fast clock.
func runClock(t testing.TB, clk *clock, tick, step time.Duration) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(tick)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				clk.Add(step)
			}
		}
	}()
	t.Cleanup(func() { stop(); <-done })
}

// TestDeviceFlowRealClient runs the device flow with golang.org/x/oauth2, the test playing
// the person at the browser while the client polls: the poller first hears
// authorization_pending, and gets tokens once the person allows.
func TestDeviceFlowRealClient(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			// The server measures the poll interval (5 s) on its clock; this one runs twenty
			// times faster than real time, so that x/oauth2 may poll every second without
			// hearing slow_down (even with the ticks of a busy machine late), and the 10
			// minutes of a code last 30 s.
			clk := newClock(time.Now())
			e := newTestEnv(t, envOptions{clock: clk, store: eng.open})
			runClock(t, clk, 50*time.Millisecond, time.Second)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			iss := e.identityBase("")
			conf := &oauth2.Config{ClientID: cliID, Scopes: []string{"openid", "profile", "email", "offline_access"},
				Endpoint: oauth2.Endpoint{DeviceAuthURL: iss + "/connect/deviceauthorization", TokenURL: iss + "/connect/token",
					// Auto-detection would send every poll twice (header, then form), and the
					// second one would always be too fast.
					AuthStyle: oauth2.AuthStyleInParams}}
			started := time.Now()
			resp, err := conf.DeviceAuth(ctx)
			if err != nil {
				t.Fatalf("DeviceAuth: %v", err)
			}
			if !reUserCode.MatchString(resp.UserCode) {
				t.Errorf("user_code %q, want XXXX-XXXX of %s", resp.UserCode, "BCDFGHJKLMNPQRSTVWXZ")
			}
			if resp.VerificationURI != iss+"/device" {
				t.Errorf("verification_uri %q, want %s/device", resp.VerificationURI, iss)
			}
			if want := iss + "/device?user_code=" + url.QueryEscape(resp.UserCode); resp.VerificationURIComplete != want {
				t.Errorf("verification_uri_complete %q, want %q", resp.VerificationURIComplete, want)
			}
			if resp.Interval != 5 {
				t.Errorf("interval %d, want 5", resp.Interval)
			}
			if life := resp.Expiry.Sub(started); life < 595*time.Second || life > 601*time.Second {
				t.Errorf("the code expires %s after the request, want 600s", life)
			}
			// The raw answer, for the exact numbers.
			raw := e.deviceStarted(t, "", cliID, "", "openid")
			if raw.json["expires_in"] != float64(600) || raw.json["interval"] != float64(5) {
				t.Errorf("expires_in %v interval %v, want 600 and 5", raw.json["expires_in"], raw.json["interval"])
			}
			if cc := raw.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}

			type result struct {
				tok *oauth2.Token
				err error
			}
			polled := make(chan result, 1)
			resp.Interval = 1
			go func() {
				tok, err := conf.DeviceAccessToken(ctx, resp)
				polled <- result{tok, err}
			}()
			// Wait for a poll before the person acts: the client must have heard
			// authorization_pending and kept polling.
			for {
				dc, err := e.st.DeviceCodeGetByUserCode(ctx, resp.UserCode)
				if err != nil {
					t.Fatal(err)
				}
				if dc.LastPollAt != nil {
					break
				}
				select {
				case r := <-polled:
					t.Fatalf("the client stopped polling before the person acted: %v %v", r.tok, r.err)
				case <-ctx.Done():
					t.Fatal("the client never polled")
				case <-time.After(20 * time.Millisecond):
				}
			}

			b := newBrowser(t, e)
			p := b.get(t, resp.VerificationURIComplete)
			wantSecurePage(t, p)
			if !isLoginPage(p) {
				t.Fatalf("verification_uri_complete: want the login page, got %d:\n%s", p.status, excerpt(p.body))
			}
			if !reOrgField.MatchString(p.body) {
				t.Errorf("the login page at /identity_ does not ask for the organization")
			}
			if !strings.Contains(pageText(p.body), "orch CLI asks you to sign in") {
				t.Errorf("the login page does not name the client: %s", pageText(p.body))
			}
			p, device := b.deviceSignIn(t, p, orgName, aliceEmail)
			if !strings.EqualFold(strings.ReplaceAll(device, "-", ""), strings.ReplaceAll(resp.UserCode, "-", "")) {
				t.Errorf("the login page's hidden device field is %q, want the user code %s", device, resp.UserCode)
			}
			wantSecurePage(t, p)
			text := pageText(p.body)
			for _, want := range []string{
				"Signed in as " + aliceEmail + " in organization Acme",
				"A device shows the code " + resp.UserCode,
				"orch CLI on it may",
				"confirm who you are (openid)", "see your name (profile)", "see your email address (email)",
				"stay signed in and act for you while you are away (a refresh token) (offline_access)",
				"use the Orchestrator API as you, with your roles (OrchestratorApiUserAccess)",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("the confirmation page does not say %q:\n%s", want, text)
				}
			}
			if _, _, code := deviceConfirmation(t, p); code != resp.UserCode {
				t.Errorf("the confirmation form carries user_code %q, want %q", code, resp.UserCode)
			}
			done := b.deviceDecide(t, p, "allow")
			if done.status != http.StatusOK || !strings.Contains(pageText(done.body), "Your device is signed in as "+aliceEmail) {
				t.Errorf("after allowing: %d %s", done.status, pageText(done.body))
			}

			var r result
			select {
			case r = <-polled:
			case <-ctx.Done():
				t.Fatal("the client got no token after the person allowed")
			}
			if r.err != nil {
				t.Fatalf("DeviceAccessToken: %v", r.err)
			}
			t.Logf("x/oauth2 got its tokens %s after DeviceAuth", time.Since(started).Round(time.Millisecond))
			if r.tok.AccessToken == "" || r.tok.RefreshToken == "" || !strings.HasPrefix(r.tok.RefreshToken, "oo_rt_") ||
				!strings.EqualFold(r.tok.TokenType, "Bearer") {
				t.Errorf("token: access %t, refresh %q, type %q", r.tok.AccessToken != "", r.tok.RefreshToken, r.tok.TokenType)
			}
			if id, _ := r.tok.Extra("id_token").(string); id == "" {
				t.Errorf("no id_token though openid was granted")
			}
			c := wantUserToken(t, e, r.tok.AccessToken, iss, cliID)
			for _, sc := range []string{"openid", "profile", "email", "offline_access", "OrchestratorApiUserAccess"} {
				if !slices.Contains(c.Scopes(), sc) {
					t.Errorf("access token scope %q lacks %s", c.Scope, sc)
				}
			}
			if c.Family == "" {
				t.Errorf("the access token names no refresh token family")
			}
			// The refresh token works with the same client.
			ts := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: r.tok.RefreshToken})
			if nt, err := ts.Token(); err != nil || nt.AccessToken == "" || nt.RefreshToken == r.tok.RefreshToken {
				t.Errorf("refresh with x/oauth2: %v (rotated: %t)", err, nt != nil && nt.RefreshToken != r.tok.RefreshToken)
			}
		})
	}
}

// TestDeviceFlowErrors covers every refusal of the device grant and of the device page.
func TestDeviceFlowErrors(t *testing.T) {
	t.Parallel()

	t.Run("pending, slow_down, unknown", func(t *testing.T) {
		t.Parallel()
		clk := newClock(time.Now())
		e := newTestEnv(t, envOptions{clock: clk})
		r := e.deviceStarted(t, "", cliID, "", "openid")
		dc := r.str("device_code")
		wantError(t, e.devicePoll(t, "", cliID, "", dc), 400, "authorization_pending", "nobody has entered the code")
		// Again at once: too fast.
		wantError(t, e.devicePoll(t, "", cliID, "", dc), 400, "slow_down", "5s")
		clk.Add(4 * time.Second)
		wantError(t, e.devicePoll(t, "", cliID, "", dc), 400, "slow_down")
		clk.Add(5 * time.Second)
		wantError(t, e.devicePoll(t, "", cliID, "", dc), 400, "authorization_pending")
		clk.Add(6 * time.Second)
		wantError(t, e.devicePoll(t, "", cliID, "", dc), 400, "authorization_pending")

		wantError(t, e.devicePoll(t, "", cliID, "", "oo_dc_"+secret.NewToken("")), 400, "invalid_grant", "not known")
		wantError(t, e.devicePoll(t, "", cliID, "", ""), 400, "invalid_request", "device_code is missing")
		// A confidential client must prove its secret, to start and to poll.
		wantError(t, e.deviceStart(t, "", url.Values{"client_id": {dashAppID}}), 401, "invalid_client", "client_secret is missing")
		wantError(t, e.deviceStart(t, "", url.Values{"client_id": {"no-such-client"}}), 401, "invalid_client", "not known")
		wantError(t, e.deviceStart(t, "", url.Values{"client_id": {dashAppID}, "client_secret": {e.dashSec}, "scope": {"OR.Queues"}}),
			400, "invalid_scope", "OR.Queues")
		d := e.deviceStarted(t, "", dashAppID, e.dashSec, "openid OR.Jobs")
		wantError(t, e.devicePoll(t, "", dashAppID, "", d.str("device_code")), 401, "invalid_client", "client_secret is missing")
		wantError(t, e.devicePoll(t, "", dashAppID, e.dashSec, d.str("device_code")), 400, "authorization_pending")
	})

	t.Run("deny", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, envOptions{})
		r := e.deviceStarted(t, "", cliID, "", "openid")
		b := newBrowser(t, e)
		p := b.deviceApprove(t, r.str("verification_uri_complete"), orgName, bobEmail, "deny")
		if p.status != http.StatusOK || !strings.Contains(pageText(p.body), "The device was not signed in") {
			t.Errorf("after denying: %d %s", p.status, pageText(p.body))
		}
		wantError(t, e.devicePoll(t, "", cliID, "", r.str("device_code")), 400, "access_denied", "denied")
		// The code is settled: the page says so and asks nothing.
		p = b.get(t, r.str("verification_uri_complete"))
		if strings.Contains(p.body, `name="decision"`) || !strings.Contains(pageText(p.body), "was already used") {
			t.Errorf("a denied code on the device page: %s", pageText(p.body))
		}
	})

	t.Run("expired", func(t *testing.T) {
		t.Parallel()
		clk := newClock(time.Now())
		e := newTestEnv(t, envOptions{clock: clk})
		r := e.deviceStarted(t, "", cliID, "", "openid")
		pending := e.deviceStarted(t, "", cliID, "", "openid")
		b := newBrowser(t, e)
		// One code is allowed in time but collected too late; the other never allowed.
		b.deviceApprove(t, r.str("verification_uri_complete"), orgName, aliceEmail, "allow")
		clk.Add(10*time.Minute + time.Second)
		wantError(t, e.devicePoll(t, "", cliID, "", r.str("device_code")), 400, "expired_token", "expired")
		wantError(t, e.devicePoll(t, "", cliID, "", pending.str("device_code")), 400, "expired_token", "expired")
		// The page refuses the expired code, signed in or not.
		p := b.get(t, pending.str("verification_uri_complete"))
		if strings.Contains(p.body, `name="decision"`) || !strings.Contains(pageText(p.body), "has expired") {
			t.Errorf("an expired code on the device page: %s", pageText(p.body))
		}
	})

	t.Run("exchanged twice", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, envOptions{})
		r := e.deviceStarted(t, "", cliID, "", "openid offline_access")
		newBrowser(t, e).deviceApprove(t, r.str("verification_uri_complete"), orgName, aliceEmail, "allow")
		first := e.devicePoll(t, "", cliID, "", r.str("device_code"))
		access, refresh := wantTokens(t, first)
		wantUserToken(t, e, access, e.identityBase(""), cliID)
		if !strings.HasPrefix(refresh, "oo_rt_") {
			t.Errorf("refresh_token %q", refresh)
		}
		wantError(t, e.devicePoll(t, "", cliID, "", r.str("device_code")), 400, "invalid_grant", "already exchanged")
	})

	t.Run("polled by another client", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, envOptions{})
		r := e.deviceStarted(t, "", cliID, "", "openid")
		newBrowser(t, e).deviceApprove(t, r.str("verification_uri_complete"), orgName, aliceEmail, "allow")
		wantError(t, e.devicePoll(t, "", publicAppID, "", r.str("device_code")), 400, "invalid_grant", cliID, publicAppID)
		wantError(t, e.devicePoll(t, "", dashAppID, e.dashSec, r.str("device_code")), 400, "invalid_grant", cliID, dashAppID)
		// Another organization's endpoint is another issuer.
		wantError(t, e.devicePoll(t, orgName, cliID, "", r.str("device_code")), 400, "invalid_grant", "poll there")
		// None of that spent the code: its own client still gets the tokens.
		wantTokens(t, e.devicePoll(t, "", cliID, "", r.str("device_code")))
	})

	t.Run("unknown user code", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, envOptions{})
		e.deviceStarted(t, "", cliID, "", "openid") // a code exists, just not this one
		b := newBrowser(t, e)
		for _, code := range []string{"BBBB-BBBB", "<script>alert(1)</script>"} {
			p := b.get(t, e.identityBase("")+"/device?user_code="+url.QueryEscape(code))
			wantSecurePage(t, p)
			text := pageText(p.body)
			if p.status != http.StatusOK || !strings.Contains(text, "There is no pending sign-in with code "+code) {
				t.Errorf("unknown code %q: %d %s", code, p.status, text)
			}
			if strings.Contains(p.body, `name="decision"`) || strings.Contains(p.body, `name="password"`) {
				t.Errorf("unknown code %q: the page asks for a sign-in or a decision", code)
			}
			if strings.Contains(p.body, "<script>") {
				t.Errorf("the page echoes the code unescaped")
			}
		}
		// Posting a decision for an unknown code, signed in, changes nothing.
		r := e.deviceStarted(t, "", cliID, "", "openid")
		p := b.get(t, r.str("verification_uri_complete"))
		p, _ = b.deviceSignIn(t, p, orgName, aliceEmail)
		action, csrf, _ := deviceConfirmation(t, p)
		p = b.post(t, action, url.Values{"csrf": {csrf}, "user_code": {"BBBB-BBBB"}, "decision": {"allow"}})
		if !strings.Contains(pageText(p.body), "There is no pending sign-in with code BBBB-BBBB") {
			t.Errorf("allowing an unknown code: %d %s", p.status, pageText(p.body))
		}
		// The page without a code asks for one.
		p = b.get(t, e.identityBase("")+"/device")
		if p.status != http.StatusOK || !strings.Contains(p.body, `name="user_code"`) || strings.Contains(p.body, `name="decision"`) {
			t.Errorf("the device page without a code: %d %s", p.status, excerpt(p.body))
		}
	})

	t.Run("lower case without the dash", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, envOptions{})
		r := e.deviceStarted(t, "", cliID, "", "openid offline_access")
		code := r.str("user_code")
		typed := strings.ToLower(strings.ReplaceAll(code, "-", ""))
		b := newBrowser(t, e)
		p := b.get(t, r.str("verification_uri")+"?user_code="+typed)
		p, _ = b.deviceSignIn(t, p, orgName, aliceEmail)
		if !strings.Contains(pageText(p.body), "A device shows the code "+code) {
			t.Errorf("the confirmation page does not show %s: %s", code, pageText(p.body))
		}
		b.deviceDecide(t, p, "allow")
		wantTokens(t, e.devicePoll(t, "", cliID, "", r.str("device_code")))

		// Typed with spaces, and in mixed case, into the form of the signed-in browser.
		r = e.deviceStarted(t, "", cliID, "", "openid")
		code = r.str("user_code")
		p = b.get(t, r.str("verification_uri")+"?user_code="+url.QueryEscape(" "+strings.ToLower(code[:4])+" "+code[5:]+" "))
		b.deviceDecide(t, p, "allow")
		wantTokens(t, e.devicePoll(t, "", cliID, "", r.str("device_code")))
	})

	t.Run("decision without CSRF", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, envOptions{})
		r := e.deviceStarted(t, "", cliID, "", "openid")
		b := newBrowser(t, e)
		p := b.get(t, r.str("verification_uri_complete"))
		p, _ = b.deviceSignIn(t, p, orgName, aliceEmail)
		action, csrf, code := deviceConfirmation(t, p)
		for name, form := range map[string]url.Values{
			"no csrf":    {"user_code": {code}, "decision": {"allow"}},
			"wrong csrf": {"csrf": {secret.NewToken("")}, "user_code": {code}, "decision": {"allow"}},
		} {
			p := b.postOnce(t, action, form)
			if p.status != http.StatusForbidden || !strings.Contains(pageText(p.body), "security token did not match") {
				t.Errorf("%s: %d %s", name, p.status, pageText(p.body))
			}
		}
		// A browser without the CSRF cookie (another site's form) is refused too.
		other := newBrowser(t, e)
		if p := other.postOnce(t, action, url.Values{"csrf": {csrf}, "user_code": {code}, "decision": {"allow"}}); p.status != http.StatusForbidden {
			t.Errorf("a form without the cookie: %d %s", p.status, pageText(p.body))
		}
		wantError(t, e.devicePoll(t, "", cliID, "", r.str("device_code")), 400, "authorization_pending")
		// The same form with its token works.
		b.post(t, action, url.Values{"csrf": {csrf}, "user_code": {code}, "decision": {"allow"}})
		wantTokens(t, e.devicePoll(t, "", cliID, "", r.str("device_code")))
		// The login form of a device sign-in checks CSRF as well.
		r = e.deviceStarted(t, "", cliID, "", "openid")
		p = newBrowser(t, e).postOnce(t, e.identityBase("")+"/account/login", url.Values{"device": {r.str("user_code")},
			"org": {orgName}, "email": {aliceEmail}, "password": {userPassword}})
		if p.status != http.StatusForbidden || p.cookie("oo_session") != nil {
			t.Errorf("device login without CSRF: %d, session cookie %v", p.status, p.cookie("oo_session"))
		}
	})

	t.Run("approver disabled before the poll", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, envOptions{})
		r := e.deviceStarted(t, "", cliID, "", "openid")
		newBrowser(t, e).deviceApprove(t, r.str("verification_uri_complete"), orgName, bobEmail, "allow")
		if _, err := e.st.UserUpdate(t.Context(), e.org.ID, e.bob.ID, func(u tenancy.User) (tenancy.User, error) {
			u.Disabled = true
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		wantError(t, e.devicePoll(t, "", cliID, "", r.str("device_code")), 400, "invalid_grant", "disabled")
	})

	t.Run("decision at an organization's path by another organization's person", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, envOptions{})
		// carol signs in to globex through a device sign-in at /identity_ (she denies it).
		b := newBrowser(t, e)
		first := e.deviceStarted(t, "", cliID, "", "openid")
		b.deviceApprove(t, first.str("verification_uri_complete"), otherOrg, carolEmail, "deny")
		// A code issued at /acme/identity_: the page does not offer carol's globex session
		// a confirmation, it asks for a sign-in to Acme.
		r := e.deviceStarted(t, orgName, cliID, "", "openid")
		p := b.get(t, r.str("verification_uri_complete"))
		if !isLoginPage(p) {
			t.Fatalf("acme's device page with a globex session: %d %s", p.status, pageText(p.body))
		}
		csrf := reCSRF.FindStringSubmatch(p.body)
		// Posting the decision anyway must not approve it for globex's carol.
		b.post(t, e.identityBase(orgName)+"/device", url.Values{"csrf": {html.UnescapeString(csrf[1])},
			"user_code": {r.str("user_code")}, "decision": {"allow"}})
		poll := e.devicePoll(t, orgName, cliID, "", r.str("device_code"))
		if poll.status == http.StatusOK {
			c := deviceClaims(t, e, poll.str("access_token"))
			t.Errorf("device.go:167-182 (deviceDecision) checks the session's organization only against the app's "+
				"(orch-cli has none), not against the organization of the path, which devicePage (device.go:143) does: a "+
				"globex session approves a code issued at /%s/identity_ by posting the form, and the token has iss %s "+
				"but prt_id %s (globex's Key is %s, acme's %s)", orgName, c.Issuer, c.OrgKey, e.org2.Key, e.org.Key)
		}
		wantError(t, poll, 400, "authorization_pending")
	})

	t.Run("organization path", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, envOptions{})
		iss := e.identityBase(orgName)
		r := e.deviceStarted(t, orgName, cliID, "", "openid offline_access")
		if r.str("verification_uri") != iss+"/device" || !strings.HasPrefix(r.str("verification_uri_complete"), iss+"/device?user_code=") {
			t.Errorf("verification_uri %q _complete %q, want under %s", r.str("verification_uri"), r.str("verification_uri_complete"), iss)
		}
		b := newBrowser(t, e)
		p := b.get(t, r.str("verification_uri_complete"))
		if !isLoginPage(p) {
			t.Fatalf("want the login page: %d %s", p.status, excerpt(p.body))
		}
		if reOrgField.MatchString(p.body) {
			t.Errorf("the login page at /%s/identity_ asks for the organization", orgName)
		}
		if !strings.Contains(pageText(p.body), "Sign in to Acme") {
			t.Errorf("the login page does not name the organization: %s", pageText(p.body))
		}
		if a := reFormAction.FindStringSubmatch(p.body); a == nil || html.UnescapeString(a[1]) != iss+"/account/login" {
			t.Errorf("the login form posts to %v, want %s/account/login", a, iss)
		}
		// A person of another organization cannot sign in here.
		fail, _ := b.deviceSignIn(t, p, otherOrg, carolEmail)
		if !isLoginPage(fail) || !strings.Contains(pageText(fail.body), "not right for organization "+orgName) {
			t.Errorf("carol at acme's device page: %d %s", fail.status, pageText(fail.body))
		}
		p, _ = b.deviceSignIn(t, fail, "", aliceEmail)
		if !strings.Contains(pageText(p.body), "in organization Acme") {
			t.Errorf("confirmation: %s", pageText(p.body))
		}
		b.deviceDecide(t, p, "allow")
		// The code is collected where it was issued.
		wantError(t, e.devicePoll(t, "", cliID, "", r.str("device_code")), 400, "invalid_grant", iss)
		access, refresh := wantTokens(t, e.devicePoll(t, orgName, cliID, "", r.str("device_code")))
		wantUserToken(t, e, access, iss, cliID)
		if refresh == "" {
			t.Errorf("no refresh token though offline_access was granted")
		}
	})
}

// deviceClaims verifies a device flow's access token with a Service of the environment.
func deviceClaims(t testing.TB, e *testEnv, access string) identity.Claims {
	t.Helper()
	c, err := serviceOf(e).VerifyBearer(t.Context(), access)
	if err != nil {
		t.Fatalf("VerifyBearer: %v", err)
	}
	return c
}

// serviceOf is a Service over the environment's store, keys and deny-list (the one the
// environment serves is not exposed), for VerifyBearer.
func serviceOf(e *testEnv) *identity.Service {
	return identity.New(identity.Options{Store: e.st, Keys: e.keys, Deny: e.deny, PublicURL: e.public + "/", Now: e.now})
}
