package identity_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestThirdPartyApps signs alice in to an organization's confidential app: a consent page
// in words, Allow gives a code that only the app's secret exchanges, Deny goes back with
// access_denied; redirect URIs match exactly, except a loopback one's port (RFC 8252); a
// redirect URI that does not match is shown on a page, never redirected to.
func TestThirdPartyApps(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	ctx := t.Context()
	provider, err := oidc.NewProvider(ctx, e.identityBase(""))
	if err != nil {
		t.Fatal(err)
	}
	authorize := func(clientID, redirect, scope, state string) string {
		q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "scope": {scope}, "state": {state}}
		return e.identityBase("") + "/connect/authorize?" + q.Encode()
	}

	// alice signs in for the dashboard: the app belongs to acme, so the page does not ask.
	b := newBrowser(t, e)
	login := b.get(t, authorize(dashAppID, dashRedirect, "openid OR.Jobs", "s-allow"))
	if f := formOf(t, login); f.askOrg {
		t.Errorf("the login page for an acme app asks for the organization")
	}
	if text := pageText(login.body); !strings.Contains(text, "Sign in to Acme") || !strings.Contains(text, "dashboard asks you to sign in") {
		t.Errorf("the login page does not name the organization and the app: %s", text)
	}
	consent := b.signIn(t, login, "", aliceEmail, userPassword)
	if len(consent.hops) != 1 || consent.hops[0].status != http.StatusSeeOther {
		t.Errorf("after the sign-in: redirects %v, want one 303 back to /connect/authorize", consent.hops)
	}
	wantSecurePage(t, consent)
	text := pageText(consent.body)
	for _, want := range []string{"Allow dashboard?", "Signed in as " + aliceEmail + " in organization Acme",
		"confirm who you are (openid)", "read and change jobs in the folders you can use (OR.Jobs)"} {
		if !strings.Contains(text, want) {
			t.Errorf("the consent page does not say %q: %s", want, text)
		}
	}
	cb := b.consent(t, consent, "allow").redirect(t)
	code := cb.Query().Get("code")
	if cb.Scheme+"://"+cb.Host+cb.Path != dashRedirect || cb.Query().Get("state") != "s-allow" || code == "" {
		t.Fatalf("Allow went to %s, want %s with a code and state s-allow", cb, dashRedirect)
	}

	t.Run("exchange needs the secret", func(t *testing.T) {
		wantError(t, e.exchangeCode(t, "", dashAppID, "", code, "", dashRedirect), http.StatusUnauthorized, "invalid_client",
			"client_secret is missing", "dashboard")
		wantError(t, e.exchangeCode(t, "", dashAppID, "oo_cs_wrong", code, "", dashRedirect), http.StatusUnauthorized, "invalid_client",
			"client_secret is wrong")
		// Refusing the client did not use the code up.
		conf := oauth2.Config{ClientID: dashAppID, ClientSecret: e.dashSec, Endpoint: provider.Endpoint(), RedirectURL: dashRedirect}
		tok, err := conf.Exchange(ctx, code)
		if err != nil {
			t.Fatalf("Exchange with the secret: %v", err)
		}
		c := wantUserToken(t, e, tok.AccessToken, e.identityBase(""), dashAppID)
		if c.Scope != "openid OR.Jobs" || tok.RefreshToken != "" {
			t.Errorf("scope %q, refresh token %q; want exactly the consented \"openid OR.Jobs\" and no refresh token", c.Scope, tok.RefreshToken)
		}
		rawID, _ := tok.Extra("id_token").(string)
		if _, err := provider.Verifier(&oidc.Config{ClientID: dashAppID}).Verify(ctx, rawID); err != nil {
			t.Errorf("the id_token: %v", err)
		}
	})

	t.Run("deny", func(t *testing.T) {
		t.Parallel()
		p := b.consent(t, b.get(t, authorize(dashAppID, dashRedirect, "openid OR.Jobs", "s-deny")), "deny")
		wantAuthorizeError(t, p, dashRedirect, "s-deny", "access_denied", aliceEmail+" denied access")
		wantEvent(t, e, e.org.ID, "consent.denied", e.alice.Key, "openid OR.Jobs")
	})

	t.Run("loopback redirect on another port", func(t *testing.T) {
		t.Parallel()
		other := "http://localhost:9999/callback"
		cb := b.consent(t, b.get(t, authorize(dashAppID, other, "OR.Jobs.Read", "s-port")), "allow").redirect(t)
		if cb.Scheme+"://"+cb.Host+cb.Path != other || cb.Query().Get("state") != "s-port" {
			t.Fatalf("Allow went to %s, want %s", cb, other)
		}
		r := e.exchangeCode(t, "", dashAppID, e.dashSec, cb.Query().Get("code"), "", other)
		if access, _ := wantTokens(t, r); wantUserToken(t, e, access, e.identityBase(""), dashAppID).Scope != "OR.Jobs.Read" {
			t.Errorf("scope %q, want OR.Jobs.Read", r.str("scope"))
		}
	})

	t.Run("redirect_uri not registered", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct{ clientID, redirect string }{
			{dashAppID, "http://localhost:5173/other"},              // another path
			{dashAppID, "http://localhost:5173/callback/x"},         // a longer path
			{dashAppID, "http://127.0.0.1:5173/callback"},           // another loopback host
			{dashAppID, "http://evil.example:5173/callback"},        // not loopback
			{dashAppID, "https://localhost:5173/callback"},          // another scheme
			{dashAppID, "http://localhost:5173/callback?x=1"},       // a query
			{dashAppID, "http://localhost:5173/callback#frag"},      // a fragment
			{webAppID, "https://evil.example/callback"},             // another host
			{webAppID, "https://portal.acme.example:8443/callback"}, // a non-loopback port
			{webAppID, "http://portal.acme.example/callback"},       // http
			{webAppID, "https://portal.acme.example/callback2"},     // another path
		} {
			// A browser that is signed in would otherwise go straight to consent.
			p := b.get(t, authorize(c.clientID, c.redirect, "OR.Jobs", "s-bad"))
			wantErrorPage(t, p, "redirect_uri "+c.redirect+" is not registered")
		}
		// The registered one works, for the web app too.
		if p := b.get(t, authorize(webAppID, webRedirect, "OR.Jobs", "s-web")); p.status != http.StatusOK || !strings.Contains(p.body, `name="decision"`) {
			t.Errorf("the web app's registered redirect: %d Location %q, want its consent page", p.status, p.location)
		}
	})

	t.Run("unknown client", func(t *testing.T) {
		t.Parallel()
		wantErrorPage(t, b.get(t, authorize("no-such-app", dashRedirect, "OR.Jobs", "s")), "no-such-app is not known")
		wantErrorPage(t, b.get(t, authorize("", dashRedirect, "OR.Jobs", "s")), "client_id is missing")
	})

	t.Run("scope not registered", func(t *testing.T) {
		t.Parallel()
		wantAuthorizeError(t, b.get(t, authorize(dashAppID, dashRedirect, "OR.Jobs OR.Queues", "s-scope")), dashRedirect, "s-scope",
			"invalid_scope", "scope OR.Queues is not registered as a user scope for app dashboard")
	})
}

