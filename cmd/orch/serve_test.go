package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeDemoFirstAndSecondStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := startServe(t, env(nil), "--demo", "--data-dir", dir)
	exports := demoExports(first.Stdout.String())
	for _, k := range []string{"ORCH_DEMO_URL", "ORCH_DEMO_ORG", "ORCH_DEMO_TENANT", "ORCH_DEMO_FOLDER", "ORCH_DEMO_USER",
		"ORCH_DEMO_PASSWORD", "ORCH_DEMO_CLIENT_ID", "ORCH_DEMO_CLIENT_SECRET", "ORCH_DEMO_MACHINE_CLIENT_ID", "ORCH_DEMO_MACHINE_CLIENT_SECRET"} {
		if exports[k] == "" {
			t.Errorf("demo block lacks %s; stdout:\n%s", k, first.Stdout)
		}
	}
	if exports["ORCH_DEMO_URL"] != first.URL {
		t.Errorf("ORCH_DEMO_URL = %q, want the bound URL %q", exports["ORCH_DEMO_URL"], first.URL)
	}
	if code := getStatus(t, first.URL+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d, want 200", code)
	}
	// Secrets go to stdout only, never to the log.
	for _, k := range []string{"ORCH_DEMO_PASSWORD", "ORCH_DEMO_CLIENT_SECRET", "ORCH_DEMO_MACHINE_CLIENT_SECRET"} {
		if strings.Contains(first.Stderr.String(), exports[k]) {
			t.Errorf("the log contains the value of %s", k)
		}
	}
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.key")); err != nil {
		t.Fatalf("secret key not created in the data dir: %v", err)
	}

	second := startServe(t, env(nil), "--demo", "--data-dir", dir)
	if code := getStatus(t, second.URL+"/readyz"); code != 200 {
		t.Fatalf("second start: /readyz = %d, want 200", code)
	}
	out := second.Stdout.String()
	if strings.Contains(out, "export ") {
		t.Errorf("second start printed secrets:\n%s", out)
	}
	for _, k := range []string{"ORCH_DEMO_PASSWORD", "ORCH_DEMO_CLIENT_SECRET"} {
		if strings.Contains(out+second.Stderr.String(), exports[k]) {
			t.Errorf("second start shows %s", k)
		}
	}
}

func TestServeRefusesBadInput(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() }) // not defer: the parallel subtests run after this function returns
	notADir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notADir, []byte("x"), 0o600)
	badYAML := filepath.Join(t.TempDir(), "orch.yaml")
	os.WriteFile(badYAML, []byte("organizations:\n  - name: acme\n    tenants: [\n"), 0o600)
	shortSecret := filepath.Join(t.TempDir(), "orch.yaml")
	os.WriteFile(shortSecret, []byte("organizations:\n  - name: acme\n    apps:\n      - {clientId: bot, clientSecret: tooshort}\n"), 0o600)

	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"port in use", []string{"--listen", busy.Addr().String()}, nil, "address already in use"},
		{"data dir is a file", []string{"--data-dir", filepath.Join(notADir, "sub")}, nil, "data directory"},
		{"malformed YAML", []string{"--config", badYAML}, nil, "orch.yaml:"},
		{"short secret", []string{"--config", shortSecret}, nil, "at least 32 characters"},
		{"postgres without key", []string{"--database-url", "postgres://postgres@127.0.0.1:1/x"}, nil, "secret key is required"},
		{"unreachable postgres", []string{"--database-url", "postgres://postgres:pw@127.0.0.1:1/x?connect_timeout=2"},
			map[string]string{"ORCH_SECRET_KEY": strings.Repeat("ab", 32)}, "cannot reach PostgreSQL at 127.0.0.1:1"},
		{"bad secret key", nil, map[string]string{"ORCH_SECRET_KEY": "nope"}, "ORCH_SECRET_KEY"},
		{"unknown flag", []string{"--lisen", "x"}, nil, "lisen"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"serve", "--data-dir", t.TempDir()}, c.args...)
			if c.args == nil || c.args[0] != "--listen" {
				args = append(args, "--listen", "127.0.0.1:0")
			}
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), args, env(c.env), &stdout, &stderr)
			if err == nil {
				t.Fatalf("serve started; want an error mentioning %q", c.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not mention %q", msg, c.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if strings.Contains(msg, "pw@") || strings.Contains(msg, "tooshort") {
				t.Errorf("error shows a secret: %q", msg)
			}
		})
	}
}

func TestWrongSecretKeyIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServe(t, env(nil), "--data-dir", dir)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0"},
		env(map[string]string{"ORCH_SECRET_KEY": strings.Repeat("cd", 32)}), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "secret key does not match") {
		t.Fatalf("start with another key: %v; want a refusal", err)
	}
	os.Remove(filepath.Join(dir, "secret.key"))
	err = run(context.Background(), []string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0"}, env(nil), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "is missing") {
		t.Fatalf("start without the key file: %v; want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.key")); err == nil {
		t.Fatal("a new key file was created for a database set up with another key")
	}
}

func TestVersionAndUsage(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, env(nil), &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "orch ") || !strings.Contains(out.String(), "go1.") {
		t.Errorf("version printed %q", out.String())
	}
	err := run(context.Background(), []string{"frobnicate"}, env(nil), &out, &out)
	if _, ok := err.(usageError); !ok {
		t.Errorf("unknown command: %v, want a usage error", err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"serve", "--help"}, env(nil), &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--listen", "ORCH_LISTEN", "--database-url", "--demo"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	for range 2 { // the second run finds nothing to do
		out.Reset()
		if err := run(context.Background(), []string{"migrate", "--data-dir", dir}, env(nil), &out, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "database is up to date (sqlite)") {
			t.Errorf("migrate printed %q", out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "orch.db")); err != nil {
		t.Errorf("no database file: %v", err)
	}
}

func TestKeysRotateCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"keys", "rotate", "--data-dir", dir}, env(nil), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	first := out.String()
	out.Reset()
	if err := run(context.Background(), []string{"keys", "rotate", "--data-dir", dir}, env(nil), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	// "token signing key rotated: NEW now signs (ES256); OLD keeps verifying …": the second
	// rotation retires the key the first one made.
	newKID := strings.Fields(strings.TrimPrefix(first, "token signing key rotated: "))[0]
	if !strings.Contains(out.String(), newKID+" keeps verifying") || strings.Contains(out.String(), "rotated: "+newKID) {
		t.Errorf("first: %q\nsecond: %q", first, out.String())
	}
	if err := run(context.Background(), []string{"keys"}, env(nil), &out, &out); err == nil {
		t.Error("orch keys without rotate: no error")
	}
}
