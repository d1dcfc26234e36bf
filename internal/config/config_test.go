package config

import (
	"bytes"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// env is a fake environment for getenv.
type env map[string]string

func (e env) get(name string) string { return e[name] }

// writeFile writes a bootstrap file into a fresh directory and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "orch.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Load(nil, env{}.get)
	if err != nil {
		t.Fatal(err)
	}
	want := Server{
		Listen:                 "127.0.0.1:8080",
		DataDir:                "./orch-data",
		RobotHeartbeatInterval: 30 * time.Second,
		RobotUnresponsiveAfter: 2 * time.Minute,
		QueueItemAbandonAfter:  24 * time.Hour,
		QueueItemRetention:     30 * 24 * time.Hour,
		RobotLogRetention:      30 * 24 * time.Hour,
		LogFormat:              "text",
		LogLevel:               "info",
		TokenSigningAlg:        "ES256",
	}
	if !reflect.DeepEqual(cfg.Server, want) {
		t.Errorf("Server = %+v, want %+v", cfg.Server, want)
	}
	if cfg.File != nil || cfg.FilePath != "" || cfg.Demo {
		t.Errorf("File = %v, FilePath = %q, Demo = %v; want nil, empty, false", cfg.File, cfg.FilePath, cfg.Demo)
	}
}

func TestLoadPrecedence(t *testing.T) {
	t.Parallel()
	const file = `server:
  listen: 127.0.0.1:7000
  logLevel: warn
  logFormat: json
  dataDir: ./from-file
  secretKeyFile: file.key
  trustedProxies: [10.0.0.0/8]
  robotHeartbeatInterval: 10s
  robotLogRetention: 168h
`
	tests := []struct {
		name  string
		args  []string // the file's path is passed with --config unless viaEnv
		env   env
		file  string
		check func(t *testing.T, s Server)
	}{
		{
			name: "file over default",
			file: file,
			check: func(t *testing.T, s Server) {
				expect(t, "Listen", s.Listen, "127.0.0.1:7000")
				expect(t, "LogLevel", s.LogLevel, "warn")
				expect(t, "LogFormat", s.LogFormat, "json")
				expect(t, "DataDir", s.DataDir, "./from-file")
				expect(t, "SecretKeyFile", s.SecretKeyFile, "file.key")
				expect(t, "TrustedProxies", s.TrustedProxies, []string{"10.0.0.0/8"})
				expect(t, "RobotHeartbeatInterval", s.RobotHeartbeatInterval, 10*time.Second)
				expect(t, "RobotUnresponsiveAfter", s.RobotUnresponsiveAfter, 2*time.Minute)
				expect(t, "RobotLogRetention", s.RobotLogRetention, 7*24*time.Hour)
			},
		},
		{
			name: "env over file",
			file: file,
			env: env{
				"ORCH_LISTEN": ":9000", "ORCH_LOG_LEVEL": "DEBUG", "ORCH_DATA_DIR": "/var/lib/orch",
				"ORCH_TRUSTED_PROXIES": " 192.168.0.0/16, 127.0.0.1 ,", "ORCH_ROBOT_HEARTBEAT_INTERVAL": "1m",
				"ORCH_ROBOT_LOG_RETENTION": "48h",
			},
			check: func(t *testing.T, s Server) {
				expect(t, "Listen", s.Listen, ":9000")
				expect(t, "LogLevel", s.LogLevel, "debug")
				expect(t, "LogFormat", s.LogFormat, "json")
				expect(t, "DataDir", s.DataDir, "/var/lib/orch")
				expect(t, "TrustedProxies", s.TrustedProxies, []string{"192.168.0.0/16", "127.0.0.1"})
				expect(t, "RobotHeartbeatInterval", s.RobotHeartbeatInterval, time.Minute)
				expect(t, "RobotLogRetention", s.RobotLogRetention, 48*time.Hour)
			},
		},
		{
			name: "flag over env over file",
			args: []string{"--listen", "0.0.0.0:8443", "-log-level=error", "--trusted-proxies", "::1", "--robot-unresponsive-after", "5m"},
			file: file,
			env:  env{"ORCH_LISTEN": ":9000", "ORCH_LOG_LEVEL": "debug", "ORCH_TRUSTED_PROXIES": "10.1.0.0/16"},
			check: func(t *testing.T, s Server) {
				expect(t, "Listen", s.Listen, "0.0.0.0:8443")
				expect(t, "LogLevel", s.LogLevel, "error")
				expect(t, "DataDir", s.DataDir, "./from-file")
				expect(t, "TrustedProxies", s.TrustedProxies, []string{"::1"})
				expect(t, "RobotUnresponsiveAfter", s.RobotUnresponsiveAfter, 5*time.Minute)
			},
		},
		{
			name: "a flag equal to the default still wins",
			args: []string{"--log-level", "info", "--listen", "127.0.0.1:8080"},
			env:  env{"ORCH_LOG_LEVEL": "debug", "ORCH_LISTEN": ":1"},
			check: func(t *testing.T, s Server) {
				expect(t, "LogLevel", s.LogLevel, "info")
				expect(t, "Listen", s.Listen, "127.0.0.1:8080")
			},
		},
		{
			name: "ORCH_SECRET_KEY over the file's secretKeyFile",
			file: file,
			env:  env{"ORCH_SECRET_KEY": "the-key-itself"},
			check: func(t *testing.T, s Server) {
				expect(t, "SecretKey", s.SecretKey, "the-key-itself")
				expect(t, "SecretKeyFile", s.SecretKeyFile, "")
			},
		},
		{
			name: "--secret-key-file over ORCH_SECRET_KEY",
			args: []string{"--secret-key-file", "/etc/orch/secret.key"},
			env:  env{"ORCH_SECRET_KEY": "the-key-itself"},
			check: func(t *testing.T, s Server) {
				expect(t, "SecretKeyFile", s.SecretKeyFile, "/etc/orch/secret.key")
				expect(t, "SecretKey", s.SecretKey, "")
			},
		},
		{
			name: "PostgreSQL with ORCH_SECRET_KEY, public URL trimmed",
			env: env{
				"ORCH_DATABASE_URL": "postgres://orch:pw@db/orch?sslmode=disable", "ORCH_SECRET_KEY": "k",
				"ORCH_PUBLIC_URL": "https://orch.example.com/",
			},
			check: func(t *testing.T, s Server) {
				expect(t, "Postgres()", s.Postgres(), true)
				expect(t, "PublicURL", s.PublicURL, "https://orch.example.com")
			},
		},
		{
			name: "TLS from file and env",
			file: "server: {tlsCert: cert.pem}\n",
			env:  env{"ORCH_TLS_KEY": "key.pem"},
			check: func(t *testing.T, s Server) {
				expect(t, "TLSCert", s.TLSCert, "cert.pem")
				expect(t, "TLSKey", s.TLSKey, "key.pem")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, tt.file)}, args...)
			}
			cfg, err := Load(args, tt.env.get)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg.Server)
		})
	}
}

