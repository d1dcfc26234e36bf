package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// DefaultShutdownTimeout is how long Serve waits for in-flight requests when
// ServeOptions.ShutdownTimeout is 0.
const DefaultShutdownTimeout = 30 * time.Second

// ServeOptions configure Serve.
type ServeOptions struct {
	// TLSCert and TLSKey are PEM files; with both set Serve speaks HTTPS (and HTTP/2),
	// with neither plain HTTP. One without the other is an error.
	TLSCert, TLSKey string

	Logger *slog.Logger // nil: discard

	// ShutdownTimeout bounds the wait for in-flight requests once ctx ends; 0 means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
}

// Serve serves h on ln until ctx ends, then stops accepting connections, lets in-flight
// requests finish and returns nil. If they are not done within the shutdown timeout, it
// closes their connections and returns an error. Serve takes ownership of ln and closes it.
//
// Request contexts do not end with ctx: a handler that waits (a long poll) keeps the
// shutdown waiting until it returns or the timeout cuts it off.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, o ServeOptions) error {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	timeout := o.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second, // long polls wait up to 60s before they write
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	useTLS := o.TLSCert != "" || o.TLSKey != ""
	if useTLS {
		if o.TLSCert == "" || o.TLSKey == "" {
			ln.Close()
			return errors.New("server: TLS needs both a certificate and a key file")
		}
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("server: loading the TLS certificate: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	served := make(chan error, 1)
	go func() {
		if useTLS {
			served <- srv.ServeTLS(ln, "", "")
		} else {
			served <- srv.Serve(ln)
		}
	}()
	logger.Info("listening", "addr", ln.Addr().String(), "tls", useTLS)

	select {
	case err := <-served:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}

	logger.Info("shutting down: waiting for requests in flight", "timeout", timeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
		<-served
		return fmt.Errorf("server: requests still in flight after %s were cut off: %w", timeout, err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	logger.Info("stopped")
	return nil
}
