package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/store/postgres"
	"github.com/openorch/openorch/internal/store/sqlite"
	"github.com/openorch/openorch/internal/store/sqlstore"
	"github.com/openorch/openorch/internal/store/storetest"
)

const crashUsers = 40

// bigBootstrapFile writes a file whose apply takes a while (every password is hashed with
// a slow hash), so that a kill can land in the middle of it.
func bigBootstrapFile(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("organizations:\n  - name: crash\n    users:\n")
	for i := range crashUsers {
		fmt.Fprintf(&b, "      - {email: user%d@crash.test, name: User %d, password: password-%d}\n", i, i, i)
	}
	b.WriteString("    tenants:\n      - name: DefaultTenant\n        folders:\n")
	for i := range 20 {
		fmt.Fprintf(&b, "          - path: F%d/Sub\n", i)
	}
	path := filepath.Join(t.TempDir(), "orch.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// proc is a real orch process whose JSON log lines a test can wait for.
type proc struct {
	cmd   *exec.Cmd
	lines chan string
}

func startProc(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(orchBin, append([]string{"serve", "--listen", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, lines: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return p
}

// waitFor returns the first log line whose msg is msg; ok is false when the process ended
// or the timeout passed first.
func (p *proc) waitFor(msg string, timeout time.Duration) (line map[string]any, ok bool) {
	deadline := time.After(timeout)
	for {
		select {
		case l, open := <-p.lines:
			if !open {
				return nil, false
			}
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
				return m, true
			}
		case <-deadline:
			return nil, false
		}
	}
}

func (p *proc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
}

// TestKillDuringBootstrap kills orch with SIGKILL at several points of its first start and
// checks that the next start is clean and complete.
func TestKillDuringBootstrap(t *testing.T) {
	t.Parallel()
	engines := map[string]func(t *testing.T) (args, env []string, open func() *sqlstore.DB){
		"sqlite": func(t *testing.T) ([]string, []string, func() *sqlstore.DB) {
			dir := t.TempDir()
			return []string{"--data-dir", dir}, nil, func() *sqlstore.DB {
				db, err := sqlite.Open(context.Background(), filepath.Join(dir, "orch.db"), sqlite.Options{})
				if err != nil {
					t.Fatal(err)
				}
				return db
			}
		},
		"postgres": func(t *testing.T) ([]string, []string, func() *sqlstore.DB) {
			url := storetest.PostgresURL(t)
			return []string{"--database-url", url, "--data-dir", t.TempDir()},
				[]string{"ORCH_SECRET_KEY=" + strings.Repeat("5a", 32)},
				func() *sqlstore.DB {
					db, err := postgres.Open(context.Background(), url, postgres.Options{})
					if err != nil {
						t.Fatal(err)
					}
					return db
				}
		},
	}
	for name, setup := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args, env, open := setup(t)
			args = append(args, "--config", bigBootstrapFile(t))

			// 1. Killed at once: somewhere in start-up, migrations or key creation.
			p := startProc(t, env, args...)
			time.Sleep(30 * time.Millisecond)
			p.kill9(t)

			// 2. Killed in the middle of applying the file, at two depths.
			for _, after := range []time.Duration{50 * time.Millisecond, 400 * time.Millisecond} {
				p = startProc(t, env, args...)
				if _, ok := p.waitFor("applying bootstrap file", 30*time.Second); !ok {
					t.Fatal("orch never started applying the bootstrap file")
				}
				time.Sleep(after)
				p.kill9(t)
				for l := range p.lines {
					if strings.Contains(l, "bootstrap file applied") {
						t.Fatalf("the kill %v in came after the apply finished; make the file bigger", after)
					}
				}
			}

			// 3. The next start is clean and complete.
			p = startProc(t, env, args...)
			line, ok := p.waitFor("OpenOrch is serving", 60*time.Second)
			if !ok {
				t.Fatal("orch did not start after the kills")
			}
			if code := getStatus(t, line["url"].(string)+"/readyz"); code != 200 {
				t.Fatalf("/readyz = %d", code)
			}
			p.cmd.Process.Signal(syscall.SIGTERM)
			if err := p.cmd.Wait(); err != nil {
				t.Fatalf("orch did not stop cleanly: %v", err)
			}
			db := open()
			defer db.Close()
			ctx := context.Background()
			org, err := db.OrganizationGetByName(ctx, "crash")
			if err != nil {
				t.Fatal(err)
			}
			users, _ := db.UserList(ctx, org.ID)
			if len(users) != crashUsers {
				t.Errorf("%d users after the restart, want %d", len(users), crashUsers)
			}
			tn, _ := db.TenantGetByName(ctx, org.ID, "DefaultTenant")
			folders, _ := db.FolderList(ctx, tn.ID)
			if len(folders) != 40 {
				t.Errorf("%d folders after the restart, want 40", len(folders))
			}
		})
	}
}
