package postgres

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen hands the payload of every notification on channel of the database at url to
// fn, until ctx ends. It holds a connection of its own (LISTEN needs one that stays open)
// and reconnects after losing it, a second later; notifications sent meanwhile are lost,
// so listeners keep a slower fallback (queues.PollInterval). It logs connection trouble,
// never the URL.
func Listen(ctx context.Context, url, channel string, fn func(payload string), logger *slog.Logger) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		logger.Error("postgres listener: the URL is malformed; notifications are off")
		return
	}
	for ctx.Err() == nil {
		err := listenOnce(ctx, cfg, channel, fn)
		if ctx.Err() != nil {
			return
		}
		logger.Warn("postgres listener: connection lost, reconnecting in 1s", "channel", channel, "err", describe(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func listenOnce(ctx context.Context, cfg *pgx.ConnConfig, channel string, fn func(string)) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		fn(n.Payload)
	}
}
