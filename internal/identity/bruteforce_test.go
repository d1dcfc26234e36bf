package identity_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBruteForce checks that repeated failed client authentications from one address are
// slowed down, even for the right secret, until the window has passed; that the client
// still works from elsewhere; and that every refusal is recorded without the secret.
func TestBruteForce(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Now())
	e := newTestEnv(t, envOptions{clock: clk})
	const attacker, elsewhere = "203.0.113.7", "203.0.113.99"
	from := func(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }

	var wrongs []string
	for i := range 10 {
		w := fmt.Sprintf("oo_cs_wrong-guess-%02d", i)
		wrongs = append(wrongs, w)
		r := e.postForm(t, "", clientCreds(appClientID, w, ""), from(attacker))
		wantError(t, r, http.StatusUnauthorized, "invalid_client", "client_secret is wrong")
		if ra := r.header.Get("Retry-After"); ra != "" {
			t.Fatalf("attempt %d: Retry-After %q before the limit", i+1, ra)
		}
	}

	// The 11th attempt, with the right secret: refused until the window has passed.
	r := e.postForm(t, "", clientCreds(appClientID, e.appSecret, ""), from(attacker))
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "60" || r.str("error") == "" {
		t.Fatalf("11th attempt: %d Retry-After %q %s; want 429 Retry-After 60", r.status, r.header.Get("Retry-After"), r.body)
	}
	if d := r.str("error_description"); !strings.Contains(d, "too many failed attempts") || !strings.Contains(d, "try again in 60s") {
		t.Errorf("description %q does not say to wait 60s", d)
	}
	if r.header.Get("Cache-Control") != "no-store" || strings.Contains(r.body, e.appSecret) {
		t.Errorf("429 answer: Cache-Control %q, body %s", r.header.Get("Cache-Control"), r.body)
	}
	// The address is slowed down for every client (one address cannot try many clients) …
	r = e.postForm(t, "", clientCreds(machineID, e.machineSec, ""), from(attacker))
	if r.status != http.StatusTooManyRequests {
		t.Errorf("another client from the same address: %d %s, want 429", r.status, r.body)
	}
	r = e.postForm(t, orgName, clientCreds(appClientID, e.appSecret, ""), from(attacker))
	if r.status != http.StatusTooManyRequests {
		t.Errorf("the organization's token endpoint from the same address: %d %s, want 429", r.status, r.body)
	}
	// … but nobody can lock the client out from another address.
	if r := e.postForm(t, "", clientCreds(appClientID, e.appSecret, ""), from(elsewhere)); r.status != http.StatusOK {
		t.Errorf("the right secret from another address: %d %s", r.status, r.body)
	}

	clk.Add(30 * time.Second)
	r = e.postForm(t, "", clientCreds(appClientID, e.appSecret, ""), from(attacker))
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "30" || !strings.Contains(r.str("error_description"), "30s") {
		t.Fatalf("halfway through the window: %d Retry-After %q %s; want 429 Retry-After 30", r.status, r.header.Get("Retry-After"), r.body)
	}
	clk.Add(31 * time.Second)
	if r := e.postForm(t, "", clientCreds(appClientID, e.appSecret, ""), from(attacker)); r.status != http.StatusOK {
		t.Fatalf("after the window: %d %s, want 200", r.status, r.body)
	}

	// The refusals are in the organization's identity events, with the reason and the
	// client id, and no secret anywhere.
	events, err := e.st.IdentityEventList(t.Context(), e.org.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, ev := range events {
		all := strings.Join([]string{ev.Kind, ev.ClientID, ev.Subject, ev.IP, ev.Detail}, "|")
		for _, s := range append([]string{e.appSecret, e.machineSec}, wrongs...) {
			if strings.Contains(all, s) {
				t.Errorf("event %+v quotes a secret", ev)
			}
		}
		if ev.Kind != "token.refused" {
			continue
		}
		refused++
		want := "client_secret is wrong for app " + appName + " (if it was regenerated, use the new one)"
		if ev.ClientID != appClientID || ev.Detail != want || ev.IP != attacker || ev.Subject != e.app.Key {
			t.Errorf("event %+v; want client %s, subject %s, ip %s, detail %q", ev, appClientID, e.app.Key, attacker, want)
		}
	}
	if refused < len(wrongs) {
		t.Errorf("%d token.refused events for %d refusals: %+v", refused, len(wrongs), events)
	}
}

// TestBruteForceCountsOnlyCredentialFailures checks that refusals that are not failed
// authentications (a scope, a grant type, a public client) do not lock anyone out, and
// that trying many unknown clients from one address does.
func TestBruteForceCountsOnlyCredentialFailures(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{clock: newClock(time.Now())})
	const addr = "203.0.113.20"
	from := map[string]string{"X-Forwarded-For": addr}
	for range 12 {
		wantError(t, e.postForm(t, "", clientCreds(appClientID, e.appSecret, "OR.Robots"), from), 400, "invalid_scope")
		wantError(t, e.postForm(t, "", clientCreds(publicAppID, "", ""), from), 400, "unauthorized_client")
	}
	if r := e.postForm(t, "", clientCreds(appClientID, e.appSecret, ""), from); r.status != http.StatusOK {
		t.Fatalf("after refusals that are not failed authentications: %d %s", r.status, r.body)
	}

	// Refused scopes are recorded too.
	events, err := e.st.IdentityEventList(t.Context(), e.org.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range events {
		if ev.Kind == "token.refused" && ev.ClientID == appClientID && strings.Contains(ev.Detail, "scope OR.Robots is not registered") {
			found = true
		}
	}
	if !found {
		t.Errorf("no token.refused event for the refused scope: %+v", events)
	}

	const scanner = "203.0.113.21"
	for i := range 10 {
		wantError(t, e.postForm(t, "", clientCreds(fmt.Sprintf("guess-%d", i), "x", ""), map[string]string{"X-Forwarded-For": scanner}),
			401, "invalid_client", "not known")
	}
	if r := e.postForm(t, "", clientCreds(appClientID, e.appSecret, ""), map[string]string{"X-Forwarded-For": scanner}); r.status != http.StatusTooManyRequests {
		t.Errorf("after 10 unknown client ids from one address: %d %s, want 429", r.status, r.body)
	}
}
