package identity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// The seed-era (Auth0-style) sign-in at the root of the origin (DESIGN §3), which the
// scripts of that era call with only the host changed:
//
//	GET  /authorize                          the sign-in, on the identity service's login page (PKCE)
//	POST /authorize                          the login and consent forms of that sign-in
//	GET  /mobile                             the page the built-in clients' sign-in ends on: it shows the code
//	POST /oauth/token                        authorization_code and refresh_token (a refresh token or a user
//	                                         key), with a JSON or a form body
//	GET  /userinfo                           the user of an access token
//	GET  /.well-known/jwks.json              the signing keys
//	GET  /.well-known/openid-configuration   discovery of all of the above
//
// Their issuer is {public}/. Their access tokens live 24 hours; their refresh tokens and
// user keys neither rotate nor expire until revoked (DESIGN §4).

const (
	// seedAccessTTL is the life of access tokens and id_tokens from /oauth/token.
	seedAccessTTL = 24 * time.Hour
	// userKeyClientID is the built-in client of "API access", which user keys are sent with.
	userKeyClientID = "8DEv1AMNXczW3y4U15LL3jYf62jK93n5"
)

// seedClientIDs are the built-in clients of the seed era; they accept {public}/mobile as a
// redirect URI, besides any loopback one, and exchange user keys.
var seedClientIDs = []string{"5v7PmPJL6FOGu6RB8I1Y4adLBhIwovQN", userKeyClientID, "qccWcbcRgHGP0Nivlm7T9B7lven0AnTW"}

func isSeedClient(app tenancy.App) bool {
	return app.FirstParty && slices.Contains(seedClientIDs, app.ClientID)
}

// seedIssuer is the issuer of what the seed-era endpoints hand out.
func (s *Service) seedIssuer() string { return s.public + "/" }

// mobileURL is the page that shows the code of a seed-era sign-in.
func (s *Service) mobileURL() string { return s.public + "/mobile" }

// seedEndpoint is the seed-era authorize endpoint: its forms post back to /authorize, and
// no device signs in there.
func (s *Service) seedEndpoint() authEndpoint {
	a := s.public + "/authorize"
	return authEndpoint{iss: s.seedIssuer(), authorize: a, login: a, consent: a}
}

func (s *Service) mountSeed(m Mux) {
	m.HandleFunc("GET /authorize", s.seedAuthorize)
	m.HandleFunc("POST /authorize", s.seedAuthorizeForm)
	m.HandleFunc("GET /mobile", s.mobile)
	m.HandleFunc("POST /oauth/token", s.seedToken)
	m.HandleFunc("OPTIONS /oauth/token", s.tokenPreflight)
	m.HandleFunc("GET /userinfo", s.userinfo)
	m.HandleFunc("POST /userinfo", s.userinfo)
	m.HandleFunc("OPTIONS /userinfo", s.tokenPreflight)
	m.HandleFunc("GET /.well-known/jwks.json", s.jwks)
	m.HandleFunc("GET /.well-known/openid-configuration", s.seedDiscovery)
}

// seedAuthorize serves GET /authorize with the machinery of /connect/authorize.
func (s *Service) seedAuthorize(w http.ResponseWriter, r *http.Request) {
	s.startAuthorize(w, r, s.seedEndpoint())
}

// seedAuthorizeForm serves POST /authorize: the consent form (it has a decision) or the
// login form of a seed-era sign-in.
func (s *Service) seedAuthorizeForm(w http.ResponseWriter, r *http.Request) {
	if !s.formPost(w, r) {
		return
	}
	if r.PostForm.Has("decision") {
		s.consentAt(w, r, s.seedEndpoint())
		return
	}
	s.loginAt(w, r, s.seedEndpoint())
}

// authCodeShape is what the codes of this server look like; /mobile shows nothing else, so
// that a crafted link cannot make the page say something of its choosing.
var authCodeShape = regexp.MustCompile(`^oo_ac_[A-Za-z0-9_-]{20,100}$`)

// mobile serves GET /mobile: the code a seed-era sign-in ended with, to copy by hand (or
// the error it ended with).
func (s *Service) mobile(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch code := q.Get("code"); {
	case q.Get("error") != "":
		s.renderMessage(w, r, http.StatusOK, "Sign-in not completed", q.Get("error")+": "+q.Get("error_description"),
			"Fix what the message says and open the sign-in link again.")
	case authCodeShape.MatchString(code):
		s.render(w, r, http.StatusOK, "mobile.html", pageData{Title: "OK", Code: code, State: q.Get("state"),
			TokenURL: s.public + "/oauth/token", ScriptNonce: secret.NewToken("")[:22]})
	default:
		s.renderMessage(w, r, http.StatusOK, "No code here",
			"This page shows the authorization code a sign-in at "+s.public+"/authorize ends with, and this address carries none.",
			"Open the sign-in link again.")
	}
}

