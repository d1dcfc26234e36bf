package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
)

// keyStore is what Keys needs of the store.
type keyStore interface {
	Tx(ctx context.Context, fn func(store.Store) error) error
	SigningKeyList(ctx context.Context, now time.Time) ([]store.SigningKey, error)
}

// Keys holds the installation's token signing keys: the one that signs now and the public
// keys that verify, loaded from the database (where the private keys are sealed with the
// secret key) and shared by every node. A key signs for SignLifetime, then stays in the
// JWKS for MaxTokenLifetime more, until the last token it signed has expired.
type Keys struct {
	st               keyStore
	sealer           *secret.Key
	alg              jose.SignatureAlgorithm
	now              func() time.Time
	signLifetime     time.Duration
	maxTokenLifetime time.Duration

	mu        sync.RWMutex
	signer    jose.Signer
	signerKID string
	public    map[string]jose.JSONWebKey
	jwks      []byte
	lastLoad  time.Time
}

// KeysOptions tune NewKeys.
type KeysOptions struct {
	// Alg is ES256 (default) or RS256 (what the real cloud service uses).
	Alg string
	// SignLifetime is how long a key signs before the next one takes over (default 30 days).
	SignLifetime time.Duration
	// MaxTokenLifetime is the longest life of a token the keys sign (default 25 hours).
	MaxTokenLifetime time.Duration
	Now              func() time.Time
}

// NewKeys loads the keys, creating the first one when there is none that may sign.
func NewKeys(ctx context.Context, st keyStore, sealer *secret.Key, opts KeysOptions) (*Keys, error) {
	k := &Keys{st: st, sealer: sealer, now: opts.Now, signLifetime: opts.SignLifetime, maxTokenLifetime: opts.MaxTokenLifetime}
	switch opts.Alg {
	case "", "ES256":
		k.alg = jose.ES256
	case "RS256":
		k.alg = jose.RS256
	default:
		return nil, fmt.Errorf("token signing algorithm %q is not supported: use ES256 or RS256", opts.Alg)
	}
	if k.now == nil {
		k.now = time.Now
	}
	if k.signLifetime <= 0 {
		k.signLifetime = 30 * 24 * time.Hour
	}
	if k.maxTokenLifetime <= 0 {
		k.maxTokenLifetime = 25 * time.Hour
	}
	if err := k.ensureSigner(ctx, false); err != nil {
		return nil, err
	}
	return k, nil
}

// Rotate makes a new key sign from now on; the old ones keep verifying until their tokens
// have expired.
func (k *Keys) Rotate(ctx context.Context) error { return k.ensureSigner(ctx, true) }

// ensureSigner loads the keys and, when none may sign (or force is set), creates one. The
// creation runs under the installation-wide lock, so nodes starting together make one key.
func (k *Keys) ensureSigner(ctx context.Context, force bool) error {
	err := k.st.Tx(ctx, func(tx store.Store) error {
		if err := tx.Lock(ctx, "signing-keys"); err != nil {
			return err
		}
		keys, err := tx.SigningKeyList(ctx, k.now())
		if err != nil {
			return err
		}
		if !force && k.pickSigner(keys) != nil {
			return nil
		}
		nk, err := k.generate()
		if err != nil {
			return err
		}
		return tx.SigningKeyCreate(ctx, nk)
	})
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	return k.Reload(ctx)
}

// pickSigner returns the last created key of the configured algorithm that may still sign.
func (k *Keys) pickSigner(keys []store.SigningKey) *store.SigningKey {
	now := k.now()
	for i := range keys { // newest first
		if keys[i].Alg == string(k.alg) && keys[i].RetireAt.After(now) {
			return &keys[i]
		}
	}
	return nil
}

func (k *Keys) generate() (store.SigningKey, error) {
	var priv crypto.Signer
	var err error
	if k.alg == jose.RS256 {
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return store.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, err
	}
	kid := secret.NewToken("")[:16]
	pub := jose.JSONWebKey{Key: priv.Public(), KeyID: kid, Algorithm: string(k.alg), Use: "sig"}
	pubJSON, err := json.Marshal(pub)
	if err != nil {
		return store.SigningKey{}, err
	}
	now := k.now().UTC().Truncate(time.Microsecond)
	return store.SigningKey{
		KID: kid, Alg: string(k.alg),
		PrivateSealed: k.sealer.Seal(der, []byte("signing-key:"+kid)),
		PublicJWK:     string(pubJSON),
		CreatedAt:     now,
		RetireAt:      now.Add(k.signLifetime),
		ExpireAt:      now.Add(k.signLifetime + k.maxTokenLifetime),
	}, nil
}

// Reload reads the keys from the database: other nodes may have rotated them.
func (k *Keys) Reload(ctx context.Context) error {
	keys, err := k.st.SigningKeyList(ctx, k.now())
	if err != nil {
		return err
	}
	public := make(map[string]jose.JSONWebKey, len(keys))
	var set jose.JSONWebKeySet
	for _, sk := range keys {
		var jwk jose.JSONWebKey
		if err := json.Unmarshal([]byte(sk.PublicJWK), &jwk); err != nil {
			return fmt.Errorf("signing key %s: bad public key: %w", sk.KID, err)
		}
		public[sk.KID] = jwk
		set.Keys = append(set.Keys, jwk)
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return err
	}
	var signer jose.Signer
	var signerKID string
	if sk := k.pickSigner(keys); sk != nil {
		der, err := k.sealer.Open(sk.PrivateSealed, []byte("signing-key:"+sk.KID))
		if err != nil {
			return fmt.Errorf("signing key %s does not open with the secret key: %w", sk.KID, err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return fmt.Errorf("signing key %s: %w", sk.KID, err)
		}
		signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(sk.Alg), Key: jose.JSONWebKey{Key: priv, KeyID: sk.KID}},
			(&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			return err
		}
		signerKID = sk.KID
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.public, k.jwks, k.lastLoad = public, jwks, k.now()
	if signer != nil {
		k.signer, k.signerKID = signer, signerKID
	}
	return nil
}

// errNoSigner means no key may sign: the keys have not been rotated for too long.
var errNoSigner = errors.New("no signing key is current")

// sign serialises a signed JWT of claims.
func (k *Keys) sign(claims any) (string, error) {
	k.mu.RLock()
	signer := k.signer
	k.mu.RUnlock()
	if signer == nil {
		return "", errNoSigner
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// publicKey returns the verification key for kid; an unknown kid triggers one reload (a
// node may have rotated), at most every 2 seconds.
func (k *Keys) publicKey(ctx context.Context, kid string) (jose.JSONWebKey, bool) {
	k.mu.RLock()
	jwk, ok := k.public[kid]
	recent := k.now().Sub(k.lastLoad) < 2*time.Second
	k.mu.RUnlock()
	if ok || recent {
		return jwk, ok
	}
	if err := k.Reload(ctx); err != nil {
		return jose.JSONWebKey{}, false
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	jwk, ok = k.public[kid]
	return jwk, ok
}

// JWKS returns the public keys as a JSON Web Key Set document.
func (k *Keys) JWKS() []byte {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.jwks
}

// SigningKID is the kid of the key that signs now.
func (k *Keys) SigningKID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.signerKID
}

// Alg is the algorithm new tokens are signed with.
func (k *Keys) Alg() string { return string(k.alg) }

// Run reloads the keys every interval until ctx ends, and rotates them when the current
// one is about to retire, so that a long-running node never finds itself without a signer.
func (k *Keys) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = k.ensureSigner(ctx, false)
		}
	}
}
