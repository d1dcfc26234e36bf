// Package secret handles everything secret OpenOrch keeps: the installation's secret key
// (which wraps secrets stored in the database), password hashes, token hashes and
// generation of recognisable random tokens.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of the secret key in bytes (AES-256).
const KeySize = 32

// Key is the installation's secret key. It wraps (encrypts and authenticates) every secret
// that the database holds, so a copy of the database alone reveals none of them.
type Key struct {
	aead cipher.AEAD
	raw  [KeySize]byte
}

// ParseKey reads a key written as 64 hex characters or as base64 (standard or URL alphabet,
// padded or not) of 32 bytes. Surrounding white space is ignored.
func ParseKey(s string) (*Key, error) {
	s = strings.TrimSpace(s)
	var raw []byte
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		raw = b
	} else {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
				raw = b
				break
			}
		}
	}
	if raw == nil {
		return nil, fmt.Errorf("secret key must be %d bytes written as 64 hex characters or base64 (got %d characters)", KeySize, len(s))
	}
	return newKey(raw)
}

func newKey(raw []byte) (*Key, error) {
	k := &Key{}
	copy(k.raw[:], raw)
	block, err := aes.NewCipher(k.raw[:])
	if err != nil {
		return nil, err
	}
	if k.aead, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	return k, nil
}

// GenerateKey makes a new random key.
func GenerateKey() (*Key, error) {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	return newKey(raw)
}

// String writes the key as hex, the form LoadOrCreateKeyFile stores.
func (k *Key) String() string { return hex.EncodeToString(k.raw[:]) }

// LoadKeyFile reads a key file.
func LoadKeyFile(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// LoadOrCreateKeyFile reads the key at path, or creates a new one there (mode 0600,
// written to a temporary file and renamed, so a crash never leaves half a key) when the
// file does not exist. created reports which happened.
func LoadOrCreateKeyFile(path string) (k *Key, created bool, err error) {
	k, err = LoadKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	if k, err = GenerateKey(); err != nil {
		return nil, false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret.key-*")
	if err != nil {
		return nil, false, fmt.Errorf("create secret key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("create secret key: %w", err)
	}
	if _, err := tmp.WriteString(k.String() + "\n"); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("create secret key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("create secret key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, false, fmt.Errorf("create secret key: %w", err)
	}
	// Link, not rename: if another process created the key meanwhile, keep theirs.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			k, err = LoadKeyFile(path)
			return k, false, err
		}
		return nil, false, fmt.Errorf("create secret key: %w", err)
	}
	return k, true, nil
}

// Seal encrypts plaintext; aad (for example "asset:42") binds the ciphertext to its use,
// so a wrapped value copied to another row does not open. The result is self-contained.
func (k *Key) Seal(plaintext, aad []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("secret: no randomness: " + err.Error())
	}
	return k.aead.Seal(nonce, nonce, plaintext, aad)
}

// ErrWrongKey is returned by Open when the value was not sealed with this key and aad, or
// was altered.
var ErrWrongKey = errors.New("secret: value does not open with this secret key")

// Open decrypts a value made by Seal with the same key and aad.
func (k *Key) Open(sealed, aad []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, ErrWrongKey
	}
	out, err := k.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrWrongKey
	}
	return out, nil
}

// HashToken returns the hex SHA-256 of a high-entropy secret (a generated token or a client
// secret of at least 32 characters). Such secrets need no slow hash.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenMatches compares token with a HashToken result in constant time.
func TokenMatches(token, hash string) bool {
	got := HashToken(token)
	return subtle.ConstantTimeCompare([]byte(got), []byte(hash)) == 1
}

// NewToken returns prefix followed by 32 random bytes in base64url: "oo_pat_…".
func NewToken(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("secret: no randomness: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}