// seedDiscovery serves GET /.well-known/openid-configuration for the issuer {public}/.
func (s *Service) seedDiscovery(w http.ResponseWriter, r *http.Request) {
	doc := map[string]any{
		"issuer":                                s.seedIssuer(),
		"authorization_endpoint":                s.public + "/authorize",
		"token_endpoint":                        s.public + "/oauth/token",
		"userinfo_endpoint":                     s.public + "/userinfo",
		"jwks_uri":                              s.public + "/.well-known/jwks.json",
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"token_endpoint_auth_methods_supported": []string{"none", "client_secret_post", "client_secret_basic"},
		"code_challenge_methods_supported":      []string{"S256"},
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{s.keys.Alg()},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access", scopeUserAccess},
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sub_type", "client_id", "prt_id", "scope",
			"auth_time", "nonce", "email", "name", "preferred_username"},
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	json.NewEncoder(w).Encode(doc)
}

// seedToken serves POST /oauth/token.
func (s *Service) seedToken(w http.ResponseWriter, r *http.Request) {
	allowLoopbackCORS(w, r)
	if oe := s.seedTokenGrant(w, r); oe != nil {
		writeOAuthError(w, oe)
	}
}

func (s *Service) seedTokenGrant(w http.ResponseWriter, r *http.Request) *oauthError {
	if oe := readTokenBody(r); oe != nil {
		return oe
	}
	ep := tokenEndpoint{iss: s.seedIssuer(), seedEra: true}
	switch grant := r.PostForm.Get("grant_type"); grant {
	case "authorization_code":
		return s.authorizationCode(w, r, ep)
	case "refresh_token":
		return s.refreshToken(w, r, ep)
	case "":
		return oauthErr("invalid_request", "grant_type is missing: use authorization_code, or refresh_token with a refresh token or a user key")
	default:
		return oauthErr("unsupported_grant_type", "grant_type %q is not served at /oauth/token, which takes authorization_code and refresh_token; client_credentials and the device flow are at %s/identity_/connect/token",
			grant, s.public)
	}
}

// readTokenBody reads the fields of a /oauth/token request into r.PostForm: a JSON object
// whose values are strings, as the seed-era clients send, or a form. A body without a
// Content-Type (or sent as text/plain, as some HTTP tools do) is read as JSON when it
// looks like JSON.
func readTokenBody(r *http.Request) *oauthError {
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	body, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		oe := oauthErr("invalid_request", "the body is larger than the limit of %d bytes", mbe.Limit)
		oe.status = http.StatusRequestEntityTooLarge
		return oe
	case err != nil:
		return oauthErr("invalid_request", "the body could not be read: %s", err)
	}
	trimmed := bytes.TrimSpace(body)
	isJSON := mt == "application/json" || strings.HasSuffix(mt, "+json")
	switch {
	case len(trimmed) == 0 && r.URL.Query().Get("grant_type") != "":
		return oauthErr("invalid_request", "the fields are in the URL's query string; send them in the body instead, as a JSON object (Content-Type: application/json) or a form")
	case len(trimmed) == 0:
		return oauthErr("invalid_request", `the body is empty: send the fields as a JSON object (Content-Type: application/json), e.g. {"grant_type":"refresh_token","client_id":"…","refresh_token":"…"}, or as a form`)
	case isJSON || (mt == "" || mt == "text/plain") && trimmed[0] == '{':
		fields, oe := jsonFields(body)
		if oe != nil {
			return oe
		}
		r.PostForm, r.Form = fields, fields
		return nil
	case mt == "application/x-www-form-urlencoded":
		fields, err := url.ParseQuery(string(body))
		if err != nil {
			return oauthErr("invalid_request", "the form body is not valid application/x-www-form-urlencoded (%s)", err)
		}
		r.PostForm, r.Form = fields, fields
		return nil
	}
	return oauthErr("invalid_request", "/oauth/token takes a JSON body (Content-Type: application/json) or a form body (Content-Type: application/x-www-form-urlencoded), got Content-Type %q", ct)
}

// jsonFields reads a JSON object of strings; null means absent. Errors say where the JSON
// goes wrong.
func jsonFields(body []byte) (url.Values, *oauthError) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, jsonSyntaxError(body, se)
		}
		return nil, oauthErr("invalid_request", "the JSON body could not be read: %s", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, oauthErr("invalid_request", `the JSON body must be an object such as {"grant_type":"refresh_token",…}, not %s`, jsonKind(v))
	}
	fields := url.Values{}
	for k, val := range obj {
		switch x := val.(type) {
		case string:
			fields.Set(k, x)
		case nil:
		default:
			return nil, oauthErr("invalid_request", "field %q of the JSON body must be a string, not %s", k, jsonKind(val))
		}
	}
	return fields, nil
}