func expect(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestLoadConfigPath(t *testing.T) {
	t.Parallel()
	fromEnv := writeFile(t, "server: {listen: ':1'}\n")
	fromFlag := writeFile(t, "server: {listen: ':2'}\n")

	cfg, err := Load([]string{"--demo"}, env{"ORCH_CONFIG": fromEnv}.get)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "FilePath", cfg.FilePath, fromEnv)
	expect(t, "Listen", cfg.Server.Listen, ":1")
	expect(t, "Demo", cfg.Demo, true)
	if cfg.File == nil {
		t.Fatal("File is nil")
	}

	cfg, err = Load([]string{"--config=" + fromFlag}, env{"ORCH_CONFIG": fromEnv}.get)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "FilePath", cfg.FilePath, fromFlag)
	expect(t, "Listen", cfg.Server.Listen, ":2")
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  env
		file string // written to a file passed with --config; FILE in want is its path
		want string
		hide string // must not appear in the message
	}{
		{
			name: "PostgreSQL without a secret key",
			env:  env{"ORCH_DATABASE_URL": "postgresql://orch@db/orch"},
			want: "a secret key is required with PostgreSQL: set --secret-key-file or ORCH_SECRET_KEY (every node must use the same key)",
		},
		{
			name: "PostgreSQL from the file, key only in the data dir",
			file: "server: {databaseURL: 'postgres://db/orch', dataDir: /data}\n",
			want: "a secret key is required with PostgreSQL: set --secret-key-file or ORCH_SECRET_KEY (every node must use the same key)",
		},
		{
			name: "TLS certificate without key",
			args: []string{"--tls-cert", "cert.pem"},
			want: "--tls-cert: a TLS certificate needs a key too: set --tls-key, ORCH_TLS_KEY or server.tlsKey",
		},
		{
			name: "TLS key without certificate",
			file: "server:\n  listen: :8443\n  tlsKey: key.pem\n",
			want: "FILE:3: server.tlsKey: a TLS key needs a certificate too: set --tls-cert, ORCH_TLS_CERT or server.tlsCert",
		},
		{
			name: "listen without port",
			env:  env{"ORCH_LISTEN": "localhost"},
			want: `ORCH_LISTEN: must be host:port, such as 127.0.0.1:8080 or :8080, got "localhost"`,
		},
		{
			name: "listen with a bad port",
			args: []string{"--listen", "localhost:http"},
			want: `--listen: port must be a number from 0 to 65535, got "http"`,
		},
		{
			name: "database URL of another engine, value hidden",
			env:  env{"ORCH_DATABASE_URL": "mysql://root:hunter2@db/orch"},
			want: "ORCH_DATABASE_URL: must be a postgres:// or postgresql:// URL, or empty for SQLite",
			hide: "hunter2",
		},
		{
			name: "public URL with a query",
			args: []string{"--public-url", "https://orch.example.com/?x=1"},
			want: `--public-url: must not have a query or a fragment, got "https://orch.example.com/?x=1"`,
		},
		{
			name: "public URL not http",
			env:  env{"ORCH_PUBLIC_URL": "orch.example.com"},
			want: `ORCH_PUBLIC_URL: must be an absolute http:// or https:// URL, got "orch.example.com"`,
		},
		{
			name: "bad trusted proxy",
			env:  env{"ORCH_TRUSTED_PROXIES": "10.0.0.0/8,10.0.0.300"},
			want: `ORCH_TRUSTED_PROXIES: "10.0.0.300": not an IP address or a CIDR`,
		},
		{
			name: "bad duration",
			args: []string{"--robot-heartbeat-interval", "30"},
			want: `--robot-heartbeat-interval: must be a duration such as 30s or 2m, got "30"`,
		},
		{
			name: "zero duration",
			env:  env{"ORCH_ROBOT_UNRESPONSIVE_AFTER": "0s"},
			want: `ORCH_ROBOT_UNRESPONSIVE_AFTER: must be positive, got "0s"`,
		},
		{
			name: "unresponsive not longer than heartbeat",
			args: []string{"--robot-heartbeat-interval", "2m"},
			want: "--robot-unresponsive-after (default): 2m0s must be longer than the robot heartbeat interval (2m0s, from --robot-heartbeat-interval)",
		},
		{
			name: "bad log format in the file",
			file: "server:\n  logFormat: xml\n",
			want: `FILE:2: server.logFormat: must be text or json, got "xml"`,
		},
		{
			name: "bad log level",
			env:  env{"ORCH_LOG_LEVEL": "trace"},
			want: `ORCH_LOG_LEVEL: must be debug, info, warn or error, got "trace"`,
		},
		{
			name: "missing bootstrap file",
			args: []string{"--config", "/nonexistent/orch.yaml"},
			want: "--config: cannot read the bootstrap file: open /nonexistent/orch.yaml: no such file or directory",
		},
		{
			name: "missing bootstrap file from the environment",
			env:  env{"ORCH_CONFIG": "/nonexistent/orch.yaml"},
			want: "ORCH_CONFIG: cannot read the bootstrap file: open /nonexistent/orch.yaml: no such file or directory",
		},
		{
			name: "positional argument",
			args: []string{"--listen", ":1", "extra"},
			want: `unexpected argument "extra": orch serve takes flags only`,
		},
		{
			name: "unknown flag",
			args: []string{"--port", "8080"},
			want: "flag provided but not defined: -port",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args, want := tt.args, tt.want
			if tt.file != "" {
				path := writeFile(t, tt.file)
				args = append([]string{"--config", path}, args...)
				want = strings.ReplaceAll(want, "FILE", path)
			}
			_, err := Load(args, tt.env.get)
			if err == nil {
				t.Fatalf("Load succeeded, want error %q", want)
			}
			if err.Error() != want {
				t.Errorf("error:\n got %s\nwant %s", err, want)
			}
			if tt.hide != "" && strings.Contains(err.Error(), tt.hide) {
				t.Errorf("error %q reveals %q", err, tt.hide)
			}
		})
	}
}

