package api

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/store"
)

// licenseExpiry is the ExpireDate of every tenant's license. OpenOrch has no license: the
// date is far in the future (2099-12-31T23:59:59Z) so that no client warns of an expiry.
var licenseExpiry = time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC)

// licenseCounts is the Allowed and Used dictionaries of UiPath's LicenseDto: robots by
// license type.
type licenseCounts struct {
	Unattended     int `json:"Unattended"`
	Attended       int `json:"Attended"`
	NonProduction  int `json:"NonProduction"`
	Development    int `json:"Development"`
	StudioX        int `json:"StudioX"`
	Headless       int `json:"Headless"`
	StudioPro      int `json:"StudioPro"`
	TestAutomation int `json:"TestAutomation"`
}

// licenseDTO is UiPath's LicenseDto (reference/uipath-wire.md §4). Dates are epoch seconds.
type licenseDTO struct {
	ID                    int64         `json:"Id"`
	ExpireDate            int64         `json:"ExpireDate"`
	GracePeriodEndDate    *int64        `json:"GracePeriodEndDate"`
	GracePeriod           *int64        `json:"GracePeriod"`
	Allowed               licenseCounts `json:"Allowed"`
	Used                  licenseCounts `json:"Used"`
	AttendedConcurrent    bool          `json:"AttendedConcurrent"`
	DevelopmentConcurrent bool          `json:"DevelopmentConcurrent"`
	StudioXConcurrent     bool          `json:"StudioXConcurrent"`
	LicensedFeatures      []string      `json:"LicensedFeatures"`
	IsRegistered          bool          `json:"IsRegistered"`
	IsCommunity           bool          `json:"IsCommunity"`
	IsProOrEnterprise     bool          `json:"IsProOrEnterprise"`
	SubscriptionPlan      string        `json:"SubscriptionPlan"`
	IsExpired             bool          `json:"IsExpired"`
	CreationTime          int64         `json:"CreationTime"`
	Code                  string        `json:"Code"`
}

// getLicense serves GET /odata/Settings/…GetLicense. Clients use it as a token probe. The
// unattended robots allowed are the slots of the tenant's machines; those used are the
// slots of its robots that are connected and answering.
func getLicense(a *API, c *call) *apiError {
	ms, err := a.st.MachineList(c.ctx(), c.tenant.ID)
	if err != nil {
		return internalError(c.r, err)
	}
	d := licenseDTO{ID: c.tenant.ID, ExpireDate: licenseExpiry.Unix(), LicensedFeatures: []string{},
		IsRegistered: true, IsProOrEnterprise: true, SubscriptionPlan: "OpenOrch", CreationTime: c.tenant.CreatedAt.Unix(),
		Code: "OPENORCH"}
	for _, m := range ms {
		d.Allowed.Unattended += m.Slots
	}
	st, err := a.st.RobotStats(c.ctx(), c.tenant.ID, a.now().Add(-a.robots.unresponsiveAfter))
	if err != nil {
		return internalError(c.r, err)
	}
	d.Used.Unattended = st.Slots
	writeJSON(c.w, http.StatusOK, withContext(c.base+"/odata/$metadata#UiPath.Application.Dto.License.LicenseDto", d))
	return nil
}

// apiSupportedVersions is the api-supported-versions header of GetAuthenticationSettings:
// the UiPath PowerShell module parses it as a version and picks its protocol from it
// (20.0: folders, as Orchestrator 19.10 and later).
const apiSupportedVersions = "20.0"

// getAuthenticationSettings serves GET /odata/Settings/…GetAuthenticationSettings: a
// dictionary as parallel Keys and Values lists, with Build.Version (read by the
// PowerShell module), and the api-supported-versions header.
func getAuthenticationSettings(a *API, c *call) *apiError {
	version := a.version
	if version == "" {
		version = "dev"
	}
	settings := [][2]string{
		{"Build.Version", version},
		{"Auth.Windows.Enabled", "false"},
	}
	body := struct {
		Keys   []string `json:"Keys"`
		Values []string `json:"Values"`
	}{Keys: []string{}, Values: []string{}}
	for _, kv := range settings {
		body.Keys = append(body.Keys, kv[0])
		body.Values = append(body.Values, kv[1])
	}
	c.w.Header().Set("api-supported-versions", apiSupportedVersions)
	writeJSON(c.w, http.StatusOK, withContext(c.base+"/odata/$metadata#UiPath.Application.Dto.ResponseDictionaryDto", body))
	return nil
}

