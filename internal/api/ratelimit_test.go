package api_test

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestRateLimits turns the tenant's rate limits on through the Settings API and checks
// the budgets per caller, per client id and per tenant, the headers, the 429 answer, and
// that an administrator can always lift a limit.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ann := e.userToken(t, "acme", "ann@acme.test", "OR.Settings OR.Folders")
			bob := e.userToken(t, "acme", "bob@acme.test", "OrchestratorApiUserAccess")
			bot := e.appToken(t, "acme-bot", "acme-bot-secret-0123456789abcdef-xyz", "")
			narrow := e.appToken(t, "acme-narrow", "acme-narrow-secret-0123456789abcdef-x", "")
			folders := func(tok string) reply { return e.get(t, base+"/odata/Folders", bearer(tok)) }
			settings := func() map[string]string {
				t.Helper()
				r := e.get(t, base+"/odata/Settings", bearer(ann))
				wantStatus(t, r, 200)
				out := map[string]string{}
				for _, v := range r.body["value"].([]any) {
					m := v.(map[string]any)
					out[m["Name"].(string)] = m["Value"].(string)
				}
				return out
			}
			update := func(tok, body string) reply {
				return e.send(t, "POST", base+"/odata/Settings/UiPath.Server.Configuration.OData.UpdateBulk", body, bearer(tok))
			}
			remaining := func(r reply) int {
				t.Helper()
				n, err := strconv.Atoi(r.header.Get("X-RateLimit-Remaining"))
				if err != nil {
					t.Fatalf("X-RateLimit-Remaining = %q: %v (status %d)", r.header.Get("X-RateLimit-Remaining"), err, r.status)
				}
				return n
			}

			// Off by default: no budget, no headers.
			for range 5 {
				r := folders(bot)
				wantStatus(t, r, 200)
				if h := r.header.Get("X-RateLimit-Remaining"); h != "" {
					t.Fatalf("X-RateLimit-Remaining %q with rate limits off", h)
				}
			}
			if got := settings(); got["OpenOrch.RateLimit.TenantRequestsPerMinute"] != "0" || got["OpenOrch.RateLimit.ClientRequestsPerMinute"] != "0" {
				t.Fatalf("default settings %v, want both 0", got)
			}

			// Bad input changes nothing, and only an administrator may change settings.
			for _, c := range []struct{ body, want string }{
				{`{"settings":[{"Name":"OpenOrch.RateLimit.Typo","Value":"1"}]}`, `there is no setting \"OpenOrch.RateLimit.Typo\"`},
				{`{"settings":[{"Name":"OpenOrch.RateLimit.ClientRequestsPerMinute","Value":"3"},{"Name":"OpenOrch.RateLimit.TenantRequestsPerMinute","Value":"-1"}]}`,
					`settings[1]: OpenOrch.RateLimit.TenantRequestsPerMinute must be a whole number`},
				{`{"settings":[{"Name":"OpenOrch.RateLimit.ClientRequestsPerMinute.nobody","Value":"3"}]}`, `client id \"nobody\"`},
				{`{"settings":[{"Name":"OpenOrch.RateLimit.ClientRequestsPerMinute"}]}`, `Value is missing`},
				{`{"settings":[]}`, `settings is empty`},
			} {
				wantStatus(t, update(ann, c.body), 400, c.want)
			}
			wantStatus(t, update(bob, `{"settings":[{"Name":"OpenOrch.RateLimit.ClientRequestsPerMinute","Value":"3"}]}`), 403, "Settings.Edit")
			if got := settings(); got["OpenOrch.RateLimit.ClientRequestsPerMinute"] != "0" || got["OpenOrch.RateLimit.TenantRequestsPerMinute"] != "0" {
				t.Fatalf("settings after refused updates %v, want both still 0", got)
			}
			wantStatus(t, e.get(t, base+"/odata/Settings('openorch.ratelimit.tenantrequestsperminute')", bearer(ann)), 200,
				`"Name":"OpenOrch.RateLimit.TenantRequestsPerMinute"`, `"Value":"0"`)
			wantStatus(t, e.get(t, base+"/odata/Settings('Nope')", bearer(ann)), 404, "there is no setting")

			// Each caller gets its own budget of 3 calls a minute.
			wantStatus(t, update(ann, `{"settings":[{"Name":"openorch.ratelimit.clientrequestsperminute","Value":"3"}]}`), 200)
			for i := 2; i >= 0; i-- {
				r := folders(bot)
				wantStatus(t, r, 200)
				if got := remaining(r); got != i {
					t.Fatalf("X-RateLimit-Remaining %d, want %d", got, i)
				}
				if r.header.Get("X-RateLimit-Limit") != "3" {
					t.Fatalf("X-RateLimit-Limit %q, want 3", r.header.Get("X-RateLimit-Limit"))
				}
			}
			r := folders(bot)
			wantStatus(t, r, 429, "app bot", "3 API calls a minute", "OpenOrch.RateLimit.ClientRequestsPerMinute", "retry after")
			if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 20 {
				t.Fatalf("Retry-After %q, want 1 to 20 seconds (a call every 20 s refills)", r.header.Get("Retry-After"))
			}
			if remaining(r) != 0 {
				t.Fatalf("X-RateLimit-Remaining on a 429: %d, want 0", remaining(r))
			}
			// The older layout refuses in its own envelope.
			old := e.get(t, "/acme/DefaultTenant/odata/Folders", with(bearer(bot), "X-UIPATH-TenantName", "DefaultTenant"))
			wantStatus(t, old, 429, `"__abp":true`, "too many requests")
			// Another caller is not affected.
			if got := remaining(folders(ann)); got != 2 {
				t.Fatalf("ann's remaining budget %d, want 2 (her own)", got)
			}

			// A per-client override: acme-narrow's callers get 5. Its calls are refused (403,
			// no scope for Folders) but still count.
			wantStatus(t, e.send(t, "PUT", base+"/odata/Settings('OpenOrch.RateLimit.ClientRequestsPerMinute.acme-narrow')", `{"Value":"5"}`, bearer(ann)), 200)
			for i := range 5 {
				r := folders(narrow)
				wantStatus(t, r, 403)
				if got := remaining(r); got != 4-i {
					t.Fatalf("narrow's remaining budget %d, want %d", got, 4-i)
				}
			}
			wantStatus(t, folders(narrow), 429, "client acme-narrow", "OpenOrch.RateLimit.ClientRequestsPerMinute.acme-narrow")
			if got := settings()["OpenOrch.RateLimit.ClientRequestsPerMinute.acme-narrow"]; got != "5" {
				t.Fatalf("the override reads %q, want 5", got)
			}

			// A tenant budget shared by everyone; the tenant Other is not affected, and the
			// settings can still be changed to lift it.
			wantStatus(t, update(ann, `{"settings":[{"Name":"OpenOrch.RateLimit.ClientRequestsPerMinute","Value":"0"},`+
				`{"Name":"OpenOrch.RateLimit.ClientRequestsPerMinute.acme-narrow","Value":"0"},`+
				`{"Name":"OpenOrch.RateLimit.TenantRequestsPerMinute","Value":"2"}]}`), 200)
			wantStatus(t, folders(ann), 200)
			wantStatus(t, folders(bob), 200)
			wantStatus(t, folders(bot), 429, "tenant DefaultTenant", "2 API calls a minute", "OpenOrch.RateLimit.TenantRequestsPerMinute")
			wantStatus(t, e.get(t, "/acme/Other/orchestrator_/odata/Folders", bearer(ann)), 200)
			wantStatus(t, update(ann, `{"settings":[{"Name":"OpenOrch.RateLimit.TenantRequestsPerMinute","Value":"0"}]}`), 200)
			r = folders(bot)
			wantStatus(t, r, 200)
			if h := r.header.Get("X-RateLimit-Remaining"); h != "" {
				t.Fatalf("X-RateLimit-Remaining %q after the limits were lifted", h)
			}

			// Refusals are counted, and every change is audited.
			resp, err := http.Get(e.url + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(b), `orch_api_refusals_total{reason="rate_limited",status="429"}`) {
				t.Errorf("/metrics lacks the 429 refusals")
			}
			audit := e.get(t, base+"/odata/AuditLogs?$filter="+url.QueryEscape("Component eq 'Settings'"), bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Audit")))
			wantStatus(t, audit, 200, "OpenOrch.RateLimit.TenantRequestsPerMinute=2")
			if n := len(audit.body["value"].([]any)); n != 4 {
				t.Errorf("%d Settings audit entries, want 4 (one per accepted change)", n)
			}
		})
	}
}
