package robot_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/robot"
	"github.com/openorch/openorch/internal/robot/robottest"
)

// A job keeps running while the server is away; the robot reconnects naming it, and its
// end is reported once the server is back.
func TestServerAwayThenBack(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	startRobot(t, s, nil)
	gate := filepath.Join(t.TempDir(), "gate")
	a := s.AddJob(newJob(), robottest.Package(t, "Test.Away", "1.0.0", fmt.Sprintf(`
echo ready
while [ ! -e %q ]; do sleep 0.02; done
echo finished
printf '{"ok":true}' > "$ORCH_OUTPUT_FILE"`, gate)))
	waitLog(t, s, a.JobKey, "ready")
	connects := len(s.Connects())
	s.SetDown(true)
	time.Sleep(300 * time.Millisecond) // heartbeats and polls fail meanwhile
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the job ends while the server is away
	if len(s.States()) != 0 {
		t.Fatal("a report got through while the server was down")
	}
	s.SetDown(false)
	st := s.WaitState(t, a.JobKey, 20*time.Second)
	if st.Event != robot.EventSucceed || string(st.OutputArguments) != `{"ok":true}` {
		t.Errorf("report = %+v", st)
	}
	c := s.Connects()
	if len(c) <= connects {
		t.Fatalf("the robot did not connect again after the server came back (%d connects)", len(c))
	}
	if again := c[connects]; !slices.Equal(again.RunningJobKeys, []string{a.JobKey}) {
		t.Errorf("reconnect runningJobKeys = %q, want the job it still had", again.RunningJobKeys)
	}
	waitLog(t, s, a.JobKey, "finished")
}

// Run's context ending is SIGTERM or SIGINT: running jobs finish, are reported, and the
// robot says goodbye.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	tr := startRobot(t, s, nil)
	a := s.AddJob(newJob(), robottest.Package(t, "Test.Shutdown", "1.0.0", `echo ready; sleep 0.4; echo finished`))
	waitLog(t, s, a.JobKey, "ready")
	if err := tr.stop(t); err != nil {
		t.Fatalf("Run returned %v, want nil on shutdown", err)
	}
	states := s.States()
	if len(states) != 1 || states[0].Event != robot.EventSucceed {
		t.Fatalf("reports = %+v, want the running job reported Succeed before Run returned", states)
	}
	if !slices.Contains(messages(s.Logs(a.JobKey), ""), "finished") {
		t.Error("the job's last log line was not shipped before Run returned")
	}
	if n := s.Disconnects(); n != 1 {
		t.Errorf("%d disconnects, want 1", n)
	}
	// No more jobs are taken.
	b := s.AddJob(newJob(), robottest.Package(t, "Test.Shutdown", "1.0.0", `echo ran`))
	time.Sleep(100 * time.Millisecond)
	if s.Running(b.JobKey) {
		t.Error("a stopped robot took a job")
	}
}

