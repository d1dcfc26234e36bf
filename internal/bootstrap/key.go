package bootstrap

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
)

const keyCheckMeta = "secret_key_check"

var keyCheckAAD = []byte("openorch secret key check")

// CheckKey makes sure key is the installation's secret key. The first start records a value
// sealed with the key; later starts must open it. A wrong key would make every wrapped
// secret unreadable, so it is refused with a message that says so.
func CheckKey(ctx context.Context, st store.Store, key *secret.Key) error {
	return st.Tx(ctx, func(tx store.Store) error {
		if err := tx.Lock(ctx, "bootstrap"); err != nil {
			return err
		}
		v, err := tx.MetaGet(ctx, keyCheckMeta)
		if errors.Is(err, store.ErrNotFound) {
			return tx.MetaSet(ctx, keyCheckMeta, base64.StdEncoding.EncodeToString(key.Seal([]byte("ok"), keyCheckAAD)))
		}
		if err != nil {
			return err
		}
		sealed, err := base64.StdEncoding.DecodeString(v)
		if err == nil {
			_, err = key.Open(sealed, keyCheckAAD)
		}
		if err != nil {
			return fmt.Errorf("the secret key does not match this database, which was set up with another key: start with the original key (--secret-key-file or ORCH_SECRET_KEY)")
		}
		return nil
	})
}

// KeyRecorded reports whether the database was already set up with a secret key.
func KeyRecorded(ctx context.Context, st store.Store) bool {
	_, err := st.MetaGet(ctx, keyCheckMeta)
	return err == nil
}
