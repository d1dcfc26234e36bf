package robot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/openorch/openorch/client"
	"github.com/openorch/openorch/internal/packages"
)

// Scope is what a robot asks for when it signs in.
const Scope = "OR.Robots OR.Jobs OR.Execution OR.Monitoring OR.Assets OR.Queues OR.Folders"

// Config is what a robot needs: where the server is, who it is, where it works. The
// fields after WorkDir have defaults.
type Config struct {
	URL          string // the server's address, https://orch.example.com
	Org, Tenant  string
	ClientID     string // the machine's client id
	ClientSecret string // the machine's client secret
	WorkDir      string // packages/ and jobs/ live here

	// HostName names this host to the server; empty: os.Hostname.
	HostName string
	// Slots is how many jobs this host offers to run at once; 0: the machine's.
	Slots int
	// Version is sent to the server on connect.
	Version string
	// Logger receives the robot's own log; nil: slog.Default.
	Logger *slog.Logger
	// HTTPClient makes the calls; nil: a new client.
	HTTPClient *http.Client

	// ShutdownTimeout is how long running jobs may go on after Run's context ends before
	// they are soft-stopped (1 minute).
	ShutdownTimeout time.Duration
	// StopGrace is how long a soft-stopped process has between SIGTERM and SIGKILL (30 s).
	StopGrace time.Duration
	// FinalReportTimeout bounds the delivery of the last reports and logs on shutdown
	// when the server does not answer (30 s).
	FinalReportTimeout time.Duration
	// BackoffMin and BackoffMax bound the wait between reconnection attempts (1 s, 1 min).
	BackoffMin, BackoffMax time.Duration
	// LogFlushInterval is how often logs are shipped at least (1 s).
	LogFlushInterval time.Duration
	// MaxPackageSize bounds a downloaded package (packages.MaxSize).
	MaxPackageSize int64
	// MaxUnpackedSize bounds a package once unpacked (512 MiB).
	MaxUnpackedSize int64
}

// MaxUnpackedSize is the default bound of a package's unpacked files.
const MaxUnpackedSize = 512 << 20

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ShutdownTimeout, time.Minute)
	def(&c.StopGrace, 30*time.Second)
	def(&c.FinalReportTimeout, 30*time.Second)
	def(&c.BackoffMin, time.Second)
	def(&c.BackoffMax, time.Minute)
	def(&c.LogFlushInterval, time.Second)
	if c.LogFlushInterval > time.Second {
		c.LogFlushInterval = time.Second
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = c.BackoffMin
	}
	if c.MaxPackageSize <= 0 {
		c.MaxPackageSize = packages.MaxSize
	}
	if c.MaxUnpackedSize <= 0 {
		c.MaxUnpackedSize = MaxUnpackedSize
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Version == "" {
		c.Version = "dev"
	}
}

// CheckHostName checks a host name as the server does: 1 to 128 characters, no control
// characters.
func CheckHostName(name string) error {
	n := len([]rune(name))
	if n < 1 || n > 128 {
		return fmt.Errorf("host name %q must be 1 to 128 characters long", name)
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return fmt.Errorf("host name %q has a control character", name)
	}
	return nil
}

// Robot is a robot agent: it signs in as a machine, takes jobs and runs them.
type Robot struct {
	cfg    Config
	log    *slog.Logger
	api    *client.Client
	tokens *tokenSource
	logs   *shipper

	// conn admits one reconnection at a time; a caller whose context ends stops waiting
	// for it (a loop being shut down must not wait for another's reconnection).
	conn chan struct{}

	mu         sync.Mutex
	robotKey   string
	gen        int // bumped by every successful connect
	slots      int
	heartbeat  time.Duration
	maxWait    time.Duration
	jobs       map[string]*job
	pending    []*JobStateRequest // reports not yet delivered, oldest first
	shutting   bool
	pollCancel context.CancelFunc // ends a robot/next sent with no free slot
	jobCtx     context.Context    // the jobs' downloads end with it
	reportKick chan struct{}
	jobsWG     sync.WaitGroup

	reportMu sync.Mutex // one delivery of reports at a time
	pkgMu    sync.Mutex
	pkgLocks map[string]*sync.Mutex // per package hash: one download at a time
}