// Jobs still running when the shutdown timeout ends are soft-stopped and reported.
func TestShutdownTimeoutSoftStops(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	tr := startRobot(t, s, func(c *robot.Config) { c.ShutdownTimeout = 200 * time.Millisecond })
	marker := filepath.Join(t.TempDir(), "marker")
	a := s.AddJob(newJob(), robottest.Package(t, "Test.Forever", "1.0.0", fmt.Sprintf(`
trap 'echo got-term > %q; exit 5' TERM
echo ready
while true; do sleep 0.05; done`, marker)))
	waitLog(t, s, a.JobKey, "ready")
	start := time.Now()
	if err := tr.stop(t); err != nil {
		t.Fatalf("Run returned %v, want nil", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("shutdown took %s with a 200ms timeout", d)
	}
	if b, _ := os.ReadFile(marker); strings.TrimSpace(string(b)) != "got-term" {
		t.Error("the job did not get SIGTERM at the shutdown timeout")
	}
	states := s.States()
	if len(states) != 1 || states[0].Error == nil || !strings.Contains(states[0].Error.Title, "exited with 5 after a SoftStop") {
		t.Errorf("reports = %+v", states)
	}
	if s.Disconnects() != 1 {
		t.Error("no disconnect")
	}
}

// Renewed job tokens from heartbeats land in ORCH_ACCESS_TOKEN_FILE.
func TestTokenRenewalWritesTokenFile(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	startRobot(t, s, nil)
	gate := filepath.Join(t.TempDir(), "gate")
	a := s.AddJob(newJob(), robottest.Package(t, "Test.Token", "1.0.0", fmt.Sprintf(`
echo "first: $(cat "$ORCH_ACCESS_TOKEN_FILE")"
while [ "$(cat "$ORCH_ACCESS_TOKEN_FILE")" = "$ORCH_ACCESS_TOKEN" ]; do sleep 0.02; done
echo "renewed: $(cat "$ORCH_ACCESS_TOKEN_FILE")"
ls -l "$ORCH_ACCESS_TOKEN_FILE" | cut -c1-10
while [ ! -e %q ]; do sleep 0.02; done`, gate)))
	waitLog(t, s, a.JobKey, "first: "+a.AccessToken)
	listed := func(exp time.Time) bool {
		for _, h := range s.Heartbeats() {
			for _, j := range h.Jobs {
				if j.JobKey == a.JobKey && j.TokenExpiresAt != nil && j.TokenExpiresAt.Equal(exp) {
					return true
				}
			}
		}
		return false
	}
	robottest.Eventually(t, 10*time.Second, "a heartbeat listing the job with its token's expiry", func() bool {
		return listed(a.AccessTokenExpiresAt)
	})
	exp := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	s.RenewToken(a.JobKey, "renewed-job-token", exp)
	waitLog(t, s, a.JobKey, "renewed: renewed-job-token")
	waitLog(t, s, a.JobKey, "-rw-------")
	robottest.Eventually(t, 10*time.Second, "a heartbeat with the renewed token's expiry", func() bool { return listed(exp) })
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if st := s.WaitState(t, a.JobKey, 20*time.Second); st.Event != robot.EventSucceed {
		t.Fatalf("report = %+v", st)
	}
}

// A 401 gets a new token and the call goes on.
func TestUnauthorizedGetsNewToken(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	startRobot(t, s, nil)
	robottest.Eventually(t, 10*time.Second, "connected", func() bool { return len(s.Connects()) > 0 })
	issued := s.TokensIssued()
	s.RevokeTokens()
	a := s.AddJob(newJob(), robottest.Package(t, "Test.401", "1.0.0", `echo ran`))
	if st := s.WaitState(t, a.JobKey, 20*time.Second); st.Event != robot.EventSucceed {
		t.Errorf("report = %+v", st)
	}
	if s.TokensIssued() <= issued {
		t.Error("the robot did not sign in again after a 401")
	}
}

// Wrong client credentials end Run with an error that says so, without the secret.
func TestBadCredentials(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	cfg := s.Config()
	cfg.WorkDir = t.TempDir()
	cfg.ClientSecret = "wrong-secret-value-1234567890"
	logBuf := &syncBuffer{}
	cfg.Logger = newTestLogger(logBuf)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := robot.Run(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("Run = %v, want a refusal naming invalid_client", err)
	}
	if strings.Contains(err.Error()+logBuf.String(), cfg.ClientSecret) {
		t.Error("the secret appears in the error or the log")
	}
}

// A refusal (4xx) is logged with the server's message.
func TestRefusalIsLoggedWithMessage(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	tr := startRobot(t, s, nil)
	robottest.Eventually(t, 10*time.Second, "connected", func() bool { return len(s.Connects()) > 0 })
	s.RefuseOnce("robot/heartbeat", 403)
	robottest.Eventually(t, 10*time.Second, "the refusal logged", func() bool {
		return strings.Contains(tr.log.String(), "robot/heartbeat refused by the test (403)")
	})
}

// A heartbeat or a robot/next answered 404 (the server no longer knows the robot's Key)
// makes the robot connect again, and so does a robot/next answered 5xx; it goes on taking
// jobs.
func TestUnknownRobotConnectsAgain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path   string
		status int
	}{{"robot/heartbeat", http.StatusNotFound}, {"robot/next", http.StatusNotFound}, {"robot/next", http.StatusServiceUnavailable}} {
		t.Run(fmt.Sprintf("%s-%d", strings.TrimPrefix(tc.path, "robot/"), tc.status), func(t *testing.T) {
			t.Parallel()
			s := robottest.New(t)
			startRobot(t, s, nil)
			robottest.Eventually(t, 10*time.Second, "connected", func() bool { return len(s.Connects()) > 0 })
			s.RefuseOnce(tc.path, tc.status)
			robottest.Eventually(t, 10*time.Second, "a second connect", func() bool { return len(s.Connects()) > 1 })
			a := s.AddJob(newJob(), robottest.Package(t, "Test.Again", "1.0.0", `echo ran`))
			if st := s.WaitState(t, a.JobKey, 20*time.Second); st.Event != robot.EventSucceed {
				t.Errorf("report after connecting again = %+v", st)
			}
		})
	}
}
