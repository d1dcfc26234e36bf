package api_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSettings(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			f := newTenantFixture(t, e)
			ann := e.userToken(t, "acme", "ann@acme.test", "OR.Settings.Read")
			bob := e.userToken(t, "acme", "bob@acme.test", "OrchestratorApiUserAccess")

			t.Run("GetLicense", func(t *testing.T) {
				ms, err := e.st.MachineList(context.Background(), f.tenant.ID)
				if err != nil {
					t.Fatal(err)
				}
				slots := 0
				for _, m := range ms {
					slots += m.Slots
				}
				if slots != 5 {
					t.Fatalf("the fixture's machines have %d slots, want 5", slots)
				}
				for _, ns := range []string{"UiPath.Server.Configuration.OData", "UiPathODataSvc"} {
					r := e.get(t, base+"/odata/Settings/"+ns+".GetLicense", bearer(ann))
					wantStatus(t, r, 200)
					var fields []string
					for k := range r.body {
						fields = append(fields, k)
					}
					slices.Sort(fields)
					want := []string{"@odata.context", "Allowed", "AttendedConcurrent", "Code", "CreationTime", "DevelopmentConcurrent",
						"ExpireDate", "GracePeriod", "GracePeriodEndDate", "Id", "IsCommunity", "IsExpired", "IsProOrEnterprise",
						"IsRegistered", "LicensedFeatures", "StudioXConcurrent", "SubscriptionPlan", "Used"}
					if !slices.Equal(fields, want) {
						t.Errorf("LicenseDto fields %v, want %v", fields, want)
					}
					allowed, _ := r.body["Allowed"].(map[string]any)
					used, _ := r.body["Used"].(map[string]any)
					for _, k := range []string{"Unattended", "Attended", "NonProduction", "Development", "StudioX"} {
						if _, ok := allowed[k]; !ok {
							t.Errorf("Allowed lacks %s: %s", k, r.raw)
						}
						if used[k] != float64(0) {
							t.Errorf("Used.%s = %v, want 0", k, used[k])
						}
					}
					if allowed["Unattended"] != float64(slots) || allowed["Attended"] != float64(0) {
						t.Errorf("Allowed = %v, want Unattended %d (the slots of the tenant's machines)", allowed, slots)
					}
					exp, _ := r.body["ExpireDate"].(float64)
					if time.Unix(int64(exp), 0).Before(time.Now().AddDate(10, 0, 0)) {
						t.Errorf("ExpireDate %v is not far in the future", r.body["ExpireDate"])
					}
					if r.body["IsExpired"] != false || r.body["IsRegistered"] != true || r.body["GracePeriodEndDate"] != nil ||
						r.body["GracePeriod"] != nil || r.body["Code"] != "OPENORCH" || r.body["SubscriptionPlan"] != "OpenOrch" ||
						r.body["Id"] != float64(f.tenant.ID) || r.body["CreationTime"] != float64(f.tenant.CreatedAt.Unix()) {
						t.Errorf("license: %s", r.raw)
					}
					if lf, ok := r.body["LicensedFeatures"].([]any); !ok || len(lf) != 0 {
						t.Errorf("LicensedFeatures = %v, want []", r.body["LicensedFeatures"])
					}
				}
				// The Other tenant has its own machine.
				r := e.get(t, "/acme/Other/orchestrator_/odata/Settings/UiPath.Server.Configuration.OData.GetLicense", bearer(ann))
				wantStatus(t, r, 200, `"Allowed":{"Unattended":7,`)
			})
			t.Run("any member may read the license", func(t *testing.T) {
				wantStatus(t, e.get(t, base+"/odata/Settings/UiPath.Server.Configuration.OData.GetLicense", bearer(bob)), 200, `"Unattended":5`)
				eve := e.userToken(t, "acme", "eve@acme.test", "OrchestratorApiUserAccess")
				wantStatus(t, e.get(t, base+"/odata/Settings/UiPath.Server.Configuration.OData.GetLicense", bearer(eve)), 403,
					"user eve@acme.test is not a member of tenant DefaultTenant")
				users := e.userToken(t, "acme", "ann@acme.test", "OR.Users")
				wantStatus(t, e.get(t, base+"/odata/Settings/UiPath.Server.Configuration.OData.GetLicense", bearer(users)), 403,
					"lacks scope OR.Settings or OR.Settings.Read")
			})
			t.Run("GetAuthenticationSettings", func(t *testing.T) {
				for _, path := range []string{
					base + "/odata/Settings/UiPath.Server.Configuration.OData.GetAuthenticationSettings",
					base + "/odata/Settings/UiPathODataSvc.GetAuthenticationSettings",
				} {
					r := e.get(t, path, bearer(bob))
					wantStatus(t, r, 200)
					if got := r.header.Get("api-supported-versions"); got != "20.0" {
						t.Errorf("api-supported-versions = %q, want 20.0", got)
					}
					keys, _ := r.body["Keys"].([]any)
					vals, _ := r.body["Values"].([]any)
					if len(keys) == 0 || len(keys) != len(vals) {
						t.Fatalf("Keys and Values differ in length: %s", r.raw)
					}
					i := slices.Index(keys, any("Build.Version"))
					if i < 0 || vals[i] != "test" {
						t.Errorf("Build.Version missing or not the server's version: %s", r.raw)
					}
				}
				// The older layout, as the PowerShell module calls it.
				r := e.get(t, "/acme/DefaultTenant/odata/Settings/UiPath.Server.Configuration.OData.GetAuthenticationSettings",
					with(bearer(ann), "X-UIPATH-TenantName", "DefaultTenant"))
				wantStatus(t, r, 200, `"Build.Version"`)
				if r.header.Get("Api-Supported-Versions") != "20.0" {
					t.Errorf("older layout: header %v", r.header)
				}
				// Refusals carry no version header.
				r = e.get(t, base+"/odata/Settings/UiPath.Server.Configuration.OData.GetAuthenticationSettings", nil)
				wantStatus(t, r, 401)
				if strings.TrimSpace(r.header.Get("api-supported-versions")) != "" {
					t.Errorf("a 401 carries api-supported-versions")
				}
			})
		})
	}
}
