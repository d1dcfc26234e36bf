// Package robottest is a fake OpenOrch server for testing robots: it speaks the robot
// protocol (docs/robot-protocol.md) and the client-credentials sign-in, hands out the
// jobs a test adds, and records every call.
package robottest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/robot"
)

// Server is a fake server. Its exported settings may be changed before the robot
// connects; everything else goes through its methods.
type Server struct {
	*httptest.Server
	Org, Tenant            string
	ClientID, ClientSecret string
	// HeartbeatInterval and MaxWait are sent on connect, in seconds (fractions allowed).
	HeartbeatInterval, MaxWait float64
	// Slots is the machine's slots.
	Slots int
	// TokenLifetime is the life of the robot's tokens (1 h).
	TokenLifetime time.Duration
	// StateDelay delays the answer to every robot/job-state, as a busy server would.
	StateDelay time.Duration

	mu          sync.Mutex
	down        bool
	tokens      map[string]bool // valid robot tokens
	tokensMade  int
	queue       []robot.JobAssignment
	stops       []robot.StopRequest // delivered by the next robot/next
	hbStops     []robot.StopRequest // delivered by the next heartbeat
	cancels     []string
	renewals    []robot.JobToken
	packages    map[string][]byte // by job key
	running     map[string]bool   // jobs assigned and not reported
	connects    []robot.ConnectRequest
	heartbeats  []robot.HeartbeatRequest
	logs        []robot.LogEntry
	logCalls    int
	states      []robot.JobStateRequest
	downloads   int
	disconnects int
	nexts       []robot.NextRequest
	nextRunning []int          // jobs assigned and not reported when each robot/next came
	refused     map[string]int // path → status to answer, once
	wake        chan struct{}
}

// New starts a fake server; it is closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{Org: "acme", Tenant: "DefaultTenant", ClientID: "robot-machine", ClientSecret: "machine-secret-0123456789",
		HeartbeatInterval: 0.05, MaxWait: 1, Slots: 2, TokenLifetime: time.Hour,
		tokens: map[string]bool{}, packages: map[string][]byte{}, running: map[string]bool{}, refused: map[string]int{},
		wake: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Config is a robot configuration for this server (the caller sets WorkDir and the rest).
func (s *Server) Config() robot.Config {
	return robot.Config{URL: s.URL, Org: s.Org, Tenant: s.Tenant, ClientID: s.ClientID, ClientSecret: s.ClientSecret,
		HostName: "test-host"}
}

func (s *Server) wakeLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// SetDown makes the server answer every call with 503 (down) or serve again.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
	s.wakeLocked()
}

// RevokeTokens makes every robot token issued so far invalid (answered with 401).
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// RefuseOnce answers the next call of path (robot/heartbeat, …) with status and a message.
func (s *Server) RefuseOnce(path string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused[path] = status
}

// AddJob queues a job with its package; a zero PackageSha256 or PackageSize is filled
// from pkg. It returns the assignment as queued.
func (s *Server) AddJob(a robot.JobAssignment, pkg []byte) robot.JobAssignment {
	sum := sha256.Sum256(pkg)
	if a.PackageSha256 == "" {
		a.PackageSha256 = hex.EncodeToString(sum[:])
	}
	if a.PackageSize == 0 {
		a.PackageSize = int64(len(pkg))
	}
	if a.AccessToken == "" {
		a.AccessToken = "job-token-" + a.JobKey
		a.AccessTokenExpiresAt = time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.packages[a.JobKey] = pkg
	s.queue = append(s.queue, a)
	s.wakeLocked()
	return a
}

// Stop asks for a job's stop, delivered by robot/next.
func (s *Server) Stop(jobKey, strategy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stops = append(s.stops, robot.StopRequest{JobKey: jobKey, Strategy: strategy})
	s.wakeLocked()
}

// StopByHeartbeat asks for a job's stop, delivered by the next heartbeat that lists it.
func (s *Server) StopByHeartbeat(jobKey, strategy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hbStops = append(s.hbStops, robot.StopRequest{JobKey: jobKey, Strategy: strategy})
}

// Cancel ends a job on the server's side: the next heartbeat listing it cancels it.
func (s *Server) Cancel(jobKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, jobKey)
	s.cancels = append(s.cancels, jobKey)
}

// RenewToken gives a job a new token with the next heartbeat that lists it.
func (s *Server) RenewToken(jobKey, token string, expiresAt time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.renewals = append(s.renewals, robot.JobToken{JobKey: jobKey, AccessToken: token, AccessTokenExpiresAt: expiresAt})
}

// Connects returns the connect calls received.
func (s *Server) Connects() []robot.ConnectRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]robot.ConnectRequest(nil), s.connects...)
}

