package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

const defaultUserAgent = "openorch-go-client"

// Config says which tenant a Client talks to and how it authenticates.
type Config struct {
	// URL is the server's address (https://orch.example.com), with Org and Tenant; or,
	// with Org and Tenant empty, the tenant's API base as jobs receive it in ORCH_URL
	// (https://orch.example.com/acme/DefaultTenant/orchestrator_).
	URL string
	// Org and Tenant are the organization's and tenant's logical names (or Key GUIDs).
	Org, Tenant string
	// Folder is the folder every request runs in unless it names another with InFolder
	// (or a sibling): a folder Id in decimal or a folder path. Empty: none.
	Folder string
	// TokenSource supplies the Bearer token; oauth2 refreshes it when it expires. Nil:
	// HTTPClient must authenticate by itself.
	TokenSource oauth2.TokenSource
	// HTTPClient sends the requests (it is wrapped when TokenSource is set). Nil: a
	// client with no timeout; requests end with their context.
	HTTPClient *http.Client
	// UserAgent is sent with every request; empty means "openorch-go-client".
	UserAgent string
}

// Client calls the Orchestrator API of one tenant. It is safe for concurrent use.
type Client struct {
	base      *url.URL // the API base, ending in "/orchestrator_/"
	org       string
	tenant    string
	folder    string
	hc        *http.Client
	userAgent string

	// Folders are the calls of the Folders entity set.
	Folders *FoldersService
	// Jobs are the calls of the Jobs entity set.
	Jobs *JobsService
	// Queues are the calls of queues and their items.
	Queues *QueuesService
	// Releases are the calls of processes (the Releases entity set).
	Releases *ReleasesService
	// Packages are the calls of packages (the Processes entity set).
	Packages *PackagesService
	// RobotLogs are the log lines of jobs' processes.
	RobotLogs *RobotLogsService
}

// New returns a client for the tenant cfg names.
func New(cfg Config) (*Client, error) {
	base, org, tenant, err := apiBase(cfg.URL, cfg.Org, cfg.Tenant)
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	if cfg.TokenSource != nil {
		wrapped := *hc
		wrapped.Transport = &oauth2.Transport{Source: cfg.TokenSource, Base: hc.Transport}
		hc = &wrapped
	}
	c := &Client{base: base, org: org, tenant: tenant, folder: cfg.Folder, hc: hc, userAgent: cfg.UserAgent}
	if c.userAgent == "" {
		c.userAgent = defaultUserAgent
	}
	c.Folders = &FoldersService{client: c}
	c.Jobs = &JobsService{client: c}
	c.Queues = &QueuesService{client: c}
	c.Releases = &ReleasesService{client: c}
	c.Packages = &PackagesService{client: c}
	c.RobotLogs = &RobotLogsService{client: c}
	return c, nil
}

// apiBase finds the tenant's API base from a Config's URL, Org and Tenant.
func apiBase(raw, org, tenant string) (*url.URL, string, string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", "", fmt.Errorf("client: URL %q is not an http(s) address such as https://orch.example.com", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, "", "", fmt.Errorf("client: URL %q must not carry a query, a fragment or user information", raw)
	}
	path := strings.TrimRight(u.Path, "/")
	switch {
	case org == "" && tenant == "":
		segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
		n := len(segs)
		if n < 3 || segs[n-1] != "orchestrator_" || segs[n-2] == "" || segs[n-3] == "" {
			return nil, "", "", fmt.Errorf("client: URL %q names no organization and tenant: set Org and Tenant, or give the tenant's API base (…/{org}/{tenant}/orchestrator_)", raw)
		}
		org, tenant = segs[n-3], segs[n-2]
	case org == "" || tenant == "":
		return nil, "", "", errors.New("client: set both Org and Tenant (or neither, with the tenant's API base as URL)")
	default:
		if strings.HasSuffix(path, "/orchestrator_") {
			return nil, "", "", fmt.Errorf("client: URL %q is an API base already; with Org and Tenant, give the server's address", raw)
		}
		path += "/" + url.PathEscape(org) + "/" + url.PathEscape(tenant) + "/orchestrator_"
	}
	base, err := url.Parse(u.Scheme + "://" + u.Host + path + "/")
	if err != nil {
		return nil, "", "", fmt.Errorf("client: URL %q: %w", raw, err)
	}
	return base, org, tenant, nil
}

// BaseURL returns the tenant's API base, ending in "/orchestrator_/".
func (c *Client) BaseURL() *url.URL {
	u := *c.base
	return &u
}

// Org returns the organization the client addresses.
func (c *Client) Org() string { return c.org }