// New checks cfg and returns a robot; Run runs it.
func New(cfg Config) (*Robot, error) {
	for _, s := range []struct{ v, name string }{{cfg.URL, "URL"}, {cfg.Org, "Org"}, {cfg.Tenant, "Tenant"},
		{cfg.ClientID, "ClientID"}, {cfg.ClientSecret, "ClientSecret"}, {cfg.WorkDir, "WorkDir"}} {
		if strings.TrimSpace(s.v) == "" {
			return nil, fmt.Errorf("robot: %s is not set", s.name)
		}
	}
	if cfg.Slots < 0 {
		return nil, fmt.Errorf("robot: slots must be 0 (the machine's) or more, not %d", cfg.Slots)
	}
	if cfg.HostName == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("robot: this host has no name (%v): set one", err)
		}
		cfg.HostName = h
	}
	if err := CheckHostName(cfg.HostName); err != nil {
		return nil, fmt.Errorf("robot: %w", err)
	}
	cfg.setDefaults()
	wd, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("robot: work directory: %w", err)
	}
	cfg.WorkDir = wd
	cc := &clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     client.Endpoint(cfg.URL, cfg.Org).TokenURL,
		Scopes:       strings.Fields(Scope),
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	// Token calls get a timeout of their own: they are made inside other calls, whose
	// contexts do not reach them.
	tokenHC := *cfg.HTTPClient
	if tokenHC.Timeout == 0 {
		tokenHC.Timeout = 30 * time.Second
	}
	ts := newTokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, &tokenHC), cc)
	api, err := client.New(client.Config{URL: cfg.URL, Org: cfg.Org, Tenant: cfg.Tenant, TokenSource: ts,
		HTTPClient: cfg.HTTPClient, UserAgent: "openorch-robot/" + cfg.Version})
	if err != nil {
		return nil, fmt.Errorf("robot: %w", err)
	}
	r := &Robot{cfg: cfg, log: cfg.Logger, api: api, tokens: ts, jobs: map[string]*job{},
		reportKick: make(chan struct{}, 1), pkgLocks: map[string]*sync.Mutex{}, conn: make(chan struct{}, 1)}
	r.logs = newShipper(r)
	return r, nil
}

// Run connects and runs jobs until ctx ends; then it takes no more jobs, lets the
// running ones finish for ShutdownTimeout (then soft-stops them), reports them, says
// goodbye to the server and returns nil. It returns an error when the first connection
// is refused (bad credentials, a host name the server does not take).
func Run(ctx context.Context, cfg Config) error {
	r, err := New(cfg)
	if err != nil {
		return err
	}
	return r.Run(ctx)
}

