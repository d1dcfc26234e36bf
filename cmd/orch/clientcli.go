package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/openorch/openorch/client"
)

const (
	// defaultProfile is the profile of commands that name none.
	defaultProfile = "default"
	// tokenEarlyExpiry: a token closer than this to its expiry is renewed first, so that
	// what `orch token` prints still works when the script uses it.
	tokenEarlyExpiry = 2 * time.Minute
	// httpTimeout bounds each call the client commands make.
	httpTimeout = 60 * time.Second
)

// cli is what the client commands (login, logout, token, api) use of the process: its
// environment and streams, and the way to the person at it (a browser, a terminal).
// Tests build one with their own streams and a fake browser.
type cli struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
	// openBrowser shows a URL to the person; an error means there is no browser here.
	openBrowser func(url string) error
	// isTerminal says whether a person reads w (JSON is then indented).
	isTerminal func(w io.Writer) bool
	httpClient *http.Client
}

func newCLI(getenv func(string) string, stdout, stderr io.Writer) *cli {
	return &cli{getenv: getenv, stdin: os.Stdin, stdout: stdout, stderr: stderr,
		openBrowser: systemBrowser(getenv), isTerminal: isTerminal, httpClient: &http.Client{Timeout: httpTimeout}}
}

// run runs one client command.
func (c *cli) run(ctx context.Context, cmd string, args []string) error {
	// oauth2 makes its token calls with the client in the context.
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.httpClient)
	switch cmd {
	case "login":
		return c.login(ctx, args)
	case "logout":
		return c.logout(ctx, args)
	case "token":
		return c.token(ctx, args)
	case "api":
		return c.api(ctx, args)
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// newFlags is a flag set for a client command; parseFlags prints its help.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args, allowing flags after the positional arguments (orch api PATH
// --folder Shared), and returns the positional ones. --help prints help on stdout and
// returns helped; a bad flag is a usage error that points to --help.
func (c *cli) parseFlags(fs *flag.FlagSet, args []string, help string) (pos []string, helped bool, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(c.stdout, help)
				return nil, true, nil
			}
			return nil, false, usageError{fmt.Sprintf("%s: %v (run `orch %s --help`)", fs.Name(), err, fs.Name())}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, false, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), false, nil // after --, everything is positional
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// configDir is where the credentials live: ORCH_CLI_CONFIG_DIR, or orch in the user's
// configuration directory (~/.config/orch on Linux).
func (c *cli) configDir() (string, error) {
	if d := c.getenv("ORCH_CLI_CONFIG_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no configuration directory for the credentials (%v): set ORCH_CLI_CONFIG_DIR", err)
	}
	return filepath.Join(d, "orch"), nil
}

func (c *cli) store() (credStore, error) {
	d, err := c.configDir()
	return credStore{dir: d}, err
}

// profileName is the profile a command uses: --profile, ORCH_CLI_PROFILE, or "default".
// explicit says whether one was named (which wins over a job's environment).
func (c *cli) profileName(flagValue string) (name string, explicit bool) {
	if flagValue != "" {
		return flagValue, true
	}
	if v := c.getenv("ORCH_CLI_PROFILE"); v != "" {
		return v, true
	}
	return defaultProfile, false
}

// profileFlag is the --profile flag of a command line, for the hints of messages.
func profileFlag(name string) string {
	if name == defaultProfile {
		return ""
	}
	return " --profile " + name
}

// loginHint is the command that signs in to a profile again.
func loginHint(name string, p *profile) string {
	if p == nil {
		return "orch login" + profileFlag(name) + " --url URL --org ORG --tenant TENANT"
	}
	how := ""
	switch p.Method {
	case methodDevice:
		how = " --device"
	case methodClientCredentials:
		how = " --client-id " + p.ClientID + " --client-secret SECRET"
	case methodPAT:
		how = " --pat TOKEN"
	case methodUserKey:
		how = " --user-key KEY"
	}
	return fmt.Sprintf("orch login%s --url %s --org %s --tenant %s%s", profileFlag(name), p.URL, p.Org, p.Tenant, how)
}

// readProfile loads a saved profile; a missing one says how to log in.
func (c *cli) readProfile(name string) (credStore, *profile, error) {
	st, err := c.store()
	if err != nil {
		return st, nil, err
	}
	f, err := st.load()
	if err != nil {
		return st, nil, err
	}
	p := f.Profiles[name]
	if p == nil || p.Token == nil {
		return st, nil, fmt.Errorf("not logged in (no profile %q in %s): run `%s`", name, st.path(), loginHint(name, nil))
	}
	return st, p, nil
}

// profileSource is the token source of a saved profile: the saved access token while it
// is valid, else a new one obtained by oauth2 the profile's way (refresh token, client
// credentials, user key), saved for the next command. It works under the credentials
// lock and rereads the profile each time, so a token another command renewed meanwhile is
// used rather than renewed again.
type profileSource struct {
	ctx   context.Context
	store credStore
	name  string
}

// tokenError is a profile's failure to provide a token, which already says what to do;
// it reaches callers of the API client wrapped in the HTTP client's error.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

