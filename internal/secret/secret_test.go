package secret

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestKeySealOpen(t *testing.T) {
	t.Parallel()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sealed := k.Seal([]byte("hunter2"), []byte("asset:1"))
	if bytes.Contains(sealed, []byte("hunter2")) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := k.Open(sealed, []byte("asset:1"))
	if err != nil || string(got) != "hunter2" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(sealed, []byte("asset:2")); err != ErrWrongKey {
		t.Errorf("open with another aad: %v, want ErrWrongKey", err)
	}
	other, _ := GenerateKey()
	if _, err := other.Open(sealed, []byte("asset:1")); err != ErrWrongKey {
		t.Errorf("open with another key: %v, want ErrWrongKey", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := k.Open(sealed, []byte("asset:1")); err != ErrWrongKey {
		t.Errorf("open of a tampered value: %v, want ErrWrongKey", err)
	}
	if _, err := k.Open([]byte("short"), nil); err != ErrWrongKey {
		t.Errorf("open of a short value: %v", err)
	}
	if bytes.Equal(k.Seal([]byte("x"), nil), k.Seal([]byte("x"), nil)) {
		t.Error("two seals of the same value are equal: the nonce is not random")
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	k, _ := GenerateKey()
	hex := k.String()
	for _, s := range []string{hex, strings.ToUpper(hex), " " + hex + "\n"} {
		p, err := ParseKey(s)
		if err != nil || p.String() != hex {
			t.Errorf("ParseKey(%q) = %v, %v", s, p, err)
		}
	}
	b64 := "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="
	if _, err := ParseKey(b64); err != nil {
		t.Errorf("base64 key: %v", err)
	}
	for _, bad := range []string{"", "nope", hex[:62], hex + "00"} {
		if _, err := ParseKey(bad); err == nil || strings.Contains(err.Error(), bad) && bad != "" {
			t.Errorf("ParseKey(%q) = %v; want an error that does not echo the input", bad, err)
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secret.key")
	// Many starts at once: exactly one key wins and every caller gets it.
	var wg sync.WaitGroup
	keys := make([]string, 8)
	created := make([]bool, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, c, err := LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i], created[i] = k.String(), c
		}()
	}
	wg.Wait()
	n := 0
	for i := range keys {
		if keys[i] != keys[0] {
			t.Fatalf("callers got different keys")
		}
		if created[i] {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d callers report creating the key, want 1", n)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, %v; want 0600", fi.Mode(), err)
	}
	os.WriteFile(path, []byte("garbage"), 0o600)
	if _, _, err := LoadOrCreateKeyFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a corrupt key file: %v; want an error naming the file", err)
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	a, b := NewToken("oo_pat_"), NewToken("oo_pat_")
	if a == b || !strings.HasPrefix(a, "oo_pat_") || len(a) < 40 {
		t.Fatalf("tokens %q %q", a, b)
	}
	h := HashToken(a)
	if !TokenMatches(a, h) || TokenMatches(b, h) || TokenMatches(a, h[:10]) {
		t.Error("TokenMatches is wrong")
	}
}

func TestPassword(t *testing.T) {
	t.Parallel()
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash format %q", h)
	}
	h2, _ := HashPassword("correct horse")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	if ok, err := PasswordMatches("correct horse", h); !ok || err != nil {
		t.Errorf("right password: %v %v", ok, err)
	}
	if ok, _ := PasswordMatches("correct horsE", h); ok {
		t.Error("wrong password matched")
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=1,t=1,p=0$AA$AA", "$bcrypt$x$y$z$w"} {
		if ok, err := PasswordMatches("x", bad); ok || err == nil {
			t.Errorf("malformed hash %q: %v %v", bad, ok, err)
		}
	}
}