// Run runs the robot; see the package function Run.
func (r *Robot) Run(ctx context.Context) error {
	for _, d := range []string{r.packagesDir(), r.jobsDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("robot: create the work directory: %w", err)
		}
	}
	if err := r.connectLoop(ctx, true); err != nil {
		if ctx.Err() != nil {
			return nil // asked to stop before the server answered
		}
		return err
	}
	// The loops outlive ctx: running jobs still need heartbeats, logs and reports.
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	r.mu.Lock()
	r.jobCtx = loopCtx
	r.mu.Unlock()
	var loops sync.WaitGroup
	loops.Go(func() { r.heartbeatLoop(loopCtx) })
	loops.Go(func() { r.logs.run(loopCtx) })
	loops.Go(func() { r.reportLoop(loopCtx) })
	nextCtx, stopNext := context.WithCancel(loopCtx)
	nextDone := make(chan struct{})
	go func() { defer close(nextDone); r.nextLoop(nextCtx) }()

	<-ctx.Done()
	r.mu.Lock()
	r.shutting = true
	running := len(r.jobs)
	r.mu.Unlock()
	stopNext()
	<-nextDone
	r.log.Info("shutting down: taking no more jobs", "running", running, "timeout", r.cfg.ShutdownTimeout)

	allDone := make(chan struct{})
	go func() { r.jobsWG.Wait(); close(allDone) }()
	select {
	case <-allDone:
	case <-time.After(r.cfg.ShutdownTimeout):
		r.mu.Lock()
		for _, j := range r.jobs {
			r.log.Info("soft-stopping a job at shutdown", "job", j.a.JobKey)
			j.requestStop(SoftStop, r.cfg.StopGrace)
		}
		r.mu.Unlock()
		<-allDone
	}

	finalCtx, cancel := context.WithTimeout(loopCtx, r.cfg.FinalReportTimeout)
	defer cancel()
	r.logs.flush(finalCtx)
	if !r.deliverReports(finalCtx) {
		r.mu.Lock()
		n := len(r.pending)
		r.mu.Unlock()
		r.log.Error("the server did not take the last job reports before the shutdown timeout", "undelivered", n)
	}
	r.mu.Lock()
	key := r.robotKey
	r.mu.Unlock()
	if _, err := r.call(finalCtx, http.MethodPost, "api/robot/disconnect", DisconnectRequest{RobotKey: key}, nil, 10*time.Second); err != nil {
		r.log.Warn("disconnect failed", "error", errText(err))
	} else {
		r.log.Info("disconnected")
	}
	stopLoops()
	loops.Wait()
	return nil
}

func (r *Robot) packagesDir() string { return filepath.Join(r.cfg.WorkDir, "packages") }
func (r *Robot) jobsDir() string     { return filepath.Join(r.cfg.WorkDir, "jobs") }

// session returns what calls need of the current connection.
func (r *Robot) session() (key string, gen int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.robotKey, r.gen
}

// unavailableError is a call that failed because the server could not be reached or
// answered 5xx: the robot reconnects and tries again.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

func isUnavailable(err error) bool {
	var u *unavailableError
	return errors.As(err, &u)
}

// isUnknownRobot is a 404 of a call naming the robot: the server no longer knows its Key
// (the robot was deleted, or the database replaced). Connecting again registers it anew.
func isUnknownRobot(err error) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.StatusCode == http.StatusNotFound
}

// errText is an error for the log: the server's message when it sent one.
func errText(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) {
		s := fmt.Sprintf("%d %s", ce.StatusCode, ce.Message)
		if r := ce.Reason(); r != "" {
			s += ": " + r
		}
		return s
	}
	return err.Error()
}