func TestLoadHelp(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"-h", "--help", "-help"} {
		if _, err := Load([]string{arg}, env{}.get); err != flag.ErrHelp {
			t.Errorf("Load(%s) error = %v, want flag.ErrHelp", arg, err)
		}
	}
}

func TestFlagUsage(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	FlagUsage(&b)
	for _, s := range []string{
		"--config PATH", "env ORCH_CONFIG", "--listen HOST:PORT", "default 127.0.0.1:8080",
		"env ORCH_SECRET_KEY", "file server.robotUnresponsiveAfter", "default 2m", "--demo",
	} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("usage lacks %q:\n%s", s, b.String())
		}
	}
}

func TestTrustedPrefixes(t *testing.T) {
	t.Parallel()
	got, err := Server{TrustedProxies: []string{"10.1.2.3/8", "192.168.1.1", "::1"}}.TrustedPrefixes()
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.168.1.1/32"),
		netip.MustParsePrefix("::1/128"),
	}
	expect(t, "prefixes", got, want)
	if _, err := (Server{TrustedProxies: []string{"fe80::1%eth0"}}).TrustedPrefixes(); err == nil {
		t.Error("an address with a zone was accepted")
	}
}

func TestParseFileUnknownKey(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/unknown_key.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseFile("orch.yaml", data, env{}.get)
	const want = `orch.yaml:14: organizations[0].tenants[0].folders[1]: unknown key "pth"`
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n got %v\nwant %s", err, want)
	}
	var fe *FileError
	if !errors.As(err, &fe) || fe.Line != 14 || fe.Path != "organizations[0].tenants[0].folders[1]" {
		t.Errorf("FileError = %+v", fe)
	}
}

