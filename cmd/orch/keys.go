package main

import (
	"context"
	"fmt"
	"io"

	"github.com/openorch/openorch/internal/identity"
)

// keys runs `orch keys rotate`: a new token signing key signs from now on, on every node
// (they reload keys within a minute, and at once when they meet a token of an unknown key);
// tokens signed with the old keys stay valid until they expire.
func keys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		return usageError{"usage: orch keys rotate [server flags]"}
	}
	cfg, help, err := loadConfig("keys rotate", args[1:], getenv, stdout)
	if err != nil || help {
		return err
	}
	s := cfg.Server
	db, key, err := openInstallation(ctx, s, newLogger(s, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	k, err := identity.NewKeys(ctx, db, key, identity.KeysOptions{Alg: s.TokenSigningAlg})
	if err != nil {
		return err
	}
	old := k.SigningKID()
	if err := k.Rotate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "token signing key rotated: %s now signs (%s); %s keeps verifying until its tokens expire\n", k.SigningKID(), k.Alg(), old)
	return nil
}
