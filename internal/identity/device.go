package identity

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Device authorization (RFC 8628): a device without a browser shows a short code, and a
// person approves it on the device page of any browser.
const (
	deviceCodeTTL      = 10 * time.Minute
	devicePollInterval = 5 * time.Second
	deviceGrantType    = "urn:ietf:params:oauth:grant-type:device_code"
	// userCodeAlphabet has no vowels (no words) and no look-alike characters.
	userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
)

func (s *Service) mountDevice(m Mux, base string) {
	m.HandleFunc("POST "+base+"/connect/deviceauthorization", s.deviceAuthorization)
	m.HandleFunc("GET "+base+"/device", s.devicePage)
	m.HandleFunc("POST "+base+"/device", s.deviceDecision)
}

// newUserCode makes an 8-letter code shown as XXXX-XXXX (20^8 ≈ 2.6e10 codes).
func newUserCode() string {
	b := make([]byte, 1)
	out := make([]byte, 0, 9)
	for len(out) < 9 {
		if _, err := rand.Read(b[:1]); err != nil {
			panic("identity: no randomness: " + err.Error())
		}
		// Rejection sampling keeps every letter equally likely: 240 is a multiple of 20.
		if b[0] >= 240 {
			continue
		}
		if len(out) == 4 {
			out = append(out, '-')
		}
		out = append(out, userCodeAlphabet[int(b[0])%len(userCodeAlphabet)])
	}
	return string(out)
}

type deviceResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// deviceAuthorization serves POST …/connect/deviceauthorization.
func (s *Service) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	if oe := s.startDevice(w, r); oe != nil {
		writeOAuthError(w, oe)
	}
}

func (s *Service) startDevice(w http.ResponseWriter, r *http.Request) *oauthError {
	if err := r.ParseForm(); err != nil {
		return oauthErr("invalid_request", "the form body could not be read: %s", formError(err))
	}
	iss, _, oe := s.issuer(r)
	if oe != nil {
		return oe
	}
	app, oe := s.userClient(r)
	if oe != nil {
		return oe
	}
	scopes, oe := grantUserScopes(app, r.PostForm.Get("scope"))
	if oe != nil {
		return oe
	}
	device := secret.NewToken("oo_dc_")
	userCode := newUserCode()
	now := s.now()
	err := s.st.DeviceCodeCreate(r.Context(), store.DeviceCode{DeviceHash: secret.HashToken(device), UserCode: userCode,
		ClientID: app.ClientID, Scope: strings.Join(scopes, " "), Issuer: iss, Status: store.DevicePending,
		CreatedAt: now, ExpiresAt: now.Add(deviceCodeTTL)})
	if err != nil {
		return s.internal(r, err)
	}
	writeTokenJSON(w, deviceResponse{DeviceCode: device, UserCode: userCode, VerificationURI: iss + "/device",
		VerificationURIComplete: iss + "/device?user_code=" + url.QueryEscape(userCode),
		ExpiresIn:               int(deviceCodeTTL / time.Second), Interval: int(devicePollInterval / time.Second)})
	return nil
}

// showUserCode writes a stored (normalised) user code as people see it: XXXX-XXXX.
func showUserCode(c string) string {
	if len(c) == 8 {
		return c[:4] + "-" + c[4:]
	}
	return c
}

// findDevice looks a user code up; bad, unknown, expired or settled codes are a message.
func (s *Service) findDevice(r *http.Request, userCode string) (store.DeviceCode, tenancy.App, string) {
	d, err := s.st.DeviceCodeGetByUserCode(r.Context(), userCode)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return d, tenancy.App{}, "There is no pending sign-in with code " + userCode + ". Check the code your device shows."
	case err != nil:
		return d, tenancy.App{}, s.internal(r, err).Description
	case s.now().After(d.ExpiresAt):
		return d, tenancy.App{}, "The code " + userCode + " has expired. Start the sign-in on your device again."
	case d.Status != store.DevicePending:
		return d, tenancy.App{}, "The code " + userCode + " was already used. Start the sign-in on your device again if needed."
	}
	app, err := s.st.AppGetByClientID(r.Context(), d.ClientID)
	if err != nil {
		return d, app, "The application of this sign-in no longer exists."
	}
	return d, app, ""
}

// devicePage serves GET …/device: a form for the code, then sign-in, then a confirmation.
func (s *Service) devicePage(w http.ResponseWriter, r *http.Request) {
	iss, pathOrg, oe := s.issuer(r)
	if oe != nil {
		s.renderMessage(w, r, oe.status, "Device sign-in", oe.Description, "")
		return
	}
	code := strings.TrimSpace(r.URL.Query().Get("user_code"))
	d := pageData{Title: "Device sign-in", Action: iss + "/device", CSRF: s.csrfToken(w, r), UserCode: code}
	if code == "" {
		s.render(w, r, http.StatusOK, "device.html", d)
		return
	}
	dc, app, problem := s.findDevice(r, code)
	if problem != "" {
		d.Error = problem
		s.render(w, r, http.StatusOK, "device.html", d)
		return
	}
	sess, user, ok := s.currentSession(r)
	if !ok || pathOrg != nil && sess.OrgID != pathOrg.ID || app.OrgID != 0 && sess.OrgID != app.OrgID {
		ld := pageData{Title: "Sign in", Action: iss + "/account/login", CSRF: d.CSRF, Device: dc.UserCode,
			ClientName: app.Name, AskOrg: pathOrg == nil && app.OrgID == 0}
		if pathOrg != nil {
			ld.OrgName = pathOrg.DisplayName
		}
		s.render(w, r, http.StatusOK, "login.html", ld)
		return
	}
	org, err := s.st.OrganizationGet(r.Context(), sess.OrgID)
	if err != nil {
		s.renderMessage(w, r, http.StatusInternalServerError, "Device sign-in", s.internal(r, err).Description, "")
		return
	}
	d.Confirm, d.ClientName, d.UserEmail, d.OrgName = true, app.Name, user.Email, org.DisplayName
	d.UserCode, d.Scopes = showUserCode(dc.UserCode), describeScopes(strings.Fields(dc.Scope))
	s.render(w, r, http.StatusOK, "device.html", d)
}