// acme is the start of most files below: an organization with a user, an app and a tenant
// with a folder and a machine, ending at line 17 (the tenant's queues key).
const acme = `organizations:
  - name: acme
    users:
      - {email: ann@acme.test}
    apps:
      - {clientId: bot, clientSecret: bot-secret-0123456789abcdef0123456}
    tenants:
      - name: T
        folders:
          - path: Shared
          - path: Finance/AP
            members:
              - {user: ann@acme.test, roles: [Automation User]}
        machines:
          - {name: m1, clientId: m1, clientSecret: m1-secret-0123456789abcdef01234567, folders: [Finance]}
        members:
          - {app: bot, roles: [Administrator]}
`

func TestParseFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		env  env
		want string
		hide string // must not appear in the message
	}{
		{
			name: "malformed YAML",
			yaml: "organizations:\n  - name: acme\n    users: [ann\n  - name: other\n",
			want: "orch.yaml:3: malformed YAML: did not find expected ',' or ']'",
		},
		{
			// yaml.v3's parser points at the start of the enclosing mapping.
			name: "bad indentation",
			yaml: "organizations:\n  - name: acme\n    users:\n      - email: a@b.c\n     name: A\n",
			want: "orch.yaml:2: malformed YAML: did not find expected key",
		},
		{
			name: "a key after a value",
			yaml: "organizations:\n  - name: acme\n    users: x: y\n",
			want: "orch.yaml:3: malformed YAML: mapping values are not allowed in this context",
		},
		{
			name: "tab indentation",
			yaml: "organizations:\n\t- name: acme\n",
			want: "orch.yaml:2: malformed YAML: found character that cannot start any token",
		},
		{
			name: "two documents",
			yaml: "organizations: []\n---\norganizations: []\n",
			want: "orch.yaml:2: only one YAML document is allowed",
		},
		{
			name: "not a mapping at the top",
			yaml: "- acme\n",
			want: "orch.yaml:1: expected a mapping (key: value), got a list",
		},
		{
			name: "a string where a list is wanted",
			yaml: "organizations: acme\n",
			want: "orch.yaml:1: organizations: expected a list, got a string",
		},
		{
			name: "a list where a string is wanted",
			yaml: "organizations:\n  - name: [acme]\n",
			want: "orch.yaml:2: organizations[0].name: expected a string, got a list",
		},
		{
			name: "a bad boolean",
			yaml: "organizations:\n  - name: acme\n    users:\n      - {email: a@b.c, orgAdmin: 1}\n",
			want: `orch.yaml:4: organizations[0].users[0].orgAdmin: expected true or false, got "1"`,
		},
		{
			name: "a bad integer",
			yaml: acme + "        queues:\n          - {name: Q, folder: Shared, maxRetries: two}\n",
			want: "orch.yaml:19: organizations[0].tenants[0].queues[0].maxRetries: expected an integer, got a string",
		},
		{
			name: "a bad timestamp",
			yaml: "organizations:\n  - name: acme\n    tenants:\n      - name: T\n        legacyBasicAuth: {enabled: true, until: 2027-01-01}\n",
			want: `orch.yaml:5: organizations[0].tenants[0].legacyBasicAuth.until: expected an RFC 3339 timestamp such as 2027-01-01T00:00:00Z, got "2027-01-01"`,
		},
		{
			name: "a duplicate key",
			yaml: "organizations:\n  - name: acme\n    name: other\n",
			want: `orch.yaml:3: organizations[0]: duplicate key "name" (first at line 2)`,
		},
		{
			name: "a reserved organization name",
			yaml: "organizations:\n  - name: Identity_\n",
			want: `orch.yaml:2: organizations[0].name: "Identity_" is reserved (a URL path of OpenOrch) and cannot name an organization`,
		},
		{
			name: "an organization name with a space",
			yaml: "organizations:\n  - name: ac me\n",
			want: `orch.yaml:2: organizations[0].name: "ac me": only letters, digits, '-' and '_' are allowed`,
		},
		{
			name: "an organization without a name",
			yaml: "organizations:\n  - displayName: Acme\n",
			want: "orch.yaml:2: organizations[0]: name is required",
		},
		{
			name: "duplicate organization names",
			yaml: "organizations:\n  - name: acme\n  - name: ACME\n",
			want: `orch.yaml:3: organizations[1].name: duplicate organization name "ACME" (first at line 2)`,
		},
		{
			name: "duplicate tenant names",
			yaml: "organizations:\n  - name: acme\n    tenants:\n      - name: T\n      - name: t\n",
			want: `orch.yaml:5: organizations[0].tenants[1].name: duplicate tenant name "t" in organization "acme" (first at line 4)`,
		},
		{
			name: "duplicate users",
			yaml: "organizations:\n  - name: acme\n    users:\n      - email: ann@acme.test\n      - email: Ann@Acme.Test\n",
			want: `orch.yaml:5: organizations[0].users[1].email: duplicate user "Ann@Acme.Test" in organization "acme" (first at line 4)`,
		},
		{
			name: "a user email without @",
			yaml: "organizations:\n  - name: acme\n    users:\n      - email: ann\n",
			want: `orch.yaml:4: organizations[0].users[0].email: "ann" is not an email address`,
		},
		{
			name: "duplicate folders",
			yaml: acme + "      - name: U\n        folders:\n          - path: Shared\n          - path: shared\n",
			want: `orch.yaml:21: organizations[0].tenants[1].folders[1].path: duplicate folder "shared" in tenant "U" (first at line 20)`,
		},
		{
			name: "duplicate app names",
			yaml: "organizations:\n  - name: acme\n    apps:\n      - {name: Bot, clientId: a}\n      - {name: bot, clientId: b}\n",
			want: `orch.yaml:5: organizations[0].apps[1].name: duplicate app name "bot" (first at line 4)`,
		},
		{
			name: "duplicate app client ids across organizations",
			yaml: "organizations:\n  - name: a\n    apps: [{clientId: bot}]\n  - name: b\n    apps: [{clientId: bot}]\n",
			want: `orch.yaml:5: organizations[1].apps[0].clientId: duplicate clientId "bot" (first at line 3); client ids of apps and machines are unique across the file`,
		},
		{
			name: "an app client id equal to a machine's",
			yaml: acme + "  - name: other\n    apps: [{clientId: M1}]\n",
			want: `orch.yaml:19: organizations[1].apps[0].clientId: duplicate clientId "M1" (first at line 15); client ids of apps and machines are unique across the file`,
		},
		{
			name: "a built-in client id",
			yaml: "organizations:\n  - name: acme\n    apps:\n      - clientId: orch-cli\n",
			want: `orch.yaml:4: organizations[0].apps[0].clientId: "orch-cli" is the client id of a built-in client`,
		},
		{
			name: "an app without clientId",
			yaml: "organizations:\n  - name: acme\n    apps:\n      - name: bot\n",
			want: "orch.yaml:4: organizations[0].apps[0]: clientId is required",
		},
		{
			name: "an app name that is another app's client id",
			yaml: "organizations:\n  - name: acme\n    apps:\n      - {clientId: a, name: Alpha}\n      - {clientId: b, name: A}\n",
			want: `orch.yaml:5: organizations[0].apps[1].name: "A" is the clientId of another app (line 4); members could not tell them apart`,
		},
		{
			name: "a short client secret",
			yaml: "organizations:\n  - name: acme\n    apps:\n      - name: bot\n        clientId: bot\n        clientSecret: short-secret\n",
			want: "orch.yaml:6: organizations[0].apps[0].clientSecret: must be at least 32 characters (got 12)",
			hide: "short-secret",
		},
		{
			name: "a short client secret from the environment",
			yaml: "organizations:\n  - name: acme\n    apps:\n      - {clientId: bot, clientSecretEnv: BOT_SECRET}\n",
			env:  env{"BOT_SECRET": "tiny"},
			want: "orch.yaml:4: organizations[0].apps[0].clientSecretEnv: the value of BOT_SECRET must be at least 32 characters (got 4)",
			hide: "tiny",
		},
		{
			name: "a missing environment variable",
			yaml: "organizations:\n  - name: acme\n    users:\n      - email: ann@acme.test\n        passwordEnv: ANN_PASSWORD\n",
			want: "orch.yaml:5: organizations[0].users[0].passwordEnv: environment variable ANN_PASSWORD is not set or empty",
		},
		{
			name: "password and passwordEnv",
			yaml: "organizations:\n  - name: acme\n    users:\n      - {email: ann@acme.test, password: pw-inline, passwordEnv: ANN_PASSWORD}\n",
			env:  env{"ANN_PASSWORD": "pw-from-env"},
			want: "orch.yaml:4: organizations[0].users[0].passwordEnv: set password or passwordEnv, not both",
			hide: "pw-",
		},
		{
			name: "a scope with a space",
			yaml: "organizations:\n  - name: acme\n    apps:\n      - {clientId: bot, appScopes: [OR.Jobs OR.Queues]}\n",
			want: `orch.yaml:4: organizations[0].apps[0].appScopes[0]: scope "OR.Jobs OR.Queues" must not contain spaces; list each scope on its own`,
		},
		{
			name: "a relative redirect URI",
			yaml: "organizations:\n  - name: acme\n    apps:\n      - clientId: bot\n        redirectURIs:\n          - https://app.example.com/cb\n          - /cb\n",
			want: `orch.yaml:7: organizations[0].apps[0].redirectURIs[1]: must be an absolute URL, got "/cb"`,
		},
		{
			name: "a folder 8 levels deep",
			yaml: "organizations:\n  - name: acme\n    tenants:\n      - name: T\n        folders:\n          - path: A/B/C/D/E/F/G/H\n",
			want: `orch.yaml:6: organizations[0].tenants[0].folders[0].path: "A/B/C/D/E/F/G/H" has 8 levels; at most 7 are allowed`,
		},
		{
			name: "a folder segment too long",
			yaml: "organizations:\n  - name: acme\n    tenants:\n      - name: T\n        folders:\n          - path: A/" + strings.Repeat("x", 116) + "\n",
			want: "orch.yaml:6: organizations[0].tenants[0].folders[0].path: segment 2 of the path is 116 characters long; at most 115 are allowed",
		},
		{
			name: "a folder with an empty segment",
			yaml: "organizations:\n  - name: acme\n    tenants:\n      - name: T\n        folders:\n          - path: A//B\n",
			want: `orch.yaml:6: organizations[0].tenants[0].folders[0].path: "A//B" has an empty segment`,
		},
		{
			name: "a folder with a leading slash",
			yaml: "organizations:\n  - name: acme\n    tenants:\n      - name: T\n        folders:\n          - path: /A\n",
			want: `orch.yaml:6: organizations[0].tenants[0].folders[0].path: "/A" must not start or end with '/'`,
		},
		{
			name: "duplicate machines",
			yaml: acme + "        queues: []\n      - name: U\n        machines:\n          - {name: m, clientId: x, clientSecretEnv: X}\n          - {name: M, clientId: y, clientSecretEnv: X}\n",
			env:  env{"X": strings.Repeat("s", 32)},
			want: `orch.yaml:22: organizations[0].tenants[1].machines[1].name: duplicate machine "M" in tenant "U" (first at line 21)`,
		},
		{
			name: "a machine without a secret",
			yaml: "organizations:\n  - name: acme\n    tenants:\n      - name: T\n        machines:\n          - {name: m, clientId: m}\n",
			want: "orch.yaml:6: organizations[0].tenants[0].machines[0]: clientSecret or clientSecretEnv is required",
		},
		{
			name: "a machine with 0 slots",
			yaml: "organizations:\n  - name: acme\n    tenants:\n      - name: T\n        machines:\n          - name: m\n            clientId: m\n            clientSecret: " + strings.Repeat("s", 32) + "\n            slots: 0\n",
			want: "orch.yaml:9: organizations[0].tenants[0].machines[0].slots: must be at least 1, got 0",
		},
		{
			name: "a machine in an unknown folder",
			yaml: "organizations:\n  - name: acme\n    tenants:\n      - name: T\n        folders: [{path: A/B}]\n        machines:\n          - {name: m, clientId: m, clientSecret: " + strings.Repeat("s", 32) + ", folders: [A, B]}\n",
			want: `orch.yaml:7: organizations[0].tenants[0].machines[0].folders[1]: unknown folder "B": not a folder of tenant "T"`,
		},
		{
			name: "duplicate queues",
			yaml: acme + "        queues:\n          - {name: Q, folder: Shared}\n          - {name: Q, folder: Finance}\n          - {name: q, folder: shared}\n",
			want: `orch.yaml:21: organizations[0].tenants[0].queues[2].name: duplicate queue "q" in folder "shared" (first at line 19)`,
		},
		{
			name: "a queue in an unknown folder",
			yaml: acme + "        queues:\n          - {name: Q, folder: Finance/AR}\n",
			want: `orch.yaml:19: organizations[0].tenants[0].queues[0].folder: unknown folder "Finance/AR": not a folder of tenant "T"`,
		},
		{
			name: "a queue retrying too often",
			yaml: acme + "        queues:\n          - {name: Q, folder: Shared, maxRetries: 11}\n",
			want: "orch.yaml:19: organizations[0].tenants[0].queues[0].maxRetries: must be from 0 to 10, got 11",
		},
		{
			name: "a member referencing an unknown user",
			yaml: acme + "          - {user: bob@acme.test, roles: [Administrator]}\n",
			want: `orch.yaml:18: organizations[0].tenants[0].members[1].user: unknown user "bob@acme.test": not a user of organization "acme"`,
		},
		{
			name: "a member referencing an unknown app",
			yaml: acme + "          - {app: robot, roles: [Administrator]}\n",
			want: `orch.yaml:18: organizations[0].tenants[0].members[1].app: unknown app "robot": neither the clientId nor the name of an app of organization "acme"`,
		},
		{
			name: "a member referencing an unknown machine",
			yaml: acme + "          - {machine: m2, roles: [Administrator]}\n",
			want: `orch.yaml:18: organizations[0].tenants[0].members[1].machine: unknown machine "m2": not a machine of tenant "T"`,
		},
		{
			name: "a member naming a user and an app",
			yaml: acme + "          - {user: ann@acme.test, app: bot, roles: [Administrator]}\n",
			want: "orch.yaml:18: organizations[0].tenants[0].members[1]: a member names exactly one of user, app or machine (got 2)",
		},
		{
			name: "a member listed twice",
			yaml: acme + "          - {app: BOT, roles: [Administrator]}\n",
			want: "orch.yaml:18: organizations[0].tenants[0].members[1]: the same member as at line 17; list its roles once",
		},
		{
			name: "a member without roles",
			yaml: acme + "          - {user: ann@acme.test, roles: []}\n",
			want: "orch.yaml:18: organizations[0].tenants[0].members[1].roles: at least one role is required",
		},
		{
			name: "a folder role among tenant roles",
			yaml: acme + "          - {user: ann@acme.test, roles: [Administrator, Folder Administrator]}\n",
			want: `orch.yaml:18: organizations[0].tenants[0].members[1].roles[1]: "Folder Administrator" is a folder role, not a tenant role (tenant roles: "Administrator")`,
		},
		{
			name: "a tenant role among folder roles",
			yaml: "organizations:\n  - name: acme\n    users: [{email: a@b.c}]\n    tenants:\n      - name: T\n        folders:\n          - path: F\n            members: [{user: a@b.c, roles: [Administrator]}]\n",
			want: `orch.yaml:8: organizations[0].tenants[0].folders[0].members[0].roles[0]: "Administrator" is a tenant role, not a folder role (folder roles: "Folder Administrator", "Automation Developer", "Automation User", "Robot")`,
		},
		{
			name: "an unknown role",
			yaml: acme + "          - {user: ann@acme.test, roles: [Owner]}\n",
			want: `orch.yaml:18: organizations[0].tenants[0].members[1].roles[0]: unknown tenant role "Owner" (tenant roles: "Administrator")`,
		},
		{
			name: "the first problem in document order wins",
			yaml: "organizations:\n  - name: acme\n    tenants:\n      - name: T\n        members:\n          - {user: nobody@acme.test, roles: [Administrator]}\n        folders:\n          - path: A//B\n",
			want: `orch.yaml:6: organizations[0].tenants[0].members[0].user: unknown user "nobody@acme.test": not a user of organization "acme"`,
		},
		{
			name: "a bad server value",
			yaml: "server:\n  trustedProxies: [10.0.0.0/8, proxy.local]\n",
			want: `orch.yaml:2: server.trustedProxies[1]: "proxy.local": not an IP address or a CIDR`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseFile("orch.yaml", []byte(tt.yaml), tt.env.get)
			if err == nil {
				t.Fatalf("ParseFile succeeded, want error %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
			if tt.hide != "" && strings.Contains(err.Error(), tt.hide) {
				t.Errorf("error %q reveals %q", err, tt.hide)
			}
		})
	}
}

