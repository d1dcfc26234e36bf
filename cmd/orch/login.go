package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/openorch/openorch/client"
)

const loginHelp = `Usage: orch login [--profile P] --url URL --org ORG --tenant TENANT [how]

Signs in to a tenant and saves the credentials as a profile, for orch token, orch api and
the other client commands. By default it signs you in with your browser (authorization
code with PKCE, answered on a loopback address of this machine). Without a browser here,
open the printed address on any other machine and paste back the address its browser
ends on, or use --device.

Where:
  --url URL             the server's address (or ORCH_CLI_URL)
  --org ORG             the organization: the first segment of its URLs (or ORCH_CLI_ORG)
  --tenant TENANT       the tenant (or ORCH_CLI_TENANT)
  --profile P           save as profile P (default: ORCH_CLI_PROFILE, else "default")

How (one of; default: the browser):
  --device              sign in on any other device with a code (device flow)
  --client-id ID --client-secret SECRET
                        an external application (client credentials); the secret may
                        come from ORCH_CLI_CLIENT_SECRET instead, or "-" reads it from stdin
  --pat TOKEN           a personal access token ("-" reads it from stdin)
  --user-key KEY        a user key of "API access" ("-" reads it from stdin)
  --client-id ID        with the browser or --device: sign in through this app instead
                        of the built-in orch-cli
  --scope "S1 S2"       the scopes to ask for (default: all the account allows)
  --no-browser          print the sign-in address instead of opening a browser

Credentials are kept in ORCH_CLI_CONFIG_DIR, else orch/credentials.json in your
configuration directory, readable by you only.

Examples:
  orch login --url http://127.0.0.1:8080 --org demo --tenant DefaultTenant
  orch login --device --url https://orch.example.com --org acme --tenant DefaultTenant
  ORCH_CLI_CLIENT_SECRET=... orch login --profile bot --client-id invoice-bot \
      --url https://orch.example.com --org acme --tenant DefaultTenant
  orch login --pat - --url https://orch.example.com --org acme --tenant DefaultTenant < pat.txt
`

// loginTimeout is how long a browser or device sign-in may take.
const loginTimeout = 10 * time.Minute

// userScopes are asked for in the browser and device flows: who signed in, and a refresh
// token. The built-in client's tokens carry every OR scope (roles still apply).
const userScopes = "openid profile email offline_access"

// loginOptions is a login's command line.
type loginOptions struct {
	profile, url, org, tenant, clientID, clientSecret, pat, userKey, scope string
	device, noBrowser                                                      bool
}

func (c *cli) login(ctx context.Context, args []string) error {
	o, helped, err := c.loginOptions(args)
	if err != nil || helped {
		return err
	}
	name, _ := c.profileName(o.profile)
	p := &profile{URL: o.url, Org: o.org, Tenant: o.tenant, ClientID: o.clientID, ClientSecret: o.clientSecret}
	tok, err := c.signIn(ctx, o, p)
	if err != nil {
		return loginError(err, p.URL)
	}
	if p.Subject == "" && p.Method != methodPAT {
		p.Subject = subjectOf(tok)
	}
	if err := c.checkToken(ctx, p, tok); err != nil {
		return err
	}
	p.Token = &oauth2.Token{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry}
	st, err := c.store()
	if err != nil {
		return err
	}
	var replaced *profile
	err = st.update(func(f *credentialsFile) (bool, error) {
		replaced = f.Profiles[name]
		f.Profiles[name] = p
		return true, nil
	})
	if err != nil {
		return err
	}
	if replaced != nil && replaced.Token != nil && replaced.Token.RefreshToken != "" && replaced.Token.RefreshToken != p.Token.RefreshToken {
		// The sign-in this one replaces is kept nowhere now: end it rather than leave it
		// valid on the server. Failing to is no reason to fail the login.
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		revokeProfile(rctx, replaced)
		cancel()
	}
	who := ""
	switch {
	case p.Method == methodPAT:
		who = " with a personal access token"
	case p.Subject != "":
		who = " as " + p.Subject
	}
	fmt.Fprintf(c.stderr, "Logged in to %s%s (organization %s, tenant %s); saved as profile %q in %s.\nNext: orch api%s /odata/Folders\n",
		p.URL, who, p.Org, p.Tenant, name, st.path(), profileFlag(name))
	return nil
}

