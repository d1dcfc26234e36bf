package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// setting is one server setting of DESIGN §1: a flag, usually an environment variable,
// usually a key of the file's server: block, and a default.
type setting struct {
	flag  string // flag name without dashes; also the setting's name in this package
	env   string // environment variable; empty: none
	key   string // key under server: in the bootstrap file; empty: none
	def   string // default value
	meta  string // placeholder shown in the usage text
	usage string
}

// settings lists the string-valued server flags in the order they are resolved, validated
// and shown. --demo, the only boolean, is defined separately.
var settings = []setting{
	{"config", "ORCH_CONFIG", "", "", "PATH",
		"bootstrap file (YAML): organizations, tenants, users, apps, folders, machines, queues"},
	{"listen", "ORCH_LISTEN", "listen", "127.0.0.1:8080", "HOST:PORT",
		"address to listen on; port 0 picks a free one"},
	{"public-url", "ORCH_PUBLIC_URL", "publicURL", "", "URL",
		"external base URL (default: http(s):// + the address actually bound)"},
	{"data-dir", "ORCH_DATA_DIR", "dataDir", "./orch-data", "DIR",
		"directory of the SQLite database and the generated secret key"},
	{"database-url", "ORCH_DATABASE_URL", "databaseURL", "", "URL",
		"postgres:// or postgresql:// URL selects PostgreSQL (default: SQLite in the data dir)"},
	{"secret-key-file", "ORCH_SECRET_KEY", "secretKeyFile", "", "PATH",
		"file holding the secret key (ORCH_SECRET_KEY holds the key itself; default: <data-dir>/secret.key, SQLite only)"},
	{"tls-cert", "ORCH_TLS_CERT", "tlsCert", "", "PATH",
		"TLS certificate (PEM); needs --tls-key (default: plain HTTP)"},
	{"tls-key", "ORCH_TLS_KEY", "tlsKey", "", "PATH",
		"TLS private key (PEM); needs --tls-cert"},
	{"trusted-proxies", "ORCH_TRUSTED_PROXIES", "trustedProxies", "", "LIST",
		"comma-separated CIDRs or addresses whose X-Forwarded-* headers are believed (default: none)"},
	{"robot-heartbeat-interval", "ORCH_ROBOT_HEARTBEAT_INTERVAL", "robotHeartbeatInterval", "30s", "DURATION",
		"how often robots report (sent to them when they connect)"},
	{"robot-unresponsive-after", "ORCH_ROBOT_UNRESPONSIVE_AFTER", "robotUnresponsiveAfter", "2m", "DURATION",
		"silence after which a robot counts as unresponsive; longer than the heartbeat interval"},
	{"queue-item-abandon-after", "ORCH_QUEUE_ITEM_ABANDON_AFTER", "queueItemAbandonAfter", "24h", "DURATION",
		"a queue item InProgress this long without a result becomes Abandoned (and is retried if its queue says so)"},
	{"queue-item-retention", "ORCH_QUEUE_ITEM_RETENTION", "queueItemRetention", "720h", "DURATION",
		"finished queue items (Successful, Failed, Abandoned, Retried, Deleted) are deleted this long after their last change; their references stay taken"},
	{"robot-log-retention", "ORCH_ROBOT_LOG_RETENTION", "robotLogRetention", "720h", "DURATION",
		"the lines jobs' processes wrote (RobotLogs) are deleted this long after they were written"},
	{"log-format", "ORCH_LOG_FORMAT", "logFormat", "text", "text|json",
		"log format"},
	{"token-signing-alg", "ORCH_TOKEN_SIGNING_ALG", "tokenSigningAlg", "ES256", "ES256|RS256",
		"algorithm of new token signing keys (RS256 is what UiPath's cloud uses)"},
	{"log-level", "ORCH_LOG_LEVEL", "logLevel", "info", "LEVEL",
		"debug, info, warn or error"},
}

const demoUsage = "on an empty database, first create the demo set and print its credentials"

// source says where a setting's value came from; label names it in error messages:
// "--listen", "ORCH_LISTEN", "orch.yaml:2: server.listen" or "--listen (default)".
type source struct {
	kind  sourceKind
	label string
}

type sourceKind int

