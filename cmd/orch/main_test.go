package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/testutil"
)

// orchBin is the orch binary built once for the tests that need a real process.
var orchBin string

func TestMain(m *testing.M) {
	bin, remove, err := testutil.BuildOrch(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	orchBin = bin
	code := m.Run()
	remove()
	os.Exit(code)
}

// syncBuffer is an io.Writer that many goroutines may write while a test reads it.
type syncBuffer = testutil.Buffer

// served is an in-process `orch serve` started by a test.
type served struct {
	URL            string
	Stdout, Stderr *syncBuffer
	stop           func() error
}

// env is a getenv over a map (tests never read the real environment).
func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// startServe runs `orch serve args…` in-process with JSON logs and waits until it serves.
// The server stops at the end of the test (and must stop cleanly).
func startServe(t testing.TB, getenv func(string) string, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}}
	done := make(chan error, 1)
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--log-format", "json"}, args...)
	go func() { done <- run(ctx, args, getenv, s.Stdout, s.Stderr) }()
	var once sync.Once
	var stopErr error
	s.stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("serve ended with an error: %v", err)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if u := servingURL(s.Stderr.String()); u != "" {
			s.URL = u
			return s
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before serving: %v\nstderr:\n%s", err, s.Stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start within 30s\nstderr:\n%s", s.Stderr)
	return nil
}

// servingURL finds the URL in the "OpenOrch is serving" log line.
func servingURL(logs string) string {
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line struct{ Msg, URL string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "OpenOrch is serving" {
			return line.URL
		}
	}
	return ""
}

// demoExports parses the `export ORCH_DEMO_X=v` lines of the demo block.
func demoExports(stdout string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(stdout, "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && strings.HasPrefix(line, "export ORCH_DEMO_") {
			out[k] = v
		}
	}
	return out
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