func TestParseFileNormalizes(t *testing.T) {
	t.Parallel()
	const yaml = `organizations:
  - name: acme
    users:
      - {email: ann@acme.test, passwordEnv: ANN_PASSWORD}
      - {email: bob@acme.test}
    apps:
      - {clientId: bot, clientSecretEnv: BOT_SECRET}
      - {clientId: spa, name: Web App, redirectURIs: ["http://localhost:5173/cb"]}
    tenants:
      - name: T
        members:
          - {app: Web App, roles: [Administrator]}
          - {app: BOT, roles: [Administrator]}
        folders:
          - path: Finance/AP
            members:
              - {machine: m1, roles: [Robot]}
              - {user: BOB@acme.test, roles: [Automation Developer, Automation User]}
        machines:
          - {name: m1, clientId: m1, clientSecretEnv: BOT_SECRET, folders: [finance, Finance/AP]}
          - {name: m2, clientId: m2, clientSecret: m2-secret-0123456789abcdef012345, slots: 4}
        queues:
          - {name: Q, folder: Finance}
`
	secret := strings.Repeat("b", 40)
	f, err := ParseFile("orch.yaml", []byte(yaml), env{"ANN_PASSWORD": "ann-pw", "BOT_SECRET": secret}.get)
	if err != nil {
		t.Fatal(err)
	}
	org := f.Organizations[0]
	expect(t, "users[0].Password", org.Users[0].Password, "ann-pw")
	expect(t, "users[0].PasswordEnv", org.Users[0].PasswordEnv, "ANN_PASSWORD")
	expect(t, "users[1].Password", org.Users[1].Password, "")
	expect(t, "apps[0].ClientSecret", org.Apps[0].ClientSecret, secret)
	expect(t, "apps[0].ClientSecretEnv", org.Apps[0].ClientSecretEnv, "BOT_SECRET")
	expect(t, "apps[0].Name", org.Apps[0].Name, "bot")
	expect(t, "apps[1].Name", org.Apps[1].Name, "Web App")
	expect(t, "apps[1].ClientSecret", org.Apps[1].ClientSecret, "")
	tenant := org.Tenants[0]
	expect(t, "machines[0].ClientSecret", tenant.Machines[0].ClientSecret, secret)
	expect(t, "machines[0].Slots", tenant.Machines[0].Slots, 1)
	expect(t, "machines[1].Slots", tenant.Machines[1].Slots, 4)
}