// loginOptions reads and checks a login's command line; secrets given as "-" are read
// from stdin.
func (c *cli) loginOptions(args []string) (o loginOptions, helped bool, err error) {
	fs := newFlags("login")
	fs.StringVar(&o.profile, "profile", "", "")
	fs.StringVar(&o.url, "url", c.getenv("ORCH_CLI_URL"), "")
	fs.StringVar(&o.org, "org", c.getenv("ORCH_CLI_ORG"), "")
	fs.StringVar(&o.tenant, "tenant", c.getenv("ORCH_CLI_TENANT"), "")
	fs.StringVar(&o.clientID, "client-id", "", "")
	fs.StringVar(&o.clientSecret, "client-secret", "", "")
	fs.StringVar(&o.pat, "pat", "", "")
	fs.StringVar(&o.userKey, "user-key", "", "")
	fs.StringVar(&o.scope, "scope", "", "")
	fs.BoolVar(&o.device, "device", false, "")
	fs.BoolVar(&o.noBrowser, "no-browser", false, "")
	pos, helped, err := c.parseFlags(fs, args, loginHelp)
	if err != nil || helped {
		return o, helped, err
	}
	if len(pos) > 0 {
		return o, false, usageError{fmt.Sprintf("login takes no arguments (got %q): run `orch login --help`", pos[0])}
	}
	name, _ := c.profileName(o.profile)
	hint := "orch login" + profileFlag(name) + " --url URL --org ORG --tenant TENANT"
	switch {
	case o.url == "":
		return o, false, usageError{"login: --url is missing: run `" + hint + "` (the server's address, e.g. http://127.0.0.1:8080)"}
	case o.org == "":
		return o, false, usageError{"login: --org is missing: run `" + hint + "` (the organization: the first segment of its URLs)"}
	case o.tenant == "":
		return o, false, usageError{"login: --tenant is missing: run `" + hint + "` (e.g. DefaultTenant)"}
	}
	if o.url, err = serverAddress(o.url); err != nil {
		return o, false, err
	}
	if o.clientSecret == "" && o.clientID != "" {
		o.clientSecret = c.getenv("ORCH_CLI_CLIENT_SECRET")
	}
	ways := 0
	for _, set := range []bool{o.device, o.pat != "", o.userKey != "", o.clientSecret != "" && !o.device} {
		if set {
			ways++
		}
	}
	switch {
	case ways > 1:
		return o, false, usageError{"login: choose one way to sign in: the browser (default), --device, --client-id with --client-secret, --pat or --user-key"}
	case o.clientSecret != "" && o.clientID == "":
		return o, false, usageError{"login: --client-secret needs --client-id: run `orch login --client-id ID --client-secret SECRET …`"}
	case (o.pat != "" || o.userKey != "") && (o.clientID != "" || o.scope != ""):
		return o, false, usageError{"login: --pat and --user-key take no --client-id or --scope: the token or key carries its own"}
	}
	for _, secret := range []*string{&o.clientSecret, &o.pat, &o.userKey} {
		if *secret == "-" {
			if *secret, err = readSecretLine(c.stdin); err != nil {
				return o, false, err
			}
		}
	}
	return o, false, nil
}

// signIn obtains the first tokens the way the options say, and records that way in p.
func (c *cli) signIn(ctx context.Context, o loginOptions, p *profile) (*oauth2.Token, error) {
	switch {
	case o.pat != "":
		p.Method, p.ClientID = methodPAT, ""
		return &oauth2.Token{AccessToken: o.pat, TokenType: "Bearer"}, nil
	case o.userKey != "":
		p.Method, p.ClientID = methodUserKey, client.UserKeyClientID
		tok, err := client.UserKeyTokenSource(ctx, p.URL, o.userKey).Token()
		if err != nil {
			return nil, err
		}
		tok.RefreshToken = o.userKey // what later renewals exchange again
		return tok, nil
	case o.clientSecret != "" && !o.device:
		p.Method, p.Scope, p.Subject = methodClientCredentials, o.scope, "app "+o.clientID
		conf := clientcredentials.Config{ClientID: o.clientID, ClientSecret: o.clientSecret,
			TokenURL: client.Endpoint(p.URL, p.Org).TokenURL, Scopes: strings.Fields(o.scope), AuthStyle: oauth2.AuthStyleInParams}
		return conf.Token(ctx)
	}
	if p.ClientID == "" {
		p.ClientID = client.CLIClientID
	}
	p.Scope = withOfflineAccess(o.scope)
	conf := oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: client.Endpoint(p.URL, p.Org)}
	if o.device {
		p.Method = methodDevice
		return c.deviceLogin(ctx, conf, p.Scope)
	}
	p.Method = methodBrowser
	conf.Scopes = strings.Fields(p.Scope)
	return c.browserLogin(ctx, conf, p.Org, o.noBrowser)
}