const (
	fromDefault sourceKind = iota
	fromFile
	fromEnv
	fromFlag
)

// resolved is a setting's winning value and its source.
type resolved struct {
	value string
	src   source
}

// FlagUsage writes the flags of `orch serve` with their environment variables, file keys
// and defaults, for `orch serve --help`.
func FlagUsage(w io.Writer) {
	fmt.Fprintln(w, "Flags (a flag beats its environment variable, which beats the file's server: block):")
	for _, s := range settings {
		fmt.Fprintf(w, "  --%s %s\n", s.flag, s.meta)
		fmt.Fprintf(w, "        %s\n", s.usage)
		var where []string
		if s.env != "" {
			where = append(where, "env "+s.env)
		}
		if s.key != "" {
			where = append(where, "file server."+s.key)
		}
		if s.def != "" {
			where = append(where, "default "+s.def)
		}
		fmt.Fprintf(w, "        [%s]\n", strings.Join(where, ", "))
	}
	fmt.Fprintln(w, "  --demo")
	fmt.Fprintf(w, "        %s\n", demoUsage)
}

// Load resolves the server settings of `orch serve ARGS` (args are the arguments after the
// subcommand) from flags, the environment (read through getenv; nil means os.Getenv), the
// bootstrap file's server: block and the defaults, in that order of precedence, and
// validates them once. A flag counts only when given on the command line; an empty
// environment variable counts as unset.
//
// For -h or --help Load returns flag.ErrHelp unchanged; the caller prints FlagUsage.
//
// The bootstrap file named by --config or ORCH_CONFIG is read and checked with ParseFile and
// returned in Config.File with its path in Config.FilePath. Relative paths in it (dataDir,
// secretKeyFile, tlsCert, tlsKey) are kept as written: they are relative to the working
// directory of the process, not to the file.
//
// After Load at most one of Server.SecretKeyFile and Server.SecretKey is set: --secret-key-file
// beats ORCH_SECRET_KEY, which beats the file's secretKeyFile. Server.PublicURL stays empty
// unless given (the caller derives it from the bound address); a trailing "/" is removed.
// Server.LogFormat and Server.LogLevel are lower-cased.
func Load(args []string, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	fs := flag.NewFlagSet("orch serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flagValues := make(map[string]*string, len(settings))
	for _, s := range settings {
		flagValues[s.flag] = fs.String(s.flag, "", s.usage)
	}
	demo := fs.Bool("demo", false, demoUsage)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, flag.ErrHelp
		}
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q: orch serve takes flags only", fs.Arg(0))
	}
	given := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	r := resolver{flags: flagValues, given: given, getenv: getenv}
	cfg := Config{Demo: *demo}

	if path := r.get(settings[0]); path.value != "" {
		data, err := os.ReadFile(path.value)
		if err != nil {
			return Config{}, fmt.Errorf("%s: cannot read the bootstrap file: %w", path.src.label, err)
		}
		f, lines, err := parseFile(path.value, data, getenv)
		if err != nil {
			return Config{}, err
		}
		cfg.File, cfg.FilePath = f, path.value
		r.file, r.filePath, r.lines = f, path.value, lines
	}

	res := make(map[string]resolved, len(settings))
	for _, s := range settings[1:] {
		v := r.get(s)
		if err := checkValue(s.flag, v.value); err != nil {
			return Config{}, fmt.Errorf("%s: %w", v.src.label, err)
		}
		res[s.flag] = v
	}

	srv := Server{
		Listen:          res["listen"].value,
		PublicURL:       strings.TrimRight(res["public-url"].value, "/"),
		DataDir:         res["data-dir"].value,
		DatabaseURL:     res["database-url"].value,
		TLSCert:         res["tls-cert"].value,
		TLSKey:          res["tls-key"].value,
		TrustedProxies:  splitList(res["trusted-proxies"].value),
		LogFormat:       strings.ToLower(res["log-format"].value),
		LogLevel:        strings.ToLower(res["log-level"].value),
		TokenSigningAlg: strings.ToUpper(res["token-signing-alg"].value),
	}
	if key := res["secret-key-file"]; key.src.kind == fromEnv {
		srv.SecretKey = key.value
	} else {
		srv.SecretKeyFile = key.value
	}
	// The durations were checked above.
	srv.RobotHeartbeatInterval, _ = time.ParseDuration(res["robot-heartbeat-interval"].value)
	srv.RobotUnresponsiveAfter, _ = time.ParseDuration(res["robot-unresponsive-after"].value)
	srv.QueueItemAbandonAfter, _ = time.ParseDuration(res["queue-item-abandon-after"].value)
	srv.QueueItemRetention, _ = time.ParseDuration(res["queue-item-retention"].value)
	srv.RobotLogRetention, _ = time.ParseDuration(res["robot-log-retention"].value)

	if err := checkServer(srv, res); err != nil {
		return Config{}, err
	}
	cfg.Server = srv
	return cfg, nil
}

