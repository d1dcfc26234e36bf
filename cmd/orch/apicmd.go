package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/openorch/openorch/client"
)

const apiHelp = `Usage: orch api [METHOD] PATH [--data JSON | -f key=value …] [--folder PATH|ID] [--profile P]

Calls the Orchestrator API with the saved credentials and prints the answer's JSON
(indented on a terminal, as received otherwise). PATH is relative to the tenant's API
base, /{org}/{tenant}/orchestrator_, and may carry a query. On an answer outside 2xx it
prints the server's message on stderr and exits with status 1.

  METHOD             GET, POST, PUT, PATCH, DELETE, …; default GET, or POST with a body
  --folder PATH|ID   the folder of the call: an Id (X-UIPATH-OrganizationUnitId) or a
                     path such as Shared or Finance/AP (X-UIPATH-FolderPath)
  --data JSON        the request body; @FILE reads it from a file, @- from stdin
  -f key=value       a field of a JSON object body (repeatable); the value is taken as
                     JSON when it reads as JSON (42, true, {"a":1}), else as a string
  --profile P        the profile (default: ORCH_CLI_PROFILE, else "default")

Inside a job (ORCH_URL and ORCH_ACCESS_TOKEN set) it calls the job's tenant with the job's
token (the renewed one in ORCH_ACCESS_TOKEN_FILE when set) and, without --folder, in the
job's folder (ORCH_FOLDER_ID); no login needed.

Examples:
  orch api /odata/Folders
  orch api "/odata/Folders?\$filter=FullyQualifiedName eq 'Shared'"
  orch api /odata/QueueDefinitions --folder Shared
  orch api /odata/Queues/UiPathODataSvc.AddQueueItem --folder Shared \
      --data '{"itemData":{"Name":"Invoices","Reference":"inv-1","SpecificContent":{"Amount":42}}}'
  orch api /odata/QueueDefinitions --folder 1 -f Name=Orders -f MaxNumberOfRetries=2
  orch api DELETE "/odata/QueueDefinitions(7)" --folder Shared
`

// jsonFields collects -f key=value into a JSON object.
type jsonFields map[string]any

func (f jsonFields) String() string { return "" }

func (f jsonFields) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return fmt.Errorf("-f %q: write it as key=value", kv)
	}
	var parsed any
	if json.Unmarshal([]byte(v), &parsed) == nil {
		f[k] = parsed
	} else {
		f[k] = v
	}
	return nil
}

var methodPattern = regexp.MustCompile(`^[A-Za-z]+$`)

