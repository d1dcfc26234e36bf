package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/openorch/openorch/client"
)

const tokenHelp = `Usage: orch token [--profile P]

Prints a valid access token of the saved profile, renewing it first when it expires
within two minutes (the renewed tokens are saved). Inside a job, where ORCH_URL and
ORCH_ACCESS_TOKEN are set, it prints the job's token and needs no login: the one in the
file ORCH_ACCESS_TOKEN_FILE, which the robot keeps renewed, when it is set.

  --profile P   the profile (default: ORCH_CLI_PROFILE, else "default"); naming one
                inside a job uses it instead of the job's token

Examples:
  curl -H "Authorization: Bearer $(orch token)" \
      http://127.0.0.1:8080/demo/DefaultTenant/orchestrator_/odata/Folders
  orch token --profile bot
`

func (c *cli) token(ctx context.Context, args []string) error {
	fs := newFlags("token")
	var profileArg string
	fs.StringVar(&profileArg, "profile", "", "")
	pos, helped, err := c.parseFlags(fs, args, tokenHelp)
	if err != nil || helped {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("token takes no arguments (got %q): run `orch token --help`", pos[0])}
	}
	name, explicit := c.profileName(profileArg)
	if t := c.jobToken(explicit); t != "" {
		fmt.Fprintln(c.stdout, t)
		return nil
	}
	st, _, err := c.readProfile(name)
	if err != nil {
		return err
	}
	tok, err := (&profileSource{ctx: ctx, store: st, name: name}).Token()
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, tok.AccessToken)
	return nil
}

const logoutHelp = `Usage: orch logout [--profile P]

Revokes the profile's sign-in at the server and removes it from the credentials file.
For a browser or device sign-in the refresh token is revoked, which ends every token of
that sign-in; for an application, its current access token. A personal access token or
a user key is only forgotten here: it stays valid until you revoke it on the server
(the API access page under /{org}/portal_/).

  --profile P   the profile (default: ORCH_CLI_PROFILE, else "default")

Examples:
  orch logout
  orch logout --profile bot
`

func (c *cli) logout(ctx context.Context, args []string) error {
	fs := newFlags("logout")
	var profileArg string
	fs.StringVar(&profileArg, "profile", "", "")
	pos, helped, err := c.parseFlags(fs, args, logoutHelp)
	if err != nil || helped {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("logout takes no arguments (got %q): run `orch logout --help`", pos[0])}
	}
	name, _ := c.profileName(profileArg)
	st, err := c.store()
	if err != nil {
		return err
	}
	var p *profile
	err = st.update(func(f *credentialsFile) (bool, error) {
		p = f.Profiles[name]
		if p == nil {
			return false, nil
		}
		delete(f.Profiles, name)
		return true, nil
	})
	if err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("not logged in as profile %q (%s has no such profile): nothing to log out of", name, st.path())
	}
	revoked, note, rerr := revokeProfile(ctx, p)
	if rerr != nil {
		return fmt.Errorf("profile %q was removed from %s, but revoking its sign-in at %s failed: %v; it ends by itself when it expires",
			name, st.path(), p.URL, rerr)
	}
	fmt.Fprintf(c.stderr, "Logged out of profile %q (%s, organization %s, tenant %s): %s; removed from %s.%s\n",
		name, p.URL, p.Org, p.Tenant, revoked, st.path(), note)
	return nil
}

// revokeProfile revokes what a profile holds, the way it was obtained. revoked says what
// was done, note what is left to the person.
func revokeProfile(ctx context.Context, p *profile) (revoked, note string, err error) {
	t := p.Token
	switch {
	case t == nil:
		return "nothing to revoke", "", nil
	case p.Method == methodPAT:
		return "the personal access token was forgotten",
			" It stays valid until it expires or you revoke it (DELETE /" + p.Org + "/identity_/api/PersonalAccessTokens/{id}, or the API access page).", nil
	case (p.Method == methodBrowser || p.Method == methodDevice) && t.RefreshToken != "":
		err = client.Revoke(ctx, p.URL, p.Org, p.ClientID, p.ClientSecret, t.RefreshToken, "refresh_token")
		return "the sign-in was revoked (refresh and access tokens)", "", err
	case !t.Valid():
		revoked = "its access token had expired"
	default:
		// An application's, or a user key's, current access token.
		err = client.Revoke(ctx, p.URL, p.Org, p.ClientID, p.ClientSecret, t.AccessToken, "access_token")
		revoked = "the access token was revoked"
	}
	if p.Method == methodUserKey {
		note = " The user key itself stays valid until you revoke it (DELETE /" + p.Org + "/identity_/api/UserKeys/{id}, or the API access page)."
	}
	var ce *client.Error
	if errors.As(err, &ce) {
		err = errors.New(ce.Message)
	}
	return revoked, note, err
}
