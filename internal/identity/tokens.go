package identity

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/openorch/openorch/internal/secret"
)

// Audience is the aud of every access token OpenOrch issues.
const Audience = "orchestrator"

// Subject types (claim sub_type).
const (
	SubUser   = "user"
	SubClient = "client"
	SubRobot  = "robot"
)

// Claims are the claims of an OpenOrch access token (DESIGN §4).
type Claims struct {
	Issuer    string   `json:"iss"`
	Audience  audience `json:"aud"`
	Subject   string   `json:"sub"`
	SubType   string   `json:"sub_type"`
	ClientID  string   `json:"client_id"`
	OrgKey    string   `json:"prt_id"`
	Scope     string   `json:"scope"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf"`
	Expiry    int64    `json:"exp"`
	ID        string   `json:"jti"`
	// IssuedAtMillis places the token exactly against revocations made in the same second.
	IssuedAtMillis int64 `json:"iat_ms"`
	// Folder, when set, is the Key of the only folder the token may be used in (a job's
	// token: the folder of its job).
	Folder string `json:"folder,omitempty"`
	// Job, when set, is the Key of the job a token was issued for: the API refuses it
	// once the job has ended.
	Job string `json:"job,omitempty"`
	// Tenant, when set, is the Key of the only tenant the token may be used in (the legacy
	// login issues a token for one tenant).
	Tenant string `json:"tenant,omitempty"`
	// Family names the grant a token descends from, so revoking a refresh token family
	// also denies the access tokens issued from it.
	Family string `json:"fam,omitempty"`
}

// Scopes splits the scope claim.
func (c Claims) Scopes() []string { return strings.Fields(c.Scope) }

// audience reads aud as a string or a list, and writes one value as a string.
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("aud is neither a string nor a list of strings")
	}
	*a = many
	return nil
}

// Issue signs an access token for claims, filling iat, nbf, exp and jti from now and ttl.
func (k *Keys) Issue(c Claims, ttl time.Duration) (token string, claims Claims, err error) {
	now := k.now()
	c.Audience = audience{Audience}
	c.IssuedAt, c.NotBefore, c.Expiry = now.Unix(), now.Unix(), now.Add(ttl).Unix()
	c.IssuedAtMillis = now.UnixMilli()
	c.ID = secret.NewToken("")[:22]
	token, err = k.sign(c)
	return token, c, err
}

// TokenError says why a token is unusable, in words a person can act on; the API puts it
// in the 401 body and in WWW-Authenticate.
type TokenError struct{ Reason string }

func (e *TokenError) Error() string { return e.Reason }

func tokenErr(format string, args ...any) error {
	return &TokenError{Reason: fmt.Sprintf(format, args...)}
}

// Verifier checks access tokens locally: signature by a key of this installation, one of
// the installation's issuers, audience, time, and the deny-list.
type Verifier struct {
	keys     *Keys
	deny     *DenyList
	public   string // the public URL, without a trailing slash
	leeway   time.Duration
	now      func() time.Time
	verified verifiedTokens
}

// NewVerifier makes a verifier for tokens issued under publicURL.
func NewVerifier(keys *Keys, deny *DenyList, publicURL string) *Verifier {
	return &Verifier{keys: keys, deny: deny, public: strings.TrimRight(publicURL, "/"), leeway: time.Minute, now: keys.now}
}

var acceptedAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.RS256}

// Verify returns the claims of a valid token, or a *TokenError saying why it is not. The
// signature of a token this node verified recently is not checked again (verifiedTokens);
// everything that can change — the key, time, the deny-list — is, on every call.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	sum := sha256.Sum256([]byte(raw))
	c, kid, ok := v.verified.get(sum, v.now())
	if ok {
		// Keys leave the key set once their tokens have expired; a token seen before its
		// key left is checked in full again, and refused.
		_, ok = v.keys.publicKey(ctx, kid)
	}
	if !ok {
		var err error
		if c, kid, err = v.verifySigned(ctx, raw); err != nil {
			return c, err
		}
		v.verified.put(sum, c, kid, v.now())
	}
	now := v.now()
	if exp := time.Unix(c.Expiry, 0); now.After(exp.Add(v.leeway)) {
		return c, tokenErr("the token expired at %s; get a new one", exp.UTC().Format(time.RFC3339))
	}
	if nbf := time.Unix(c.NotBefore, 0); now.Add(v.leeway).Before(nbf) {
		return c, tokenErr("the token is not valid before %s", nbf.UTC().Format(time.RFC3339))
	}
	if v.deny != nil {
		if why := v.deny.Denied(c); why != "" {
			return c, tokenErr("the token was revoked: %s", why)
		}
	}
	return c, nil
}

// verifySigned checks what does not change over a token's life: its form, its signature
// by a key of this installation, its issuer and audience. It returns the claims and the
// signing key's id.
func (v *Verifier) verifySigned(ctx context.Context, raw string) (Claims, string, error) {
	var c Claims
	if strings.Count(raw, ".") != 2 {
		return c, "", tokenErr("the bearer token is not a JWT (expected three dot-separated parts); send the access_token from the token endpoint")
	}
	jws, err := jose.ParseSigned(raw, acceptedAlgs)
	if err != nil {
		return c, "", tokenErr("the token is not signed with ES256 or RS256 (%s)", shortJOSE(err))
	}
	if len(jws.Signatures) != 1 {
		return c, "", tokenErr("the token must carry exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	jwk, ok := v.keys.publicKey(ctx, kid)
	if !ok {
		return c, "", tokenErr("the token is signed with key %q, which this installation does not have: it was issued elsewhere or long ago", kid)
	}
	if jws.Signatures[0].Header.Algorithm != jwk.Algorithm {
		return c, "", tokenErr("the token's algorithm %s does not match its key's %s", jws.Signatures[0].Header.Algorithm, jwk.Algorithm)
	}
	payload, err := jws.Verify(jwk)
	if err != nil {
		return c, "", tokenErr("the token's signature is not valid: it was altered or not issued here")
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, "", tokenErr("the token's claims are malformed")
	}
	if !v.issuerOK(c.Issuer) {
		return c, "", tokenErr("the token was issued by %q, which is not this installation (%s)", c.Issuer, v.public)
	}
	if !slices.Contains(c.Audience, Audience) {
		return c, "", tokenErr("the token is for audience %v, not %q", []string(c.Audience), Audience)
	}
	return c, kid, nil
}

// issuerOK accepts the installation's three issuers: {public}/identity_,
// {public}/{org}/identity_ and, for the seed-era endpoints, {public}/.
func (v *Verifier) issuerOK(iss string) bool {
	if iss == v.public+"/" || iss == v.public+"/identity_" {
		return true
	}
	org, ok := strings.CutSuffix(strings.TrimPrefix(iss, v.public+"/"), "/identity_")
	return ok && strings.HasPrefix(iss, v.public+"/") && org != "" && !strings.Contains(org, "/")
}

// shortJOSE turns go-jose's parse errors into a short phrase.
func shortJOSE(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "go-jose/go-jose: ")
	return msg
}