// call makes one protocol call: out receives a JSON answer (or the body, when it is an
// io.Writer). A 401 gets a new token and is tried once more. The error is an
// *unavailableError when the server is out of reach or answers 5xx, a *client.Error for
// another refusal, or ctx's error.
func (r *Robot) call(ctx context.Context, method, path string, body, out any, timeout time.Duration) (int, error) {
	for attempt := 0; ; attempt++ {
		req, err := r.api.NewRequest(method, path, body)
		if err != nil {
			return 0, err
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		resp, err := r.api.Do(cctx, req, out)
		cancel()
		if err == nil {
			return resp.StatusCode, nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		var ce *client.Error
		var re *oauth2.RetrieveError
		switch {
		case errors.As(err, &ce):
			if ce.StatusCode == http.StatusUnauthorized && attempt == 0 {
				r.tokens.reset()
				continue
			}
			if ce.StatusCode >= 500 || ce.StatusCode == http.StatusTooManyRequests || ce.StatusCode == http.StatusRequestTimeout {
				return ce.StatusCode, &unavailableError{ce}
			}
			return ce.StatusCode, ce
		case errors.As(err, &re):
			if re.Response != nil && re.Response.StatusCode < 500 {
				return re.Response.StatusCode, fmt.Errorf("the server refused the robot's client credentials: %s", oauthReason(re))
			}
			return 0, &unavailableError{fmt.Errorf("sign in: %s", oauthReason(re))}
		}
		return 0, &unavailableError{err}
	}
}

func oauthReason(re *oauth2.RetrieveError) string {
	switch {
	case re.ErrorDescription != "":
		return re.ErrorDescription + " (" + re.ErrorCode + ")"
	case re.ErrorCode != "":
		return re.ErrorCode
	case re.Response != nil:
		return re.Response.Status
	}
	return "no answer"
}

// connectLoop connects, retrying with backoff while the server is out of reach. On the
// first connection a refusal is final; later ones are retried too (the jobs go on).
func (r *Robot) connectLoop(ctx context.Context, first bool) error {
	b := backoff{min: r.cfg.BackoffMin, max: r.cfg.BackoffMax}
	for {
		err := r.connectOnce(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if first && !isUnavailable(err) {
			return fmt.Errorf("connect to %s: %s", r.cfg.URL, errText(err))
		}
		d := b.next()
		r.log.Warn("cannot connect to the server; retrying", "error", errText(err), "retryIn", d.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
}

// reconnect connects again after a call found the server gone, unless another loop
// already did since gen.
func (r *Robot) reconnect(ctx context.Context, gen int) error {
	select {
	case r.conn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.conn }()
	if _, g := r.session(); g != gen {
		return nil
	}
	return r.connectLoop(ctx, false)
}

func (r *Robot) connectOnce(ctx context.Context) error {
	r.mu.Lock()
	keys := make([]string, 0, len(r.jobs)+len(r.pending))
	for k := range r.jobs {
		keys = append(keys, k)
	}
	for _, p := range r.pending {
		if !slices.Contains(keys, p.JobKey) {
			keys = append(keys, p.JobKey)
		}
	}
	r.mu.Unlock()
	slices.Sort(keys)
	var resp ConnectResponse
	req := ConnectRequest{HostName: r.cfg.HostName, Slots: r.cfg.Slots, Version: r.cfg.Version, RunningJobKeys: keys}
	if _, err := r.call(ctx, http.MethodPost, "api/robot/connect", req, &resp, 30*time.Second); err != nil {
		return err
	}
	if resp.RobotKey == "" {
		return &unavailableError{errors.New("the server's connect answer has no robotKey")}
	}
	slots := resp.Slots
	if r.cfg.Slots > 0 && slots > r.cfg.Slots {
		slots = r.cfg.Slots
	}
	heartbeat := seconds(resp.HeartbeatIntervalSeconds, 30*time.Second)
	r.mu.Lock()
	r.robotKey = resp.RobotKey
	r.gen++
	r.slots = slots
	r.heartbeat = heartbeat
	r.maxWait = seconds(resp.MaxWaitSeconds, 30*time.Second)
	r.mu.Unlock()
	r.log.Info("connected", "robot", resp.RobotName, "host", r.cfg.HostName, "slots", slots,
		"heartbeat", heartbeat, "runningJobs", len(keys))
	return nil
}

func seconds(s float64, def time.Duration) time.Duration {
	if s <= 0 {
		return def
	}
	return time.Duration(s * float64(time.Second))
}

// backoff is an exponential backoff with full jitter in its upper half.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	half := b.cur / 2
	return half + rand.N(half+1)
}

// nextLoop long-polls for work until ctx ends.
func (r *Robot) nextLoop(ctx context.Context) {
	b := backoff{min: r.cfg.BackoffMin, max: r.cfg.BackoffMax}
	for ctx.Err() == nil {
		pollCtx, cancel := context.WithCancel(ctx)
		r.mu.Lock()
		key, gen := r.robotKey, r.gen
		// The server counts a job against this robot's slots until its report arrives, so
		// an ended job frees its slot once the report is delivered, not before: asking
		// earlier would find no slot free and wait for the server's next look.
		free := max(r.slots-len(r.jobs)-len(r.pending), 0)
		wait := max(int(r.maxWait/time.Second), 1)
		if free == 0 {
			r.pollCancel = cancel // a delivered report frees a slot: ask again at once
		}
		r.mu.Unlock()
		var resp NextResponse
		status, err := r.call(pollCtx, http.MethodPost, "api/robot/next",
			NextRequest{RobotKey: key, FreeSlots: free, WaitSeconds: wait}, &resp, time.Duration(wait)*time.Second+30*time.Second)
		r.mu.Lock()
		r.pollCancel = nil
		r.mu.Unlock()
		freed := pollCtx.Err() != nil // read before cancel, which sets it for every call
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && freed:
			continue // a slot was freed
		case isUnavailable(err):
			r.reconnect(ctx, gen)
			continue
		case isUnknownRobot(err):
			r.log.Warn("the server does not know this robot any more: connecting again", "error", errText(err))
			r.reconnect(ctx, gen)
			continue
		case err != nil:
			d := b.next()
			r.log.Error("robot/next was refused", "error", errText(err), "retryIn", d.Round(time.Millisecond))
			sleep(ctx, d)
			continue
		}
		b = backoff{min: r.cfg.BackoffMin, max: r.cfg.BackoffMax}
		if status == http.StatusNoContent {
			continue
		}
		for _, s := range resp.Stops {
			r.applyStop(s)
		}
		for _, a := range resp.Jobs {
			r.startJob(a)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// heartbeatLoop sends heartbeats at the server's interval until ctx ends.
func (r *Robot) heartbeatLoop(ctx context.Context) {
	for {
		r.mu.Lock()
		d := r.heartbeat
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
		r.mu.Lock()
		key, gen := r.robotKey, r.gen
		req := HeartbeatRequest{RobotKey: key, Jobs: []HeartbeatJob{}}
		for _, j := range r.jobs {
			req.Jobs = append(req.Jobs, j.heartbeat())
		}
		// A job whose end is not reported yet is still the robot's: the server ends the
		// jobs a robot stops listing.
		for _, p := range r.pending {
			if _, running := r.jobs[p.JobKey]; !running {
				req.Jobs = append(req.Jobs, HeartbeatJob{JobKey: p.JobKey})
			}
		}
		r.mu.Unlock()
		slices.SortFunc(req.Jobs, func(a, b HeartbeatJob) int { return strings.Compare(a.JobKey, b.JobKey) })
		var resp HeartbeatResponse
		_, err := r.call(ctx, http.MethodPost, "api/robot/heartbeat", req, &resp, 30*time.Second)
		switch {
		case ctx.Err() != nil:
			return
		case isUnavailable(err), isUnknownRobot(err):
			if isUnknownRobot(err) {
				r.log.Warn("the server does not know this robot any more: connecting again", "error", errText(err))
			}
			r.reconnect(ctx, gen)
			continue
		case err != nil:
			r.log.Error("robot/heartbeat was refused", "error", errText(err))
			continue
		}
		if resp.HeartbeatIntervalSeconds > 0 {
			r.mu.Lock()
			r.heartbeat = seconds(resp.HeartbeatIntervalSeconds, r.heartbeat)
			r.mu.Unlock()
		}
		for _, s := range resp.Stops {
			r.applyStop(s)
		}
		for _, k := range resp.Cancel {
			r.mu.Lock()
			j := r.jobs[k]
			r.mu.Unlock()
			if j != nil {
				r.log.Warn("the server no longer has this job running here: killing it, not reporting it", "job", k)
				j.cancel()
			}
		}
		for _, t := range resp.Tokens {
			r.mu.Lock()
			j := r.jobs[t.JobKey]
			r.mu.Unlock()
			if j == nil {
				continue
			}
			if err := j.renewToken(t.AccessToken, t.AccessTokenExpiresAt); err != nil {
				r.log.Error("cannot write a job's renewed token", "job", t.JobKey, "error", err)
			} else {
				r.log.Debug("job token renewed", "job", t.JobKey, "expiresAt", t.AccessTokenExpiresAt)
			}
		}
	}
}

// applyStop applies a stop request to a running job.
func (r *Robot) applyStop(s StopRequest) {
	r.mu.Lock()
	j := r.jobs[s.JobKey]
	r.mu.Unlock()
	if j == nil {
		r.log.Debug("stop request for a job not running here", "job", s.JobKey)
		return
	}
	switch s.Strategy {
	case SoftStop, Kill:
	default:
		r.log.Warn("unknown stop strategy: killing the job", "job", s.JobKey, "strategy", s.Strategy)
		s.Strategy = Kill
	}
	r.log.Info("stopping a job", "job", s.JobKey, "strategy", s.Strategy)
	j.requestStop(s.Strategy, r.cfg.StopGrace)
}

// queueReport queues a job's end for delivery.
func (r *Robot) queueReport(rep *JobStateRequest) {
	r.mu.Lock()
	r.pending = append(r.pending, rep)
	r.mu.Unlock()
	select {
	case r.reportKick <- struct{}{}:
	default:
	}
}

// reportLoop delivers queued reports until ctx ends.
func (r *Robot) reportLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.reportKick:
			r.deliverReports(ctx)
		}
	}
}

// deliverReports sends the queued reports, oldest first, each after the job's logs; it
// returns whether none is left.
func (r *Robot) deliverReports(ctx context.Context) bool {
	r.reportMu.Lock()
	defer r.reportMu.Unlock()
	for {
		r.mu.Lock()
		if len(r.pending) == 0 {
			r.mu.Unlock()
			return true
		}
		rep := *r.pending[0]
		rep.RobotKey = r.robotKey
		gen := r.gen
		r.mu.Unlock()
		r.logs.flush(ctx)
		var resp JobStateResponse
		_, err := r.call(ctx, http.MethodPost, "api/robot/job-state", rep, &resp, 30*time.Second)
		if ctx.Err() != nil {
			return false
		}
		if isUnavailable(err) {
			r.reconnect(ctx, gen)
			continue
		}
		if err != nil {
			r.log.Error("the server refused a job's report", "job", rep.JobKey, "event", rep.Event, "error", errText(err))
		} else {
			r.log.Info("job reported", "job", rep.JobKey, "event", rep.Event, "state", resp.State)
		}
		r.mu.Lock()
		r.pending = r.pending[1:]
		r.freeSlot()
		r.mu.Unlock()
	}
}

// freeSlot ends a robot/next sent with no free slot, so that the next one asks for work
// at once. r.mu is held.
func (r *Robot) freeSlot() {
	if r.pollCancel != nil {
		r.pollCancel()
		r.pollCancel = nil
	}
}

// tokenSource is the robot's sign-in: clientcredentials gets and renews the tokens; reset
// starts over after the server refused one (401).
type tokenSource struct {
	ctx  context.Context
	conf *clientcredentials.Config
	mu   sync.Mutex
	src  oauth2.TokenSource
}

func newTokenSource(ctx context.Context, conf *clientcredentials.Config) *tokenSource {
	return &tokenSource{ctx: ctx, conf: conf, src: conf.TokenSource(ctx)}
}

func (t *tokenSource) Token() (*oauth2.Token, error) {
	t.mu.Lock()
	src := t.src
	t.mu.Unlock()
	return src.Token()
}

func (t *tokenSource) reset() {
	t.mu.Lock()
	t.src = t.conf.TokenSource(t.ctx)
	t.mu.Unlock()
}