// checkServer makes the checks that involve several settings.
func checkServer(srv Server, res map[string]resolved) error {
	cert, key := res["tls-cert"], res["tls-key"]
	switch {
	case srv.TLSCert != "" && srv.TLSKey == "":
		return fmt.Errorf("%s: a TLS certificate needs a key too: set --tls-key, ORCH_TLS_KEY or server.tlsKey", cert.src.label)
	case srv.TLSCert == "" && srv.TLSKey != "":
		return fmt.Errorf("%s: a TLS key needs a certificate too: set --tls-cert, ORCH_TLS_CERT or server.tlsCert", key.src.label)
	}
	if srv.RobotUnresponsiveAfter <= srv.RobotHeartbeatInterval {
		hb, un := res["robot-heartbeat-interval"], res["robot-unresponsive-after"]
		return fmt.Errorf("%s: %s must be longer than the robot heartbeat interval (%s, from %s)",
			un.src.label, srv.RobotUnresponsiveAfter, srv.RobotHeartbeatInterval, hb.src.label)
	}
	if srv.Postgres() && srv.SecretKeyFile == "" && srv.SecretKey == "" {
		return errors.New("a secret key is required with PostgreSQL: set --secret-key-file or ORCH_SECRET_KEY (every node must use the same key)")
	}
	return nil
}

// resolver finds each setting's winning value: flag, environment, file, default.
type resolver struct {
	flags    map[string]*string
	given    map[string]bool
	getenv   func(string) string
	file     *File
	filePath string
	lines    map[string]int
}

func (r resolver) get(s setting) resolved {
	if r.given[s.flag] {
		return resolved{*r.flags[s.flag], source{fromFlag, "--" + s.flag}}
	}
	if s.env != "" {
		if v := r.getenv(s.env); v != "" {
			return resolved{v, source{fromEnv, s.env}}
		}
	}
	if r.file != nil && s.key != "" {
		if v := fileServerValue(r.file.Server, s.key); v != "" {
			path := "server." + s.key
			label := fmt.Sprintf("%s:%d: %s", r.filePath, r.lines[path], path)
			return resolved{v, source{fromFile, label}}
		}
	}
	return resolved{s.def, source{fromDefault, "--" + s.flag + " (default)"}}
}

// fileServerValue returns the server: block's value for key as a string (trusted proxies
// joined with commas), or "" when the file does not set it.
func fileServerValue(fs FileServer, key string) string {
	switch key {
	case "listen":
		return fs.Listen
	case "publicURL":
		return fs.PublicURL
	case "dataDir":
		return fs.DataDir
	case "databaseURL":
		return fs.DatabaseURL
	case "secretKeyFile":
		return fs.SecretKeyFile
	case "tlsCert":
		return fs.TLSCert
	case "tlsKey":
		return fs.TLSKey
	case "trustedProxies":
		return strings.Join(fs.TrustedProxies, ",")
	case "robotHeartbeatInterval":
		return fs.RobotHeartbeatInterval
	case "robotUnresponsiveAfter":
		return fs.RobotUnresponsiveAfter
	case "queueItemAbandonAfter":
		return fs.QueueItemAbandonAfter
	case "queueItemRetention":
		return fs.QueueItemRetention
	case "robotLogRetention":
		return fs.RobotLogRetention
	case "logFormat":
		return fs.LogFormat
	case "logLevel":
		return fs.LogLevel
	case "tokenSigningAlg":
		return fs.TokenSigningAlg
	}
	panic("config: no server file key " + key)
}

// splitList splits a comma-separated list, trimming spaces and dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