// jsonSyntaxError says where a JSON body goes wrong, as a line and a column, and what the
// usual cause is when it is a recognisable one.
func jsonSyntaxError(body []byte, se *json.SyntaxError) *oauthError {
	msg := se.Error()
	pos := int(se.Offset) - 1 // the offending byte
	if msg == "unexpected end of JSON input" || pos >= len(body) {
		pos = len(body)
	}
	pos = max(pos, 0)
	line := bytes.Count(body[:pos], []byte("\n")) + 1
	col := utf8.RuneCount(body[bytes.LastIndexByte(body[:pos], '\n')+1:pos]) + 1
	if pos < len(body) && body[pos] >= utf8.RuneSelf {
		// The decoder names the first byte of a multi-byte character; name the character.
		if r, _ := utf8.DecodeRune(body[pos:]); r != utf8.RuneError {
			msg = strings.Replace(msg, "'"+string(rune(body[pos]))+"'", "'"+string(r)+"'", 1)
		}
	}
	hint := ""
	switch rest := body[pos:]; {
	case pos == len(body):
		hint = "the body ends before the JSON is complete (a closing } or \" is missing)"
	case bytes.HasPrefix(rest, []byte("“")) || bytes.HasPrefix(rest, []byte("”")):
		hint = "typographic quotes (“ ”) are not JSON; use straight double quotes (\")"
	case rest[0] == '\'':
		hint = "JSON strings take double quotes (\"), not single quotes"
	case (rest[0] == '}' || rest[0] == ']') && strings.Contains(msg, "object key"):
		hint = "is there a comma after the last field?"
	case strings.Contains(msg, "looking for beginning of value"):
		hint = "a value is missing there (write \"\" for an empty one)"
	case strings.Contains(msg, "after top-level value"):
		hint = "send one JSON object and nothing after it"
	}
	if hint != "" {
		hint = ": " + hint
	}
	return oauthErr("invalid_request", "the body is not valid JSON at line %d, column %d (%s)%s", line, col, msg, hint)
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "true or false"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// userKeyFamilyPrefix starts the token family of a user key: revoking the key revokes the
// family, which denies the access tokens obtained with it on every node.
const userKeyFamilyPrefix = "userkey:"

func userKeyFamily(key string) string { return userKeyFamilyPrefix + key }

// userKeyScopes are what a user key grants: the user's own access to the API.
var userKeyScopes = []string{"openid", "profile", "email", "offline_access", scopeUserAccess}

// userKeyGrant exchanges a user key, sent as the refresh_token of /oauth/token, for a
// 24-hour access token and an id_token. The key stays as it is: it works again and again
// until it is revoked or its user is disabled.
func (s *Service) userKeyGrant(w http.ResponseWriter, r *http.Request, app tenancy.App, raw string) *oauthError {
	ctx := r.Context()
	if !isSeedClient(app) {
		return oauthErr("unauthorized_client", "user keys are exchanged with client_id %s (the client of API access), not %s",
			userKeyClientID, app.ClientID)
	}
	k, err := s.st.UserKeyGetByHash(ctx, secret.HashToken(raw))
	if errors.Is(err, store.ErrNotFound) {
		s.failed(app.ClientID, server.ClientIP(r))
		return oauthErr("invalid_grant", "the user key is not known: it was mistyped or cut short, it is from another server, or its user was deleted; copy it again or create a new one")
	}
	if err != nil {
		return s.internal(r, err)
	}
	user, err := s.st.UserGet(ctx, k.OrgID, k.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return oauthErr("invalid_grant", "the user of this user key no longer exists")
	}
	if err != nil {
		return s.internal(r, err)
	}
	refuse := func(format string, args ...any) *oauthError {
		oe := oauthErr("invalid_grant", format, args...)
		s.event(r, k.OrgID, "userkey.refused", app.ClientID, user.Key, fmt.Sprintf("user key %q (id %d): %s", k.Name, k.ID, oe.Description))
		return oe
	}
	if k.RevokedAt != nil {
		return refuse("the user key %q was revoked at %s; create a new one (POST %s/{organization}/identity_/api/UserKeys)",
			k.Name, k.RevokedAt.UTC().Format(time.RFC3339), s.public)
	}
	if user.Disabled {
		return refuse("the user key %q belongs to %s, who is disabled; an organization administrator must enable the user again", k.Name, user.Email)
	}
	scope := strings.Join(userKeyScopes, " ")
	if asked := strings.Fields(r.PostForm.Get("scope")); len(asked) > 0 {
		for _, sc := range asked {
			if !slices.Contains(userKeyScopes, sc) {
				return oauthErr("invalid_scope", "scope %s is not available with a user key (available: %s)", sc, scope)
			}
		}
		scope = strings.Join(asked, " ")
	}
	now := s.now()
	if err := s.st.UserKeyTouch(ctx, k.ID, now); err != nil {
		server.Logger(ctx).Warn("identity: could not record the use of a user key", "user_key", k.Key, "err", err)
	}
	return s.issueUserTokens(w, r, userGrant{iss: s.seedIssuer(), app: app, user: user, scope: scope,
		family: userKeyFamily(k.Key), keepRefresh: true})
}