// settingDef is a tenant setting the API knows: its name, default and check.
type settingDef struct {
	Name, Default, Summary string
	// check returns a message saying what is wrong with v ("" when it is fine).
	check func(v string) string
}

// perMinute checks a calls-a-minute budget: 0 (off) to 1,000,000.
func perMinute(v string) string {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n > 1_000_000 {
		return "must be a whole number of calls a minute from 0 (no limit) to 1000000"
	}
	return ""
}

// settingDefs lists the tenant settings. Rate limits are described in ratelimit.go.
var settingDefs = []settingDef{
	{Name: settingTenantRPM, Default: "0", check: perMinute,
		Summary: "API calls a minute for the whole tenant, on each server node; 0: no limit."},
	{Name: settingClientRPM, Default: "0", check: perMinute,
		Summary: "API calls a minute for each caller (an application, a machine, or a user through one client), on each server node; 0: no limit. " +
			settingClientRPMFor + "<client id> overrides it for one client."},
}

// settingDTO is UiPath's SettingsDto.
type settingDTO struct {
	ID    string `json:"Id"`
	Name  string `json:"Name"`
	Value string `json:"Value"`
	Scope string `json:"Scope"`
}

// tenantSettings returns every setting of the tenant with its value: the known ones (with
// defaults) and the per-client overrides stored.
func (a *API) tenantSettings(c *call) ([]settingDTO, error) {
	vals, err := a.st.SettingList(c.ctx(), c.tenant.ID)
	if err != nil {
		return nil, err
	}
	var out []settingDTO
	for _, d := range settingDefs {
		v, ok := vals[d.Name]
		if !ok {
			v = d.Default
		}
		out = append(out, settingDTO{ID: d.Name, Name: d.Name, Value: v, Scope: "Tenant"})
	}
	var extra []settingDTO
	for name, v := range vals {
		if strings.HasPrefix(name, settingClientRPMFor) {
			extra = append(extra, settingDTO{ID: name, Name: name, Value: v, Scope: "Tenant"})
		}
	}
	slices.SortFunc(extra, func(x, y settingDTO) int { return strings.Compare(x.Name, y.Name) })
	return append(out, extra...), nil
}

// listSettings serves GET /odata/Settings. The list is short, so $filter, $orderby and
// paging are not offered: GET Settings('Name') reads one.
func listSettings(a *API, c *call) *apiError {
	for _, opt := range []string{"$filter", "$orderby", "$top", "$skip", "$expand", "$select", "$count"} {
		if c.r.URL.Query().Has(opt) || c.r.URL.Query().Has("%24"+opt[1:]) {
			return invalid("%s is not supported on Settings: the list holds every setting of the tenant; read one with GET Settings('Name')", opt)
		}
	}
	out, err := a.tenantSettings(c)
	if err != nil {
		return internalError(c.r, err)
	}
	return writeList(a, c, "Settings", out, -1)
}

// getSetting serves GET /odata/Settings('Name').
func getSetting(a *API, c *call) *apiError {
	out, err := a.tenantSettings(c)
	if err != nil {
		return internalError(c.r, err)
	}
	name := settingKey(c)
	for _, s := range out {
		if strings.EqualFold(s.Name, name) {
			return writeEntity(a, c, "Settings", s)
		}
	}
	return notFound("there is no setting %q; the settings are %s", name, strings.Join(settingNames(), ", "))
}

// settingKey is the key of Settings('Name'), without its quotes.
func settingKey(c *call) string {
	k := c.path.Key
	if len(k) >= 2 && k[0] == '\'' && k[len(k)-1] == '\'' {
		k = strings.ReplaceAll(k[1:len(k)-1], "''", "'")
	}
	return k
}

func settingNames() []string {
	names := make([]string, 0, len(settingDefs)+1)
	for _, d := range settingDefs {
		names = append(names, d.Name)
	}
	return append(names, settingClientRPMFor+"<client id>")
}

