package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/robot/robottest"
)

// robotEnv is the environment of an orch robot for the fake server s.
func robotEnv(s *robottest.Server, workDir string) map[string]string {
	return map[string]string{
		"ORCH_ROBOT_URL": s.URL, "ORCH_ROBOT_ORG": s.Org, "ORCH_ROBOT_TENANT": s.Tenant,
		"ORCH_ROBOT_CLIENT_ID": s.ClientID, "ORCH_ROBOT_CLIENT_SECRET": s.ClientSecret,
		"ORCH_ROBOT_WORK_DIR": workDir, "ORCH_ROBOT_HOST_NAME": "env-host",
	}
}

func TestRobotSettings(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	kv := robotEnv(s, t.TempDir())
	kv["ORCH_ROBOT_SLOTS"] = "5" // the flag below wins
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	stderr := &syncBuffer{}
	go func() {
		done <- run(ctx, []string{"robot", "--host-name", "flag-host", "--slots", "1"}, env(kv), &syncBuffer{}, stderr)
	}()
	// The fake server records a connect before answering it; the robot has the answer
	// once it asks for work. A cancel before then ends Run without a disconnect.
	robottest.Eventually(t, 10*time.Second, "the robot connected", func() bool { return len(s.Nexts()) > 0 })
	c := s.Connects()[0]
	if c.HostName != "flag-host" || c.Slots != 1 {
		t.Errorf("connect = %+v, want host flag-host and 1 slot (flags win over the environment)", c)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("orch robot ended with %v, want nil on shutdown", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("orch robot did not stop")
	}
	if s.Disconnects() != 1 {
		t.Error("orch robot did not disconnect on shutdown")
	}
	if strings.Contains(stderr.String(), s.ClientSecret) || strings.Contains(stderr.String(), "robot-token-") {
		t.Error("the robot's log holds its secret or token")
	}
}

func TestRobotUsage(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	if err := run(context.Background(), []string{"robot", "--help"}, env(nil), out, &syncBuffer{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ORCH_ROBOT_CLIENT_SECRET", "--work-dir", "--slots", "Example"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("orch robot --help does not mention %s", want)
		}
	}
	err := run(context.Background(), []string{"robot", "--url", "http://127.0.0.1:9", "--org", "o"}, env(map[string]string{"ORCH_ROBOT_TENANT": "t"}), out, out)
	if _, ok := err.(usageError); !ok || !strings.Contains(err.Error(), "--client-id (or ORCH_ROBOT_CLIENT_ID), --client-secret (or ORCH_ROBOT_CLIENT_SECRET)") ||
		strings.Contains(err.Error(), "--tenant") {
		t.Errorf("missing settings: %v, want a usage error naming each missing flag and its variable", err)
	}
	err = run(context.Background(), []string{"robot", "--slots", "0"}, env(robotEnv(robottest.New(t), t.TempDir())), out, out)
	if err == nil || !strings.Contains(err.Error(), "--slots (or ORCH_ROBOT_SLOTS)") {
		t.Errorf("--slots 0: %v", err)
	}
}

// SIGTERM ends a real orch robot cleanly: exit status 0, after a disconnect.
func TestRobotSIGTERM(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	cmd := exec.Command(orchBin, "robot")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range robotEnv(s, t.TempDir()) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Connected means the robot has the connect answer: it asks for work only then. (A
	// robot stopped while its connect is on the way exits without a disconnect; its session
	// then ends as unresponsive.)
	robottest.Eventually(t, 20*time.Second, "the robot connected", func() bool { return len(s.Nexts()) > 0 })
	cmd.Process.Signal(syscall.SIGTERM)
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("orch robot after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("orch robot did not exit after SIGTERM\n%s", stderr.String())
	}
	if s.Disconnects() != 1 {
		t.Errorf("no disconnect before exit\n%s", stderr.String())
	}
}

// Inside a job, orch token and orch api use the token the robot keeps renewed in
// ORCH_ACCESS_TOKEN_FILE rather than the first one in ORCH_ACCESS_TOKEN.
func TestJobTokenFile(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var auth string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = r.Header.Get("Authorization")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"value":[]}`))
	}))
	defer api.Close()
	file := filepath.Join(t.TempDir(), "access-token")
	if err := os.WriteFile(file, []byte("renewed-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	job := newTestCLI(t, map[string]string{"ORCH_URL": api.URL + "/acme/DefaultTenant/orchestrator_",
		"ORCH_ACCESS_TOKEN": "first-token", "ORCH_ACCESS_TOKEN_FILE": file, "ORCH_FOLDER_ID": "3"})
	if got := strings.TrimSpace(job.must(t, "token")); got != "renewed-token" {
		t.Errorf("orch token inside a job printed %q, want the token file's", got)
	}
	job.must(t, "api", "/odata/Folders")
	mu.Lock()
	if auth != "Bearer renewed-token" {
		t.Errorf("orch api inside a job sent %q, want the token file's", auth)
	}
	mu.Unlock()
	// Without a readable file, the environment's token.
	gone := newTestCLI(t, map[string]string{"ORCH_URL": api.URL + "/acme/DefaultTenant/orchestrator_",
		"ORCH_ACCESS_TOKEN": "first-token", "ORCH_ACCESS_TOKEN_FILE": filepath.Join(t.TempDir(), "none")})
	if got := strings.TrimSpace(gone.must(t, "token")); got != "first-token" {
		t.Errorf("orch token without the token file printed %q, want ORCH_ACCESS_TOKEN", got)
	}
}