// Tenant returns the tenant the client addresses.
func (c *Client) Tenant() string { return c.tenant }

// A RequestOption changes a request built by NewRequest: its folder, its query.
type RequestOption func(*http.Request)

// NewRequest builds a request for path, relative to the API base ("odata/Folders",
// "/odata/Jobs(42)", "odata/Folders?$top=5"). A body that is an io.Reader is sent as it
// is; any other non-nil body is encoded as JSON. The client's default folder applies
// unless an option names another.
func (c *Client) NewRequest(method, path string, body any, opts ...RequestOption) (*http.Request, error) {
	u, err := c.resolve(path)
	if err != nil {
		return nil, err
	}
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case io.Reader:
		r = b
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(b); err != nil {
			return nil, fmt.Errorf("client: encode the request body: %w", err)
		}
		r = &buf
	}
	req, err := http.NewRequest(method, u.String(), r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.folder != "" {
		InFolder(c.folder)(req)
	}
	for _, o := range opts {
		o(req)
	}
	return req, nil
}

// resolve turns a path relative to the API base into a URL, re-encoding its query so
// that what people type (spaces, quotes, $) goes out well-formed.
func (c *Client) resolve(path string) (*url.URL, error) {
	p, rawQuery, _ := strings.Cut(path, "?")
	if strings.Contains(p, "://") || strings.HasPrefix(p, "//") {
		return nil, fmt.Errorf("client: path %q must be relative to the API base %s (e.g. odata/Folders)", path, c.base)
	}
	u := c.BaseURL()
	u.Path += strings.TrimPrefix(p, "/")
	if rawQuery != "" {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return nil, fmt.Errorf("client: the query of %q cannot be read: %w", path, err)
		}
		u.RawQuery = q.Encode()
	}
	return u, nil
}

// WithQuery adds query parameters to a request.
func WithQuery(v url.Values) RequestOption {
	return func(r *http.Request) {
		q := r.URL.Query()
		for k, vs := range v {
			q[k] = append(q[k], vs...)
		}
		r.URL.RawQuery = q.Encode()
	}
}

// Response is the server's answer to a request; its body has been read and closed.
type Response struct {
	*http.Response
}

// Do sends req and decodes a successful answer into v: JSON into a pointer, or the raw
// body into an io.Writer; nil discards it. An answer outside 2xx is an *Error (and the
// Response is returned with it); a failure to obtain a token is the oauth2 package's error,
// often an *oauth2.RetrieveError.
func (c *Client) Do(ctx context.Context, req *http.Request, v any) (*Response, error) {
	resp, err := c.hc.Do(req.WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// A token source's error arrives wrapped in *url.Error; hand it over bare.
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, re
		}
		return nil, err
	}
	defer resp.Body.Close()
	r := &Response{Response: resp}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return r, parseError(req, resp)
	}
	switch v := v.(type) {
	case nil:
		_, err = io.Copy(io.Discard, resp.Body)
	case io.Writer:
		_, err = io.Copy(v, resp.Body)
	default:
		err = json.NewDecoder(resp.Body).Decode(v)
		if errors.Is(err, io.EOF) {
			err = nil // an empty answer (204) leaves v as it was
		}
	}
	if err != nil {
		return r, fmt.Errorf("client: read the answer to %s %s: %w", req.Method, req.URL.Path, err)
	}
	return r, nil
}

// WithProgress calls fn as the request's body is sent, with the bytes sent so far and the
// body's length (-1 when unknown), so that a long upload can show how far it is. A retried
// request starts again from 0.
func WithProgress(fn func(sent, total int64)) RequestOption {
	return func(req *http.Request) {
		if req.Body == nil || req.Body == http.NoBody {
			return
		}
		total := req.ContentLength
		if total == 0 {
			total = -1
		}
		req.Body = &progressBody{rc: req.Body, total: total, fn: fn}
		if get := req.GetBody; get != nil {
			req.GetBody = func() (io.ReadCloser, error) {
				rc, err := get()
				if err != nil {
					return nil, err
				}
				return &progressBody{rc: rc, total: total, fn: fn}, nil
			}
		}
	}
}

type progressBody struct {
	rc    io.ReadCloser
	sent  int64
	total int64
	fn    func(sent, total int64)
}

func (p *progressBody) Read(b []byte) (int, error) {
	n, err := p.rc.Read(b)
	if n > 0 {
		p.sent += int64(n)
		p.fn(p.sent, p.total)
	}
	return n, err
}

func (p *progressBody) Close() error { return p.rc.Close() }