// deviceDecision serves POST …/device: the signed-in person allows or denies the device.
func (s *Service) deviceDecision(w http.ResponseWriter, r *http.Request) {
	if !s.formPost(w, r) {
		return
	}
	iss, pathOrg, oe := s.issuer(r)
	if oe != nil {
		s.renderMessage(w, r, oe.status, "Device sign-in", oe.Description, "")
		return
	}
	sess, user, ok := s.currentSession(r)
	if !ok || pathOrg != nil && sess.OrgID != pathOrg.ID {
		http.Redirect(w, r, iss+"/device?user_code="+url.QueryEscape(r.PostForm.Get("user_code")), http.StatusSeeOther)
		return
	}
	dc, app, problem := s.findDevice(r, r.PostForm.Get("user_code"))
	if problem != "" {
		s.renderMessage(w, r, http.StatusOK, "Device sign-in", problem, "")
		return
	}
	if app.OrgID != 0 && app.OrgID != sess.OrgID {
		s.renderMessage(w, r, http.StatusForbidden, "Device sign-in", "This application belongs to another organization.", "")
		return
	}
	allow := r.PostForm.Get("decision") == "allow"
	_, err := s.st.DeviceCodeUpdate(r.Context(), dc.DeviceHash, func(d store.DeviceCode) (store.DeviceCode, error) {
		if d.Status != store.DevicePending {
			return d, errors.New("the code was settled meanwhile")
		}
		d.Status, d.OrgID, d.UserID = store.DeviceDenied, sess.OrgID, user.ID
		if allow {
			d.Status = store.DeviceApproved
		}
		return d, nil
	})
	if err != nil {
		s.renderMessage(w, r, http.StatusConflict, "Device sign-in", "This code was already used or denied.", "")
		return
	}
	if !allow {
		s.event(r, sess.OrgID, "device.denied", app.ClientID, user.Key, dc.Scope)
		s.renderMessage(w, r, http.StatusOK, "Device sign-in denied", "", "The device was not signed in. You can close this window.")
		return
	}
	s.event(r, sess.OrgID, "device.approved", app.ClientID, user.Key, dc.Scope)
	s.renderMessage(w, r, http.StatusOK, "Device signed in", "", "Your device is signed in as "+user.Email+". You can close this window and return to it.")
}

// deviceCodeGrant serves grant_type=urn:ietf:params:oauth:grant-type:device_code.
func (s *Service) deviceCodeGrant(w http.ResponseWriter, r *http.Request, iss string) *oauthError {
	app, oe := s.userClient(r)
	if oe != nil {
		return oe
	}
	raw := r.PostForm.Get("device_code")
	if raw == "" {
		return oauthErr("invalid_request", "device_code is missing")
	}
	ctx := r.Context()
	now := s.now()
	var before store.DeviceCode
	d, err := s.st.DeviceCodeUpdate(ctx, secret.HashToken(raw), func(d store.DeviceCode) (store.DeviceCode, error) {
		before = d
		if d.ClientID != app.ClientID || d.Issuer != iss {
			return d, nil // a stranger's poll changes nothing, not even the pace
		}
		d.LastPollAt = &now
		if d.Status == store.DeviceApproved && !now.After(d.ExpiresAt) {
			d.Status = store.DeviceUsed
		}
		return d, nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return oauthErr("invalid_grant", "the device_code is not known: it was mistyped, or it is from another server")
	case err != nil:
		return s.internal(r, err)
	case d.ClientID != app.ClientID:
		return oauthErr("invalid_grant", "the device_code was issued to client %s, not %s", d.ClientID, app.ClientID)
	case d.Issuer != iss:
		return oauthErr("invalid_grant", "the device_code was issued by %s; poll there", d.Issuer)
	case now.After(d.ExpiresAt):
		return oauthErr("expired_token", "the device code expired at %s; start again", d.ExpiresAt.UTC().Format(time.RFC3339))
	}
	switch before.Status {
	case store.DevicePending:
		if before.LastPollAt != nil && now.Sub(*before.LastPollAt) < devicePollInterval {
			return oauthErr("slow_down", "polling faster than every %s; wait longer between requests", devicePollInterval)
		}
		return oauthErr("authorization_pending", "nobody has entered the code on the device page yet")
	case store.DeviceDenied:
		return oauthErr("access_denied", "the person at the device page denied the sign-in")
	case store.DeviceUsed:
		return oauthErr("invalid_grant", "the device code was already exchanged for tokens")
	}
	user, err := s.st.UserGet(ctx, d.OrgID, d.UserID)
	if err != nil || user.Disabled {
		return oauthErr("invalid_grant", "the user who approved the device no longer exists or is disabled")
	}
	return s.issueUserTokens(w, r, userGrant{iss: iss, app: app, user: user, scope: d.Scope, family: secret.NewToken("")[:22], authTime: now})
}
