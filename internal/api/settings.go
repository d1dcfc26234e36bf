package api

import (
	"net/http"
	"time"
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
// unattended robots allowed are the slots of the tenant's machines; none are counted as
// used yet.
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