// serverAddress checks --url: an http(s) address, kept without its trailing slash.
func serverAddress(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", usageError{fmt.Sprintf("login: --url %q is not a server address: give it as http://host:port or https://host", raw)}
	}
	if strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/orchestrator_") {
		return "", usageError{fmt.Sprintf("login: --url %q is a tenant's API address: give the server's address (%s://%s) with --org and --tenant", raw, u.Scheme, u.Host)}
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// withOfflineAccess adds offline_access to the scopes a person asked for, since without a
// refresh token the sign-in would end with its first access token.
func withOfflineAccess(scope string) string {
	if scope == "" {
		return userScopes
	}
	s := strings.Fields(scope)
	if !slices.Contains(s, "offline_access") {
		s = append(s, "offline_access")
	}
	return strings.Join(s, " ")
}

// readSecretLine reads a secret given as "-": the first line of stdin.
func readSecretLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	line = strings.TrimSpace(line)
	if line == "" {
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the secret from stdin: %w", err)
		}
		return "", usageError{"login: a secret given as - is read from stdin, which was empty: pipe it in (… < secret.txt)"}
	}
	return line, nil
}

// loginError says why a sign-in failed, without repeating any secret.
func loginError(err error, serverURL string) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		why := re.ErrorDescription
		if why == "" {
			why = re.ErrorCode
		}
		if why == "" && re.Response != nil {
			why = fmt.Sprintf("HTTP %d from %s", re.Response.StatusCode, re.Response.Request.URL.Path)
		}
		return fmt.Errorf("login refused by %s: %s", serverURL, why)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("login: cannot reach %s (%v): check --url and that the server runs", serverURL, rootCause(ue.Err))
	}
	return fmt.Errorf("login: %w", err)
}

// checkToken calls the API with a new token before it is saved, so that a wrong
// organization or tenant, or a token the server refuses, is found now. A 403 passes: the
// token is good, it only lacks the scope or permission to list folders.
func (c *cli) checkToken(ctx context.Context, p *profile, tok *oauth2.Token) error {
	api, err := client.New(client.Config{URL: p.URL, Org: p.Org, Tenant: p.Tenant, HTTPClient: c.httpClient,
		TokenSource: oauth2.StaticTokenSource(tok), UserAgent: userAgent()})
	if err != nil {
		return err
	}
	req, err := api.NewRequest(http.MethodGet, "odata/Folders?$top=1&$select=Id", nil)
	if err != nil {
		return err
	}
	_, err = api.Do(ctx, req, nil)
	var ae *client.Error
	switch {
	case err == nil || errors.As(err, &ae) && ae.StatusCode == http.StatusForbidden:
		return nil
	case errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound:
		return fmt.Errorf("login: %s: check --org and --tenant", ae.Message)
	case errors.As(err, &ae):
		return fmt.Errorf("login: the server refused the new token on %s: %s (HTTP %d)", api.BaseURL(), ae.Message, ae.StatusCode)
	}
	return loginError(err, p.URL)
}

// answer is what came back from a browser sign-in: the redirect's query, from the
// loopback listener (reply then carries the outcome back to the browser) or pasted.
type answer struct {
	query url.Values
	reply chan<- error
}