func (c *cli) api(ctx context.Context, args []string) error {
	fs := newFlags("api")
	var profileArg, folder, data string
	body := jsonFields{}
	fs.StringVar(&profileArg, "profile", "", "")
	fs.StringVar(&folder, "folder", "", "")
	fs.StringVar(&data, "data", "", "")
	fs.Var(body, "f", "")
	fs.Var(body, "field", "")
	pos, helped, err := c.parseFlags(fs, args, apiHelp)
	if err != nil || helped {
		return err
	}
	var method, path string
	switch len(pos) {
	case 1:
		path = pos[0]
	case 2:
		method, path = strings.ToUpper(pos[0]), pos[1]
		if !methodPattern.MatchString(method) {
			return usageError{fmt.Sprintf("api: %q is not an HTTP method: run `orch api [METHOD] PATH` (e.g. orch api DELETE \"/odata/Jobs(42)\")", pos[0])}
		}
	case 0:
		return usageError{"api: PATH is missing: run `orch api /odata/Folders` (PATH is relative to /{org}/{tenant}/orchestrator_)"}
	default:
		return usageError{fmt.Sprintf("api: too many arguments (%q): run `orch api [METHOD] PATH`; quote a PATH with spaces", pos)}
	}
	if strings.Contains(path, "://") {
		return usageError{fmt.Sprintf("api: PATH %q must be relative to the tenant's API base: write it as /odata/Folders", path)}
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	var reqBody io.Reader
	switch {
	case data != "" && len(body) > 0:
		return usageError{"api: give the body with --data or with -f fields, not both"}
	case data != "":
		raw, err := c.readData(data)
		if err != nil {
			return err
		}
		if !json.Valid(raw) {
			return usageError{"api: --data is not valid JSON: check its quotes and braces (wrap it in single quotes in the shell)"}
		}
		reqBody = bytes.NewReader(raw)
	case len(body) > 0:
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reqBody = bytes.NewReader(raw)
	}
	if method == "" {
		method = http.MethodGet
		if reqBody != nil {
			method = http.MethodPost
		}
	}

	api, who, err := c.apiClient(ctx, profileArg)
	if err != nil {
		return err
	}
	var opts []client.RequestOption
	if folder != "" {
		opts = append(opts, client.InFolder(folder))
	}
	req, err := api.NewRequest(method, path, reqBody, opts...)
	if err != nil {
		return usageError{"api: " + strings.TrimPrefix(err.Error(), "client: ")}
	}
	var out bytes.Buffer
	_, err = api.Do(ctx, req, &out)
	var ae *client.Error
	switch {
	case errors.As(err, &ae):
		return apiFailure(ae, who)
	case err != nil:
		return c.callError(err, api)
	}
	return c.printJSON(out.Bytes())
}

// readData reads --data: inline JSON, @FILE or @- (stdin).
func (c *cli) readData(data string) ([]byte, error) {
	name, ok := strings.CutPrefix(data, "@")
	if !ok {
		return []byte(data), nil
	}
	if name == "-" {
		b, err := io.ReadAll(c.stdin)
		if err != nil {
			return nil, fmt.Errorf("api: read the body from stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, usageError{fmt.Sprintf("api: --data @%s: %v", name, rootCause(err))}
	}
	return b, nil
}

// printJSON prints an answer: indented for a person at a terminal, else as it came.
func (c *cli) printJSON(body []byte) error {
	if len(body) == 0 {
		return nil
	}
	if c.isTerminal(c.stdout) {
		var buf bytes.Buffer
		if json.Indent(&buf, bytes.TrimSpace(body), "", "  ") == nil {
			buf.WriteByte('\n')
			_, err := c.stdout.Write(buf.Bytes())
			return err
		}
	}
	_, err := c.stdout.Write(body)
	return err
}

// apiCaller is who `orch api` calls as: a saved profile or the job's token.
type apiCaller struct {
	profile string   // "" inside a job
	p       *profile // the saved profile
}

// apiClient is the API client of the profile, or of the job this command runs in.
func (c *cli) apiClient(ctx context.Context, profileArg string) (*client.Client, apiCaller, error) {
	name, explicit := c.profileName(profileArg)
	if t := c.jobToken(explicit); t != "" {
		base := c.getenv("ORCH_URL")
		if base == "" {
			return nil, apiCaller{}, errors.New("ORCH_ACCESS_TOKEN is set but ORCH_URL is not: inside a job both are; elsewhere unset ORCH_ACCESS_TOKEN, or name a profile with --profile")
		}
		api, err := client.New(client.Config{URL: base, Folder: c.getenv("ORCH_FOLDER_ID"), HTTPClient: c.httpClient,
			TokenSource: jobTokenSource{c}, UserAgent: userAgent()})
		if err != nil {
			return nil, apiCaller{}, fmt.Errorf("ORCH_URL: %v", strings.TrimPrefix(err.Error(), "client: "))
		}
		return api, apiCaller{}, nil
	}
	st, p, err := c.readProfile(name)
	if err != nil {
		return nil, apiCaller{}, err
	}
	api, err := client.New(client.Config{URL: p.URL, Org: p.Org, Tenant: p.Tenant, HTTPClient: c.httpClient,
		TokenSource: &profileSource{ctx: ctx, store: st, name: name}, UserAgent: userAgent()})
	if err != nil {
		return nil, apiCaller{}, fmt.Errorf("profile %q: %v", name, err)
	}
	return api, apiCaller{profile: name, p: p}, nil
}

// apiFailure is the message of a refusal: the server's message and code, its reason, and
// what to do next.
func apiFailure(e *client.Error, who apiCaller) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (HTTP %d", e.Message, e.StatusCode)
	if e.ErrorCode != 0 {
		fmt.Fprintf(&b, ", errorCode %d", e.ErrorCode)
	}
	b.WriteString(")")
	if r := e.Reason(); r != "" {
		b.WriteString("\n  " + r)
	}
	var d struct {
		Folders []struct {
			ID                 int64  `json:"Id"`
			FullyQualifiedName string `json:"FullyQualifiedName"`
		} `json:"folders"`
	}
	switch {
	case e.ErrorCode == 1100 || e.ErrorCode == 1101:
		json.Unmarshal(e.Details, &d)
		var names []string
		for _, f := range d.Folders {
			names = append(names, fmt.Sprintf("%s (Id %d)", f.FullyQualifiedName, f.ID))
		}
		if len(names) > 0 {
			b.WriteString("\n  your folders: " + strings.Join(names, ", "))
		}
		b.WriteString("\n  name the folder with --folder PATH or --folder ID")
	case e.StatusCode == http.StatusUnauthorized && who.p != nil:
		b.WriteString("\n  run `" + loginHint(who.profile, who.p) + "` to sign in again")
	case e.TraceID != "" && e.StatusCode >= 500:
		b.WriteString("\n  quote trace id " + e.TraceID + " when reporting it")
	}
	return errors.New(b.String())
}

// callError explains a call that got no answer.
func (c *cli) callError(err error, api *client.Client) error {
	var te *tokenError
	if errors.As(err, &te) {
		return te.err
	}
	return fmt.Errorf("cannot reach %s: %v", api.BaseURL(), rootCause(err))
}