// Heartbeats returns the heartbeats received.
func (s *Server) Heartbeats() []robot.HeartbeatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]robot.HeartbeatRequest(nil), s.heartbeats...)
}

// Nexts returns the robot/next calls received.
func (s *Server) Nexts() []robot.NextRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]robot.NextRequest(nil), s.nexts...)
}

// RunningAtNexts is, for each robot/next of Nexts, how many jobs the server had assigned
// and not yet seen reported when it came.
func (s *Server) RunningAtNexts() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.nextRunning...)
}

// Logs returns the log entries received for a job, in order.
func (s *Server) Logs(jobKey string) []robot.LogEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []robot.LogEntry
	for _, e := range s.logs {
		if e.JobKey == jobKey {
			out = append(out, e)
		}
	}
	return out
}

// States returns the job-state reports received.
func (s *Server) States() []robot.JobStateRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]robot.JobStateRequest(nil), s.states...)
}

// Downloads is how many packages were downloaded.
func (s *Server) Downloads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downloads
}

// Disconnects is how many disconnect calls came.
func (s *Server) Disconnects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.disconnects
}

// TokensIssued is how many robot tokens the token endpoint issued.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokensMade
}

// Running says whether the server has the job running (assigned and not reported).
func (s *Server) Running(jobKey string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running[jobKey]
}

// WaitState waits for a job's report.
func (s *Server) WaitState(t testing.TB, jobKey string, timeout time.Duration) robot.JobStateRequest {
	t.Helper()
	var got robot.JobStateRequest
	Eventually(t, timeout, "job "+jobKey+" reported", func() bool {
		for _, st := range s.States() {
			if st.JobKey == jobKey {
				got = st
				return true
			}
		}
		return false
	})
	return got
}

// Eventually waits for cond, failing the test after timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg, "errorCode": 0, "traceId": "test"})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		writeError(w, http.StatusServiceUnavailable, "the server is down for the test")
		return
	}
	if r.URL.Path == "/"+s.Org+"/identity_/connect/token" {
		s.token(w, r)
		return
	}
	prefix := "/" + s.Org + "/" + s.Tenant + "/orchestrator_/api/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, prefix)
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	valid := s.tokens[tok]
	refuse, refused := s.refused[path]
	delete(s.refused, path)
	s.mu.Unlock()
	if !valid {
		writeError(w, http.StatusUnauthorized, "the access token is missing, expired or revoked")
		return
	}
	if refused {
		writeError(w, refuse, fmt.Sprintf("%s refused by the test (%d)", path, refuse))
		return
	}
	switch path {
	case "robot/connect":
		s.connect(w, r)
	case "robot/next":
		s.next(w, r)
	case "robot/heartbeat":
		s.heartbeat(w, r)
	case "robot/logs":
		s.logsCall(w, r)
	case "robot/job-state":
		s.jobState(w, r)
	case "robot/package":
		s.pkg(w, r)
	case "robot/disconnect":
		s.mu.Lock()
		s.disconnects++
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusNotFound, "no such robot call: "+path)
	}
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	if r.PostForm.Get("client_id") != s.ClientID || r.PostForm.Get("client_secret") != s.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "unknown client or wrong secret"})
		return
	}
	s.mu.Lock()
	s.tokensMade++
	tok := fmt.Sprintf("robot-token-%d", s.tokensMade)
	s.tokens[tok] = true
	life := s.TokenLifetime
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(life.Seconds()),
		"scope": r.PostForm.Get("scope")})
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "the body is not valid JSON: "+err.Error())
		return false
	}
	return true
}

func robotKey(host string) string { return "robot-key-" + host }