// browserLogin runs the authorization code flow with PKCE: the browser signs the person
// in and is sent back to a listener on a random loopback port (RFC 8252), or the person
// pastes the address the browser ended on (when it ran on another machine).
func (c *cli) browserLogin(ctx context.Context, conf oauth2.Config, org string, noBrowser bool) (*oauth2.Token, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot listen on a loopback port for the browser's answer (%v): use `orch login --device` instead", err)
	}
	defer ln.Close()
	conf.RedirectURL = fmt.Sprintf("http://127.0.0.1:%d/callback", ln.Addr().(*net.TCPAddr).Port)
	verifier := oauth2.GenerateVerifier()
	state := randomState()
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))

	done := make(chan struct{})
	answers := make(chan answer)
	srv := &http.Server{Handler: callbackHandler(answers, done), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer func() {
		// Let the browser's request get its page before the listener goes.
		close(done)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()

	opened := !noBrowser && c.openBrowser != nil && c.openBrowser(authURL) == nil
	if opened {
		fmt.Fprintf(c.stderr, "Sign in to %s in the browser that opened. If none did, open this address:\n\n  %s\n\n", org, authURL)
	} else {
		fmt.Fprintf(c.stderr, "Open this address in a browser to sign in to %s:\n\n  %s\n\n", org, authURL)
	}
	fmt.Fprintf(c.stderr, "Waiting for the sign-in… (if the browser runs on another machine and ends on an address that does not load, paste that address here)\n")
	go readPasted(c.stdin, answers, done)

	timeout := time.NewTimer(loginTimeout)
	defer timeout.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timeout.C:
			return nil, fmt.Errorf("no sign-in within %s: run orch login again, or use --device", loginTimeout)
		case a := <-answers:
			tok, err, final := c.takeAnswer(ctx, conf, a.query, state, verifier)
			if a.reply != nil {
				a.reply <- err
			}
			if final {
				return tok, err
			}
			fmt.Fprintf(c.stderr, "%v; still waiting for the sign-in started above\n", err)
		}
	}
}

// takeAnswer checks an answer against this sign-in and exchanges its code. final is false
// for an answer to ignore (another sign-in's, or not an answer at all).
func (c *cli) takeAnswer(ctx context.Context, conf oauth2.Config, q url.Values, state, verifier string) (tok *oauth2.Token, err error, final bool) {
	switch {
	case q.Get("state") != state:
		return nil, errors.New("ignored an answer whose state is not this sign-in's (an older sign-in, or someone else's)"), false
	case q.Get("error") != "":
		why := q.Get("error_description")
		if why == "" {
			why = q.Get("error")
		}
		return nil, fmt.Errorf("the sign-in was refused: %s", why), true
	case q.Get("code") == "":
		return nil, errors.New("ignored an answer without a code"), false
	}
	tok, err = conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	return tok, err, true
}

// callbackHandler serves the loopback listener: /callback hands the redirect's query to
// the login and shows the browser how it ended.
func callbackHandler(answers chan<- answer, done <-chan struct{}) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		reply := make(chan error, 1)
		select {
		case answers <- answer{query: r.URL.Query(), reply: reply}:
		case <-done:
			http.Error(w, "This sign-in has already ended; you can close this window.", http.StatusGone)
			return
		case <-r.Context().Done():
			return
		}
		var err error
		select {
		case err = <-reply:
		case <-done:
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		title, text := "Signed in", "You are signed in to OpenOrch. You can close this window and go back to the terminal."
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			title, text = "Sign-in failed", err.Error()+" The terminal says what to do next."
		}
		fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>%s</title><h1>%s</h1><p>%s</p>\n",
			title, title, html.EscapeString(text))
	})
	return mux
}

// readPasted hands over addresses pasted on stdin as answers until the sign-in ends. Empty
// lines are skipped; the end of stdin just ends the pasting.
func readPasted(stdin io.Reader, answers chan<- answer, done <-chan struct{}) {
	if stdin == nil {
		return
	}
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if _, query, ok := strings.Cut(line, "?"); ok {
			line = query
		}
		q, err := url.ParseQuery(line)
		if err != nil {
			q = url.Values{}
		}
		select {
		case answers <- answer{query: q}:
		case <-done:
			return
		}
	}
}

func randomState() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// deviceLogin runs the device authorization grant: the person approves a code on any
// browser while this command polls, at the interval the server asks (slower when told
// to slow down; oauth2 does the polling).
func (c *cli) deviceLogin(ctx context.Context, conf oauth2.Config, scope string) (*oauth2.Token, error) {
	opts := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("scope", scope)}
	if conf.ClientSecret != "" {
		// oauth2 sends only the client id here; a confidential app must prove its secret.
		opts = append(opts, oauth2.SetAuthURLParam("client_secret", conf.ClientSecret))
	}
	da, err := conf.DeviceAuth(ctx, opts...)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c.stderr, "To sign in, open this page in a browser on any device:\n\n  %s\n\nand enter the code  %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(c.stderr, "(or open %s)\n", da.VerificationURIComplete)
	}
	fmt.Fprintln(c.stderr, "Waiting for the approval…")
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()
	tok, err := conf.DeviceAccessToken(ctx, da)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, errors.New("the code was not approved in time: run orch login --device again")
	}
	return tok, err
}

// userAgent names this program in the calls it makes.
func userAgent() string { return "orch/" + Version }