func (ps *profileSource) Token() (*oauth2.Token, error) {
	var tok *oauth2.Token
	err := ps.store.update(func(f *credentialsFile) (bool, error) {
		p := f.Profiles[ps.name]
		if p == nil || p.Token == nil {
			return false, fmt.Errorf("not logged in (no profile %q in %s): run `%s`", ps.name, ps.store.path(), loginHint(ps.name, nil))
		}
		t, err := oauth2.ReuseTokenSourceWithExpiry(p.Token, renewer(ps.ctx, p), tokenEarlyExpiry).Token()
		if err != nil {
			return false, renewError(ps.name, p, err)
		}
		tok = t
		if t.AccessToken == p.Token.AccessToken && t.RefreshToken == p.Token.RefreshToken {
			return false, nil
		}
		p.Token = &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken, Expiry: t.Expiry}
		return true, nil
	})
	if err != nil {
		return nil, &tokenError{err}
	}
	return tok, nil
}

// renewer gets a new access token for a profile whose token has expired.
func renewer(ctx context.Context, p *profile) oauth2.TokenSource {
	switch p.Method {
	case methodClientCredentials:
		conf := clientcredentials.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret,
			TokenURL: client.Endpoint(p.URL, p.Org).TokenURL, Scopes: strings.Fields(p.Scope), AuthStyle: oauth2.AuthStyleInParams}
		return conf.TokenSource(ctx)
	case methodUserKey:
		return client.UserKeyTokenSource(ctx, p.URL, p.Token.RefreshToken)
	case methodBrowser, methodDevice:
		conf := oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: client.Endpoint(p.URL, p.Org)}
		return conf.TokenSource(ctx, &oauth2.Token{RefreshToken: p.Token.RefreshToken})
	}
	// A PAT is used as it is; the server says when it has expired.
	return oauth2.StaticTokenSource(p.Token)
}

// renewError says why a profile's token could not be renewed, and what to do.
func renewError(name string, p *profile, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		why := re.ErrorDescription
		if why == "" {
			why = re.ErrorCode
		}
		if why == "" {
			why = fmt.Sprintf("HTTP %d", re.Response.StatusCode)
		}
		return fmt.Errorf("the server refused to renew the token of profile %q: %s; run `%s` to sign in again", name, why, loginHint(name, p))
	}
	if p.Token.RefreshToken == "" && (p.Method == methodBrowser || p.Method == methodDevice) {
		return fmt.Errorf("the token of profile %q has expired and the sign-in gave no refresh token (the offline_access scope): run `%s`", name, loginHint(name, p))
	}
	return fmt.Errorf("renew the token of profile %q: %w", name, err)
}

// jobToken is the token of the job this command runs in (DESIGN §7), unless a profile
// was named: jobs need no login. The robot renews the token in the file
// ORCH_ACCESS_TOKEN_FILE, so the file wins over ORCH_ACCESS_TOKEN (the first token) when it
// can be read.
func (c *cli) jobToken(explicitProfile bool) string {
	if explicitProfile {
		return ""
	}
	if f := c.getenv("ORCH_ACCESS_TOKEN_FILE"); f != "" {
		if b, err := os.ReadFile(f); err == nil {
			if t := strings.TrimSpace(string(b)); t != "" {
				return t
			}
		}
	}
	return c.getenv("ORCH_ACCESS_TOKEN")
}

// jobTokenSource reads the job's token anew for every request: a long `orch api` call
// inside a job uses the token the robot renewed meanwhile.
type jobTokenSource struct{ c *cli }

func (s jobTokenSource) Token() (*oauth2.Token, error) {
	t := s.c.jobToken(false)
	if t == "" {
		return nil, errors.New("the job's token is gone: ORCH_ACCESS_TOKEN_FILE and ORCH_ACCESS_TOKEN are empty")
	}
	return &oauth2.Token{AccessToken: t, TokenType: "Bearer"}, nil
}

// subjectOf names who a token set is for, from its id_token (an email), for messages.
// The id_token comes straight from the token endpoint, so it is read, not verified.
func subjectOf(tok *oauth2.Token) string {
	raw, _ := tok.Extra("id_token").(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Email             string `json:"email"`
		PreferredUsername string `json:"preferred_username"`
		Subject           string `json:"sub"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	for _, s := range []string{c.Email, c.PreferredUsername, c.Subject} {
		if s != "" {
			return s
		}
	}
	return ""
}

// errNoBrowser: nothing here can show a web page.
var errNoBrowser = errors.New("no browser")

// systemBrowser opens URLs with ORCH_CLI_BROWSER or BROWSER when set, else the system's
// opener: open (macOS), the URL handler (Windows), xdg-open on a desktop session.
func systemBrowser(getenv func(string) string) func(string) error {
	return func(u string) error {
		var argv []string
		if b := getenv("ORCH_CLI_BROWSER"); b != "" {
			argv = strings.Fields(b)
		} else if b := getenv("BROWSER"); b != "" {
			argv = strings.Fields(b)
		} else {
			switch runtime.GOOS {
			case "darwin":
				argv = []string{"open"}
			case "windows":
				argv = []string{"rundll32", "url.dll,FileProtocolHandler"}
			default:
				if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
					return errNoBrowser
				}
				argv = []string{"xdg-open"}
			}
		}
		if len(argv) == 0 {
			return errNoBrowser
		}
		cmd := exec.Command(argv[0], append(argv[1:], u)...)
		if err := cmd.Start(); err != nil {
			return err
		}
		go cmd.Wait() // reap it; whether it managed is for the person to see
		return nil
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
