package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/robot"
)

const robotHelp = `Usage: orch robot --url URL --org ORG --tenant TENANT --client-id ID --client-secret SECRET [flags]

Runs a robot: signs in as a machine with its client id and secret, registers this host
(one robot per machine and host name), takes the jobs of the machine's folders and runs
them, streaming their logs and reporting how they end. It runs until SIGTERM or SIGINT,
then takes no more jobs, lets the running ones finish (for --shutdown-timeout, then stops
them softly), reports them and disconnects. docs/robot.md says what a job's process sees.

Every flag may come from the environment variable after it; a flag wins over the
environment. Prefer the environment for the secret: command lines are visible to others.

  --url URL                 ORCH_ROBOT_URL            the server's address
  --org ORG                 ORCH_ROBOT_ORG            the organization
  --tenant TENANT           ORCH_ROBOT_TENANT         the tenant
  --client-id ID            ORCH_ROBOT_CLIENT_ID      the machine's client id
  --client-secret SECRET    ORCH_ROBOT_CLIENT_SECRET  the machine's client secret
  --work-dir DIR            ORCH_ROBOT_WORK_DIR       packages and job directories
                                                      (default: orch/robot in the user cache directory)
  --slots N                 ORCH_ROBOT_SLOTS          jobs at once; at most the machine's (default: the machine's)
  --host-name NAME          ORCH_ROBOT_HOST_NAME      this host's name (default: the system's host name)
  --shutdown-timeout D      ORCH_ROBOT_SHUTDOWN_TIMEOUT  how long running jobs may finish on shutdown (default 1m)
  --stop-grace D            ORCH_ROBOT_STOP_GRACE     SIGTERM to SIGKILL on a soft stop (default 30s)
  --log-level LEVEL         ORCH_ROBOT_LOG_LEVEL      debug, info, warn or error (default info)
  --log-format FORMAT       ORCH_ROBOT_LOG_FORMAT     text or json (default text)

Example, as the demo machine (paste the export lines orch serve --demo printed first):
  ORCH_ROBOT_CLIENT_SECRET="$ORCH_DEMO_MACHINE_CLIENT_SECRET" orch robot \
      --url "$ORCH_DEMO_URL" --org "$ORCH_DEMO_ORG" --tenant "$ORCH_DEMO_TENANT" \
      --client-id "$ORCH_DEMO_MACHINE_CLIENT_ID" --slots 1
`

// robotSetting is one setting of orch robot: its flag and its environment variable.
type robotSetting struct {
	flag, env string
	required  bool
	value     string
}

func runRobot(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	settings := []*robotSetting{
		{flag: "url", env: "ORCH_ROBOT_URL", required: true},
		{flag: "org", env: "ORCH_ROBOT_ORG", required: true},
		{flag: "tenant", env: "ORCH_ROBOT_TENANT", required: true},
		{flag: "client-id", env: "ORCH_ROBOT_CLIENT_ID", required: true},
		{flag: "client-secret", env: "ORCH_ROBOT_CLIENT_SECRET", required: true},
		{flag: "work-dir", env: "ORCH_ROBOT_WORK_DIR"},
		{flag: "slots", env: "ORCH_ROBOT_SLOTS"},
		{flag: "host-name", env: "ORCH_ROBOT_HOST_NAME"},
		{flag: "shutdown-timeout", env: "ORCH_ROBOT_SHUTDOWN_TIMEOUT"},
		{flag: "stop-grace", env: "ORCH_ROBOT_STOP_GRACE"},
		{flag: "log-level", env: "ORCH_ROBOT_LOG_LEVEL"},
		{flag: "log-format", env: "ORCH_ROBOT_LOG_FORMAT"},
	}
	fs := flag.NewFlagSet("robot", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	byFlag := map[string]*robotSetting{}
	for _, s := range settings {
		fs.StringVar(&s.value, s.flag, "", "")
		byFlag[s.flag] = s
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, robotHelp)
			return nil
		}
		return usageError{fmt.Sprintf("robot: %v (run `orch robot --help`)", err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("robot takes no arguments (got %q): run `orch robot --help`", fs.Arg(0))}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var missing []string
	for _, s := range settings {
		if !set[s.flag] {
			s.value = getenv(s.env)
		}
		s.value = strings.TrimSpace(s.value)
		if s.required && s.value == "" {
			missing = append(missing, fmt.Sprintf("--%s (or %s)", s.flag, s.env))
		}
	}
	if len(missing) > 0 {
		return usageError{fmt.Sprintf("robot: missing %s: run `orch robot --help`", strings.Join(missing, ", "))}
	}
	v := func(name string) string { return byFlag[name].value }
	duration := func(name string) (time.Duration, error) {
		if v(name) == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(v(name))
		if err != nil || d <= 0 {
			return 0, usageError{fmt.Sprintf("robot: --%s (or %s) must be a positive duration such as 30s or 2m, not %q",
				name, byFlag[name].env, v(name))}
		}
		return d, nil
	}
	cfg := robot.Config{URL: v("url"), Org: v("org"), Tenant: v("tenant"), ClientID: v("client-id"),
		ClientSecret: v("client-secret"), WorkDir: v("work-dir"), HostName: v("host-name"), Version: Version}
	if s := v("slots"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return usageError{fmt.Sprintf("robot: --slots (or ORCH_ROBOT_SLOTS) must be a whole number of 1 or more, not %q", s)}
		}
		cfg.Slots = n
	}
	var err error
	if cfg.ShutdownTimeout, err = duration("shutdown-timeout"); err != nil {
		return err
	}
	if cfg.StopGrace, err = duration("stop-grace"); err != nil {
		return err
	}
	if cfg.WorkDir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return usageError{fmt.Sprintf("robot: no user cache directory for the work directory (%v): set --work-dir (or ORCH_ROBOT_WORK_DIR)", err)}
		}
		cfg.WorkDir = filepath.Join(cache, "orch", "robot")
	}
	var level slog.Level
	if l := v("log-level"); l != "" {
		if err := level.UnmarshalText([]byte(l)); err != nil {
			return usageError{fmt.Sprintf("robot: --log-level (or ORCH_ROBOT_LOG_LEVEL) must be debug, info, warn or error, not %q", l)}
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch v("log-format") {
	case "", "text":
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, opts))
	case "json":
		cfg.Logger = slog.New(slog.NewJSONHandler(stderr, opts))
	default:
		return usageError{fmt.Sprintf("robot: --log-format (or ORCH_ROBOT_LOG_FORMAT) must be text or json, not %q", v("log-format"))}
	}
	r, err := robot.New(cfg)
	if err != nil {
		return usageError{strings.TrimPrefix(err.Error(), "robot: ")}
	}
	return r.Run(ctx)
}
