package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// Built-in public clients that exist in every installation.
const (
	// CLIClientID is the client of orch login: loopback redirects, the device flow.
	CLIClientID = "orch-cli"
	// UserKeyClientID is the seed-era client that exchanges user keys at /oauth/token.
	UserKeyClientID = "8DEv1AMNXczW3y4U15LL3jYf62jK93n5"
)

// IdentityBase is the address of an organization's identity service on the server at
// serverURL: {serverURL}/{org}/identity_, or {serverURL}/identity_ when org is empty.
func IdentityBase(serverURL, org string) string {
	base := strings.TrimRight(serverURL, "/")
	if org != "" {
		base += "/" + url.PathEscape(org)
	}
	return base + "/identity_"
}

// Endpoint is the OAuth 2.0 endpoint of an organization's identity service: authorize,
// token and device authorization. Client credentials go in the form body, which every
// client of the identity service may use.
func Endpoint(serverURL, org string) oauth2.Endpoint {
	id := IdentityBase(serverURL, org)
	return oauth2.Endpoint{
		AuthURL:       id + "/connect/authorize",
		TokenURL:      id + "/connect/token",
		DeviceAuthURL: id + "/connect/deviceauthorization",
		AuthStyle:     oauth2.AuthStyleInParams,
	}
}

// UserKeyTokenSource exchanges a user key (the "API access" key of the seed era) for
// 24-hour access tokens at {serverURL}/oauth/token, as often as needed: oauth2 treats the
// key as a refresh token that never changes.
func UserKeyTokenSource(ctx context.Context, serverURL, userKey string) oauth2.TokenSource {
	conf := oauth2.Config{ClientID: UserKeyClientID, Endpoint: oauth2.Endpoint{
		TokenURL: strings.TrimRight(serverURL, "/") + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	return conf.TokenSource(ctx, &oauth2.Token{RefreshToken: userKey})
}

// Revoke revokes a token at the organization's revocation endpoint (RFC 7009) as the
// client it was issued to (clientSecret empty for public clients). hint is
// "refresh_token", "access_token" or "". Revoking a refresh token revokes every token of
// its grant. The HTTP client is the one in ctx under oauth2.HTTPClient, as for oauth2.
func Revoke(ctx context.Context, serverURL, org, clientID, clientSecret, token, hint string) error {
	form := url.Values{"client_id": {clientID}, "token": {token}}
	if clientSecret != "" {
		form.Set("client_secret", clientSecret)
	}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, IdentityBase(serverURL, org)+"/connect/revocation",
		strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc, _ := ctx.Value(oauth2.HTTPClient).(*http.Client)
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return parseError(req, resp)
	}
	return nil
}