type settingInput struct {
	Name  string  `json:"Name"`
	Value *string `json:"Value"`
}

// putSetting serves PUT /odata/Settings('Name') with {"Value": "…"}.
func putSetting(a *API, c *call) *apiError {
	var in settingInput
	if e := bind(c, &in); e != nil {
		return e
	}
	in.Name = settingKey(c)
	return a.updateSettings(c, []settingInput{in}, "")
}

// updateBulkSettings serves POST /odata/Settings/…UpdateBulk with
// {"settings":[{"Name":"…","Value":"…"}]}: all of them change, or none.
func updateBulkSettings(a *API, c *call) *apiError {
	var in struct {
		Settings []settingInput `json:"settings"`
	}
	if e := bind(c, &in); e != nil {
		return e
	}
	if len(in.Settings) == 0 {
		return invalid("settings is empty: send {\"settings\":[{\"Name\":\"…\",\"Value\":\"…\"}]}")
	}
	return a.updateSettings(c, in.Settings, "settings")
}

// updateSettings checks every value, stores them in one transaction with an audit entry,
// and answers 200 with nothing else to say (as UiPath does).
func (a *API) updateSettings(c *call, in []settingInput, field string) *apiError {
	values := map[string]string{}
	for i, s := range in {
		at := "Value"
		if field != "" {
			at = fmt.Sprintf("%s[%d]", field, i)
		}
		name, e := a.canonicalSetting(c, s.Name, at)
		if e != nil {
			return e
		}
		if s.Value == nil {
			return invalid("%s: Value is missing for %s", at, name)
		}
		v := strings.TrimSpace(*s.Value)
		if msg := settingDefFor(name).check(v); msg != "" {
			return invalid("%s: %s %s (got %q)", at, name, msg, *s.Value)
		}
		values[name] = v
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		if err := tx.SettingSet(c.ctx(), c.tenant.ID, values); err != nil {
			return store.AuditEntry{}, err
		}
		var parts []string
		for _, name := range slices.Sorted(maps.Keys(values)) {
			parts = append(parts, name+"="+values[name])
		}
		return store.AuditEntry{Component: "Settings", Action: "Update", EntityName: "Settings",
			Details: strings.Join(parts, ", ")}, nil
	})
	if err != nil {
		return storeError(c, err)
	}
	a.limits.forget(c.tenant.ID)
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// canonicalSetting finds a setting by name in any case; a per-client override must name a
// client of the organization.
func (a *API) canonicalSetting(c *call, name, at string) (string, *apiError) {
	for _, d := range settingDefs {
		if strings.EqualFold(d.Name, name) {
			return d.Name, nil
		}
	}
	if len(name) > len(settingClientRPMFor) && strings.EqualFold(name[:len(settingClientRPMFor)], settingClientRPMFor) {
		id := name[len(settingClientRPMFor):]
		app, err := a.st.AppGetByClientID(c.ctx(), id)
		if err == nil && (app.OrgID == c.org.ID || app.OrgID == 0) {
			return settingClientRPMFor + app.ClientID, nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", internalError(c.r, err)
		}
		m, err := a.st.MachineGetByClientID(c.ctx(), id)
		if err == nil && m.TenantID == c.tenant.ID {
			return settingClientRPMFor + m.ClientID, nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", internalError(c.r, err)
		}
		return "", invalid("%s: %s names client id %q, which is no application of organization %s nor machine of tenant %s",
			at, name, id, c.org.Name, c.tenant.Name)
	}
	return "", invalid("%s: there is no setting %q; the settings are %s", at, name, strings.Join(settingNames(), ", "))
}

func settingDefFor(name string) settingDef {
	for _, d := range settingDefs {
		if d.Name == name {
			return d
		}
	}
	// A per-client override is checked like the per-client budget.
	return settingDefFor(settingClientRPM)
}

// settingsSummary describes the settings for the OpenAPI document.
func settingsSummary() string {
	var parts []string
	for _, d := range settingDefs {
		parts = append(parts, d.Name+" (default "+d.Default+"): "+d.Summary)
	}
	return strings.Join(parts, " ")
}