func TestParseFileEmpty(t *testing.T) {
	t.Parallel()
	for _, data := range []string{"", "# nothing yet\n", "organizations: []\n"} {
		f, err := ParseFile("orch.yaml", []byte(data), env{}.get)
		if err != nil || f == nil || len(f.Organizations) != 0 {
			t.Errorf("ParseFile(%q) = %+v, %v; want an empty file", data, f, err)
		}
	}
}

func TestParseDesignExample(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/design.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFile("testdata/design.yaml", data, env{}.get)
	if err != nil {
		t.Fatal(err)
	}
	until := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	want := &File{
		Server: FileServer{Listen: "127.0.0.1:8080", PublicURL: "http://127.0.0.1:8080", DataDir: "./orch-data"},
		Organizations: []OrganizationSpec{{
			Name: "acme",
			Users: []UserSpec{{
				Email: "ann@acme.test", Name: "Ann", Password: "ann-password", OrgAdmin: true, BasicAuth: true,
			}},
			Apps: []AppSpec{{
				Name:         "invoice-bot",
				ClientID:     "invoice-bot",
				ClientSecret: "invoice-bot-secret-0123456789abcdef",
				AppScopes:    []string{"OR.Queues", "OR.Jobs", "OR.Folders.Read"},
				UserScopes:   []string{},
				RedirectURIs: []string{},
			}},
			Tenants: []TenantSpec{{
				Name:            "DefaultTenant",
				LegacyBasicAuth: &LegacyBasicAuthSpec{Enabled: true, Until: &until},
				Members:         []MemberSpec{{User: "ann@acme.test", Roles: []string{"Administrator"}}},
				Folders: []FolderSpec{{
					Path: "Shared",
					Members: []MemberSpec{
						{User: "ann@acme.test", Roles: []string{"Folder Administrator"}},
						{App: "invoice-bot", Roles: []string{"Automation User"}},
					},
				}},
				Machines: []MachineSpec{{
					Name: "worker-1", ClientID: "worker-1", ClientSecret: "worker-1-secret-0123456789abcdef0123",
					Folders: []string{"Shared"}, Slots: 2,
				}},
				Queues: []QueueSpec{{Name: "Invoices", Folder: "Shared", MaxRetries: 1, UniqueReference: true}},
			}},
		}},
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("ParseFile(design.yaml) =\n%+v\nwant\n%+v", f, want)
	}

	// Through Load, the file's server: block applies.
	cfg, err := Load([]string{"--config", "testdata/design.yaml"}, env{}.get)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "PublicURL", cfg.Server.PublicURL, "http://127.0.0.1:8080")
	expect(t, "FilePath", cfg.FilePath, "testdata/design.yaml")
	expect(t, "File", cfg.File, want)
}

func TestTokenSigningAlg(t *testing.T) {
	t.Parallel()
	cfg, err := Load(nil, func(string) string { return "" })
	if err != nil || cfg.Server.TokenSigningAlg != "ES256" {
		t.Fatalf("default: %q, %v", cfg.Server.TokenSigningAlg, err)
	}
	cfg, err = Load([]string{"--token-signing-alg", "rs256"}, nil)
	if err != nil || cfg.Server.TokenSigningAlg != "RS256" {
		t.Fatalf("flag: %q, %v", cfg.Server.TokenSigningAlg, err)
	}
	if _, err := Load(nil, func(k string) string {
		if k == "ORCH_TOKEN_SIGNING_ALG" {
			return "HS256"
		}
		return ""
	}); err == nil || !strings.Contains(err.Error(), "ORCH_TOKEN_SIGNING_ALG") || !strings.Contains(err.Error(), "ES256 or RS256") {
		t.Fatalf("HS256: %v", err)
	}
}