func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	var req robot.ConnectRequest
	if !decode(w, r, &req) {
		return
	}
	if err := robot.CheckHostName(req.HostName); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	s.connects = append(s.connects, req)
	slots := s.Slots
	if req.Slots > 0 && req.Slots < slots {
		slots = req.Slots
	}
	resp := robot.ConnectResponse{RobotID: 7, RobotKey: robotKey(req.HostName), RobotName: "machine@" + req.HostName,
		MachineName: "machine", Slots: slots, HeartbeatIntervalSeconds: s.HeartbeatInterval, UnresponsiveAfterSeconds: 120,
		MaxWaitSeconds: s.MaxWait}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	var req robot.NextRequest
	if !decode(w, r, &req) {
		return
	}
	wait := time.Duration(min(float64(req.WaitSeconds), s.MaxWait) * float64(time.Second))
	timeout := time.After(wait)
	s.mu.Lock()
	s.nexts = append(s.nexts, req)
	s.nextRunning = append(s.nextRunning, len(s.running))
	s.mu.Unlock()
	for {
		s.mu.Lock()
		if r.Context().Err() != nil || s.down {
			s.mu.Unlock()
			writeError(w, http.StatusServiceUnavailable, "gone")
			return
		}
		var resp robot.NextResponse
		resp.Stops, s.stops = s.stops, nil
		for req.FreeSlots > len(resp.Jobs) && len(s.queue) > 0 {
			a := s.queue[0]
			s.queue = s.queue[1:]
			s.running[a.JobKey] = true
			resp.Jobs = append(resp.Jobs, a)
		}
		wake := s.wake
		s.mu.Unlock()
		if len(resp.Jobs)+len(resp.Stops) > 0 {
			writeJSON(w, http.StatusOK, resp)
			return
		}
		select {
		case <-wake:
		case <-timeout:
			w.WriteHeader(http.StatusNoContent)
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	var req robot.HeartbeatRequest
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heartbeats = append(s.heartbeats, req)
	listed := map[string]bool{}
	for _, j := range req.Jobs {
		listed[j.JobKey] = true
	}
	resp := robot.HeartbeatResponse{HeartbeatIntervalSeconds: s.HeartbeatInterval}
	keep := s.cancels[:0:0]
	for _, k := range s.cancels {
		if listed[k] {
			resp.Cancel = append(resp.Cancel, k)
		} else {
			keep = append(keep, k)
		}
	}
	s.cancels = keep
	keepT := s.renewals[:0:0]
	for _, t := range s.renewals {
		if listed[t.JobKey] {
			resp.Tokens = append(resp.Tokens, t)
		} else {
			keepT = append(keepT, t)
		}
	}
	s.renewals = keepT
	keepS := s.hbStops[:0:0]
	for _, st := range s.hbStops {
		if listed[st.JobKey] {
			resp.Stops = append(resp.Stops, st)
		} else {
			keepS = append(keepS, st)
		}
	}
	s.hbStops = keepS
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) logsCall(w http.ResponseWriter, r *http.Request) {
	var req robot.LogsRequest
	if !decode(w, r, &req) {
		return
	}
	if len(req.Entries) > robot.MaxLogEntries {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%d entries; at most %d", len(req.Entries), robot.MaxLogEntries))
		return
	}
	for _, e := range req.Entries {
		if len(e.Message) > robot.MaxLogMessage {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("a message of %d bytes; at most %d", len(e.Message), robot.MaxLogMessage))
			return
		}
		switch e.Level {
		case robot.LevelTrace, robot.LevelInfo, robot.LevelWarn, robot.LevelError, robot.LevelFatal:
		default:
			writeError(w, http.StatusBadRequest, "level "+e.Level)
			return
		}
	}
	s.mu.Lock()
	s.logs = append(s.logs, req.Entries...)
	s.logCalls++
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) jobState(w http.ResponseWriter, r *http.Request) {
	var req robot.JobStateRequest
	if !decode(w, r, &req) {
		return
	}
	time.Sleep(s.StateDelay)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.states = append(s.states, req)
	if !s.running[req.JobKey] {
		writeError(w, http.StatusConflict, "job "+req.JobKey+" has already ended")
		return
	}
	delete(s.running, req.JobKey)
	state := "Successful"
	if req.Event == robot.EventFail {
		state = "Faulted"
	}
	writeJSON(w, http.StatusOK, robot.JobStateResponse{State: state})
}

func (s *Server) pkg(w http.ResponseWriter, r *http.Request) {
	k := r.URL.Query().Get("jobKey")
	s.mu.Lock()
	b, ok := s.packages[k]
	if ok {
		s.downloads++
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusForbidden, "job "+k+" is not this robot's")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(b)
}

// Entry is one entry of a package built by Zip.
type Entry struct {
	Name string
	Body string
	Mode fs.FileMode // 0: a 0644 file
}

// Zip builds a zip archive of entries as they are, unsafe ones included.
func Zip(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate}
		mode := e.Mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		f, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(e.Body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Package builds a process package that runs script with sh: <id>.nuspec,
// project.json {"main":"main.sh"} and main.sh, plus extra entries.
func Package(t testing.TB, id, version, script string, extra ...Entry) []byte {
	t.Helper()
	nuspec := fmt.Sprintf(`<?xml version="1.0"?><package><metadata><id>%s</id><version>%s</version><title>%s</title></metadata></package>`, id, version, id)
	entries := []Entry{
		{Name: id + ".nuspec", Body: nuspec},
		{Name: "project.json", Body: `{"main":"main.sh"}`},
		{Name: "main.sh", Body: script, Mode: 0o755},
	}
	return Zip(t, append(entries, extra...)...)
}
