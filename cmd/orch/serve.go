package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/api"
	"github.com/openorch/openorch/internal/bootstrap"
	"github.com/openorch/openorch/internal/config"
	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/legacy"
	"github.com/openorch/openorch/internal/queues"
	"github.com/openorch/openorch/internal/robots"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/postgres"
	"github.com/openorch/openorch/internal/store/sqlite"
	"github.com/openorch/openorch/internal/store/sqlstore"
)

// loadConfig parses a server command's flags; help is true when --help was asked for (and
// answered on stdout).
func loadConfig(cmd string, args []string, getenv func(string) string, stdout io.Writer) (cfg config.Config, help bool, err error) {
	cfg, err = config.Load(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "Usage: orch %s [flags]\n\nFlags (flag > environment > file key server.*):\n", cmd)
		config.FlagUsage(stdout)
		return cfg, true, nil
	}
	if err != nil {
		return cfg, false, usageError{err.Error()}
	}
	return cfg, false, nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, help, err := loadConfig("serve", args, getenv, stdout)
	if err != nil || help {
		return err
	}
	logger := newLogger(cfg.Server, stderr)
	s := cfg.Server

	// Bind first: a port in use fails before anything is written.
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %s", s.Listen, rootCause(err))
	}
	defer ln.Close()
	publicURL := s.PublicURL
	if publicURL == "" {
		scheme := "http"
		if s.TLSCert != "" {
			scheme = "https"
		}
		publicURL = scheme + "://" + ln.Addr().String()
	}

	db, key, err := openInstallation(ctx, s, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	var demo *bootstrap.Demo
	if cfg.Demo {
		d, created, err := bootstrap.ApplyDemo(ctx, db)
		if err != nil {
			return fmt.Errorf("create the demo set: %w", err)
		}
		if created {
			demo = &d
		} else {
			logger.Info("database is not empty: the demo set was not created (its secrets were shown at the first start)")
		}
	}
	if cfg.File != nil {
		logger.Info("applying bootstrap file", "file", cfg.FilePath)
		if err := bootstrap.Apply(ctx, db, cfg.File, cfg.FilePath); err != nil {
			return fmt.Errorf("apply bootstrap file: %w", err)
		}
		logger.Info("bootstrap file applied", "file", cfg.FilePath)
	}

	prefixes, err := s.TrustedPrefixes()
	if err != nil {
		return usageError{err.Error()}
	}
	srv := server.New(server.Options{Logger: logger, DB: db, TrustedProxies: prefixes, Version: Version})
	keys, err := identity.NewKeys(ctx, db, key, identity.KeysOptions{Alg: s.TokenSigningAlg})
	if err != nil {
		return err
	}
	deny, err := identity.NewDenyList(ctx, db, logger, nil)
	if err != nil {
		return fmt.Errorf("load revocations: %w", err)
	}
	ids := identity.New(identity.Options{Store: db, Keys: keys, Deny: deny, PublicURL: publicURL, Logger: logger})
	ids.Mount(srv)
	// Tokens of machines whose secret is regenerated or which are deleted stop on every node.
	// Callers waiting for queue items are woken by adds on this node and, on PostgreSQL,
	// by the notifications of the others.
	signal := queues.NewSignal()
	// Robots waiting for work are woken the same way by starts and stops of jobs.
	robotSignal := robots.NewSignal()
	api.New(api.Options{Store: db, Auth: ids, PublicURL: publicURL, Logger: logger, Version: Version, Registry: srv.Registry(),
		Revoker: api.DenyListRevoker(deny), SecretKey: key, QueueSignal: signal, RobotSignal: robotSignal,
		RobotHeartbeatInterval: s.RobotHeartbeatInterval, RobotUnresponsiveAfter: s.RobotUnresponsiveAfter,
		Stopping: ctx.Done()}).Mount(srv)
	legacy.New(legacy.Options{Store: db, Identity: ids, PublicURL: publicURL}).Mount(srv)
	background, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	go keys.Run(background, time.Minute)
	go deny.Run(background, time.Second)
	sweeper := &queues.Sweeper{Store: db, AbandonAfter: s.QueueItemAbandonAfter, Retention: s.QueueItemRetention,
		Signal: signal, Logger: logger}
	go sweeper.Run(background, queues.SweepInterval)
	// Jobs of robots that stopped answering, or running past their maximum time, end
	// Faulted; one node sweeps at a time.
	robotSweeper := &robots.Sweeper{Store: db, UnresponsiveAfter: s.RobotUnresponsiveAfter, LogRetention: s.RobotLogRetention, Logger: logger}
	go robotSweeper.Run(background, 0)
	if s.Postgres() {
		go postgres.Listen(background, s.DatabaseURL, store.QueueNotifyChannel, signal.NotifyPayload, logger)
		go postgres.Listen(background, s.DatabaseURL, store.RobotNotifyChannel, robotSignal.NotifyPayload, logger)
	}
	if demo != nil {
		demo.Print(stdout, publicURL)
	}
	logger.Info("OpenOrch is serving", "url", publicURL, "listen", ln.Addr().String(), "database", engineName(s))
	return server.Serve(ctx, ln, srv, server.ServeOptions{TLSCert: s.TLSCert, TLSKey: s.TLSKey, Logger: logger})
}