// wantErrorPage checks that authorize answered with an error page, not a redirect.
func wantErrorPage(t testing.TB, p page, parts ...string) {
	t.Helper()
	if p.status != http.StatusBadRequest || p.location != "" || len(p.hops) != 0 {
		t.Errorf("want a 400 error page and no redirect, got %d Location %q hops %v", p.status, p.location, p.hops)
		return
	}
	wantSecurePage(t, p)
	text := pageText(p.body)
	for _, part := range parts {
		if !strings.Contains(text, part) {
			t.Errorf("the error page does not say %q: %s", part, text)
		}
	}
}

// TestUserGrantSecretGuessing checks that guessing a confidential app's secret through the
// user grants (authorization_code, refresh_token) is slowed down as it is through
// client_credentials: after 10 wrong secrets from an address, that address waits.
func TestUserGrantSecretGuessing(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	from := map[string]string{"X-Forwarded-For": freshAddr()}
	form := func(grant, sec string) url.Values {
		return url.Values{"grant_type": {grant}, "client_id": {dashAppID}, "client_secret": {sec}, "code": {"oo_ac_unknown"},
			"refresh_token": {"oo_rt_unknown"}, "redirect_uri": {dashRedirect}}
	}
	for i := range 10 {
		grant := []string{"authorization_code", "refresh_token"}[i%2]
		wantError(t, e.postForm(t, "", form(grant, fmt.Sprintf("oo_cs_guess-%02d", i)), from), http.StatusUnauthorized,
			"invalid_client", "client_secret is wrong")
	}
	r := e.postForm(t, "", form("authorization_code", e.dashSec), from)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("the 11th attempt: %d %s; want 429 with Retry-After", r.status, r.body)
	}
}