func engineName(s config.Server) string {
	if s.Postgres() {
		return "postgres"
	}
	return "sqlite"
}

// openInstallation opens and migrates the database and loads the secret key it was set up
// with (recording it on the first start).
func openInstallation(ctx context.Context, s config.Server, logger *slog.Logger) (*sqlstore.DB, *secret.Key, error) {
	db, err := openStore(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	key, err := func() (*secret.Key, error) {
		if err := migrateStore(ctx, s, db, logger); err != nil {
			return nil, err
		}
		key, err := loadKey(ctx, s, db)
		if err != nil {
			return nil, err
		}
		return key, bootstrap.CheckKey(ctx, db, key)
	}()
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, key, nil
}

// openStore opens the configured engine. With SQLite it creates the data directory and
// checks that it is writable before anything else is written there.
func openStore(ctx context.Context, s config.Server) (*sqlstore.DB, error) {
	if s.Postgres() {
		return postgres.Open(ctx, s.DatabaseURL, postgres.Options{})
	}
	if err := ensureWritableDir(s.DataDir); err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, filepath.Join(s.DataDir, "orch.db"), sqlite.Options{})
}

func migrateStore(ctx context.Context, s config.Server, db *sqlstore.DB, logger *slog.Logger) error {
	var n int
	var err error
	if s.Postgres() {
		n, err = postgres.Migrate(ctx, db)
	} else {
		n, err = sqlite.Migrate(ctx, db)
	}
	if err != nil {
		return fmt.Errorf("migrate the database: %w", err)
	}
	if n > 0 {
		logger.Info("database migrated", "applied", n)
	}
	return nil
}

func ensureWritableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory %s cannot be created: %s", dir, rootCause(err))
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %s", dir, rootCause(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// loadKey finds the secret key: ORCH_SECRET_KEY, --secret-key-file, or (SQLite only) the
// key file in the data directory, created on the first start. A database that was set up
// with a key never gets a new one silently.
func loadKey(ctx context.Context, s config.Server, db *sqlstore.DB) (*secret.Key, error) {
	switch {
	case s.SecretKey != "":
		k, err := secret.ParseKey(s.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("ORCH_SECRET_KEY: %w", err)
		}
		return k, nil
	case s.SecretKeyFile != "":
		return secret.LoadKeyFile(s.SecretKeyFile)
	}
	path := filepath.Join(s.DataDir, "secret.key")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && bootstrap.KeyRecorded(ctx, db) {
		return nil, fmt.Errorf("the secret key file %s is missing, but this database was set up with a key: restore the file (or pass the key with --secret-key-file / ORCH_SECRET_KEY)", path)
	}
	k, _, err := secret.LoadOrCreateKeyFile(path)
	return k, err
}

// rootCause strips Go's operation prefixes ("listen tcp 127.0.0.1:80: bind: ") from a
// system error, leaving the part a person acts on.
func rootCause(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

func newLogger(s config.Server, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(s.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if s.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, help, err := loadConfig("migrate", args, getenv, stdout)
	if err != nil || help {
		return err
	}
	db, err := openStore(ctx, cfg.Server)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := migrateStore(ctx, cfg.Server, db, newLogger(cfg.Server, stderr)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database is up to date (%s)\n", engineName(cfg.Server))
	return nil
}
