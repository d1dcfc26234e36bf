//go:build unix

package identity_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/sqlstore"
	"github.com/openorch/openorch/internal/store/storetest"
	"github.com/openorch/openorch/internal/tenancy"
)

// benchAppScopes are the app's registered scopes; the benchmark asks for none, so the token
// carries all of them.
var benchAppScopes = []string{"OR.Jobs", "OR.Queues", "OR.Assets", "OR.Robots", "OR.Folders.Read"}

// BenchmarkClientCredentials measures client_credentials issuance over HTTP on loopback:
// a shared keep-alive http.Client, with 1, 4 or 16 goroutines each sending one request at a
// time, against two servers on 127.0.0.1 listeners of the same process:
//
//   - endpoint: the identity service mounted on server.New (the full middleware chain),
//     POST /identity_/connect/token, looking the app and its organization up in the store;
//   - endpoint-memlookup: the same endpoint, with the two store reads of a successful
//     request (AppGetByClientID, OrganizationGet) answered from memory: what the endpoint
//     would cost with a per-node client cache, and so the cost of everything but the store;
//   - bare: a handler that only parses the form, finds the secret hash in a map, checks it
//     with secret.TokenMatches and signs the same claims with the same keys.
//
// Metrics: tokens/s (b.N over the timed wall time), p50-us and p99-us (per-request latency
// seen by the client), cpu-us/token (user+system CPU of this process, which holds client
// and server, per token) and, on PostgreSQL, pg-cpu-us/token (CPU of every process named
// postgres on the machine, per token).
func BenchmarkClientCredentials(b *testing.B) {
	engines := []struct {
		name string
		open func(testing.TB) *sqlstore.DB
	}{
		{"sqlite", storetest.NewSQLite},
		{"postgres", storetest.NewPostgres},
	}
	for _, e := range engines {
		b.Run("engine="+e.name, func(b *testing.B) {
			env := newCCBench(b, e.open(b))
			for _, clients := range []int{1, 4, 16} {
				b.Run("clients="+strconv.Itoa(clients), func(b *testing.B) {
					b.Run("handler=endpoint", func(b *testing.B) {
						env.run(b, env.endpointURL, clients, e.name == "postgres")
					})
					b.Run("handler=endpoint-memlookup", func(b *testing.B) {
						env.run(b, env.memURL, clients, e.name == "postgres")
					})
					b.Run("handler=bare", func(b *testing.B) {
						env.run(b, env.bareURL, clients, e.name == "postgres")
					})
				})
			}
		})
	}
}

// ccBench is one engine's setup: the store, an organization with one confidential app, the
// two servers and the client.
type ccBench struct {
	endpointURL, memURL, bareURL string
	form                         string // the request body
	client                       *http.Client
}

func newCCBench(b *testing.B, db *sqlstore.DB) *ccBench {
	b.Helper()
	ctx := context.Background()
	org, err := db.OrganizationCreate(ctx, store.OrganizationCreateParams{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	clientID, clientSecret := "bench-app", secret.NewToken("")
	app, err := db.AppCreate(ctx, store.AppCreateParams{OrgID: org.ID, Name: "bench-app", ClientID: clientID,
		SecretHash: secret.HashToken(clientSecret), AppScopes: benchAppScopes})
	if err != nil {
		b.Fatal(err)
	}
	sealer, err := secret.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	keys, err := identity.NewKeys(ctx, db, sealer, identity.KeysOptions{})
	if err != nil {
		b.Fatal(err)
	}
	deny, err := identity.NewDenyList(ctx, db, nil, nil)
	if err != nil {
		b.Fatal(err)
	}

	endpointLn := benchListen(b)
	public := "http://" + endpointLn.Addr().String()
	srv := server.New(server.Options{})
	identity.New(identity.Options{Store: db, Keys: keys, Deny: deny, PublicURL: public}).Mount(srv)
	benchServe(b, endpointLn, srv)

	memLn := benchListen(b)
	memSrv := server.New(server.Options{})
	identity.New(identity.Options{Store: benchMemLookup{DB: db, app: app, org: org}, Keys: keys, Deny: deny,
		PublicURL: public}).Mount(memSrv)
	benchServe(b, memLn, memSrv)

	// The bare handler issues under the endpoint's issuer, so both sign the same claims.
	bareLn := benchListen(b)
	benchServe(b, bareLn, benchBareHandler(keys, map[string]benchBareClient{clientID: {
		hash: app.SecretHash, subject: app.Key, orgKey: org.Key, scopes: app.AppScopes,
	}}, public+"/identity_", time.Hour))

	env := &ccBench{
		endpointURL: public + "/identity_/connect/token",
		memURL:      "http://" + memLn.Addr().String() + "/identity_/connect/token",
		bareURL:     "http://" + bareLn.Addr().String() + "/identity_/connect/token",
		form: url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
			"client_secret": {clientSecret}, "scope": {""}}.Encode(),
		client: &http.Client{Transport: &http.Transport{
			MaxIdleConns:        64,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     time.Minute,
		}},
	}
	b.Cleanup(env.client.CloseIdleConnections)

	// Both handlers must answer with a token that verifies to the same claims.
	verifier := identity.NewVerifier(keys, deny, public)
	var got [3]identity.Claims
	for i, u := range []string{env.endpointURL, env.bareURL, env.memURL} {
		tok, err := env.token(u)
		if err != nil {
			b.Fatalf("%s: %v", u, err)
		}
		if got[i], err = verifier.Verify(ctx, tok.AccessToken); err != nil {
			b.Fatalf("%s: the token does not verify: %v", u, err)
		}
		if tok.Scope != strings.Join(benchAppScopes, " ") || tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 {
			b.Fatalf("%s: unexpected answer %+v", u, tok)
		}
		got[i].ID, got[i].IssuedAt, got[i].NotBefore, got[i].Expiry, got[i].IssuedAtMillis = "", 0, 0, 0, 0
	}
	for _, g := range got[1:] {
		if got[0].Issuer != g.Issuer || got[0].Subject != g.Subject || got[0].SubType != g.SubType ||
			got[0].ClientID != g.ClientID || got[0].OrgKey != g.OrgKey || got[0].Scope != g.Scope {
			b.Fatalf("the handlers sign different claims:\n%+v\n%+v", got[0], g)
		}
	}
	return env
}

// benchMemLookup is the store with the benchmark app and its organization held in memory.
type benchMemLookup struct {
	*sqlstore.DB
	app tenancy.App
	org tenancy.Organization
}

func (m benchMemLookup) AppGetByClientID(ctx context.Context, clientID string) (tenancy.App, error) {
	if clientID == m.app.ClientID {
		return m.app, nil
	}
	return m.DB.AppGetByClientID(ctx, clientID)
}

func (m benchMemLookup) OrganizationGet(ctx context.Context, id int64) (tenancy.Organization, error) {
	if id == m.org.ID {
		return m.org, nil
	}
	return m.DB.OrganizationGet(ctx, id)
}

func benchListen(b *testing.B) net.Listener {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return ln
}

func benchServe(b *testing.B, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
}

type benchTokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	TokenType   string `json:"token_type"`
	Scope       string `json:"scope"`
}

func (env *ccBench) token(u string) (benchTokenAnswer, error) {
	var t benchTokenAnswer
	resp, err := env.client.Post(u, "application/x-www-form-urlencoded", strings.NewReader(env.form))
	if err != nil {
		return t, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return t, err
	}
	if resp.StatusCode != http.StatusOK {
		return t, fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	return t, json.Unmarshal(body, &t)
}

// post sends one token request and reads the whole answer.
func (env *ccBench) post(u string) error {
	resp, err := env.client.Post(u, "application/x-www-form-urlencoded", strings.NewReader(env.form))
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return err
}

// run sends b.N token requests to u from clients goroutines.
func (env *ccBench) run(b *testing.B, u string, clients int, postgres bool) {
	// Open the connections before the clock starts.
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			if err := env.post(u); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		return
	}

	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Bool
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, pg0 := benchProcessCPU(), benchPostgresCPU(postgres)
	for range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				start := time.Now()
				if err := env.post(u); err != nil {
					if failed.CompareAndSwap(false, true) {
						b.Error(err)
					}
					return
				}
				lat[i] = time.Since(start)
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	cpu1, pg1 := benchProcessCPU(), benchPostgresCPU(postgres)

	n := float64(b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "tokens/s")
	slices.Sort(lat)
	b.ReportMetric(float64(benchPercentile(lat, 50).Nanoseconds())/1e3, "p50-us")
	b.ReportMetric(float64(benchPercentile(lat, 99).Nanoseconds())/1e3, "p99-us")
	b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/1e3/n, "cpu-us/token")
	if pg0 >= 0 && pg1 >= 0 {
		b.ReportMetric(float64((pg1-pg0).Nanoseconds())/1e3/n, "pg-cpu-us/token")
	}
}

// percentile returns the p-th percentile of sorted durations (nearest rank).
func benchPercentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (len(sorted)*p + 99) / 100 // ceil(n·p/100)
	return sorted[max(rank, 1)-1]
}

// benchProcessCPU is the user and system CPU time this process has used so far.
func benchProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPostgresCPU sums the user and system CPU of every process named postgres, read from
// /proc in clock ticks (assumed 100 a second, the Linux USER_HZ), or -1 when it is not
// wanted or /proc cannot be read. It counts whatever else those processes do meanwhile.
func benchPostgresCPU(want bool) time.Duration {
	if !want {
		return -1
	}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	var ticks int64
	found := false
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid … utime is field 14, stime 15; comm may hold spaces.
		s := string(stat)
		lp, rp := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if lp < 0 || rp < lp || s[lp+1:rp] != "postgres" {
			continue
		}
		f := strings.Fields(s[rp+1:]) // f[0] is field 3 (state)
		if len(f) < 13 {
			continue
		}
		ut, err1 := strconv.ParseInt(f[11], 10, 64)
		st, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		ticks += ut + st
		found = true
	}
	if !found {
		return -1
	}
	return time.Duration(ticks) * (time.Second / 100)
}

// benchBareClient is what the bare handler knows of a client.
type benchBareClient struct {
	hash, subject, orgKey string
	scopes                []string
}

// benchBareHandler is the floor for a token endpoint: parse the form, check a SHA-256 secret
// held in memory, sign the claims and write the same JSON answer.
func benchBareHandler(keys *identity.Keys, clients map[string]benchBareClient, iss string, ttl time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		id := r.PostForm.Get("client_id")
		c, ok := clients[id]
		if !ok || !secret.TokenMatches(r.PostForm.Get("client_secret"), c.hash) {
			http.Error(w, "invalid_client", http.StatusUnauthorized)
			return
		}
		scope := strings.Join(c.scopes, " ")
		token, _, err := keys.Issue(identity.Claims{Issuer: iss, Subject: c.subject, SubType: identity.SubClient,
			ClientID: id, OrgKey: c.orgKey, Scope: scope}, ttl)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		json.NewEncoder(w).Encode(benchTokenAnswer{AccessToken: token, ExpiresIn: int(ttl / time.Second), TokenType: "Bearer", Scope: scope})
	}
}

// BenchmarkVerify measures Verifier.Verify of a valid token and Keys.Issue, for ES256 and
// RS256 keys. Verify runs with an empty deny-list (its usual state) and with one unrelated
// revocation in it, which takes the deny-list's slower path on every call.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{"ES256", "RS256"} {
		b.Run("alg="+alg, func(b *testing.B) {
			ctx := context.Background()
			db := storetest.NewSQLite(b)
			sealer, err := secret.GenerateKey()
			if err != nil {
				b.Fatal(err)
			}
			keys, err := identity.NewKeys(ctx, db, sealer, identity.KeysOptions{Alg: alg})
			if err != nil {
				b.Fatal(err)
			}
			const public = "https://orch.example.com"
			claims := identity.Claims{Issuer: public + "/identity_", Subject: "3f2b8c1e-7d4a-4c55-9e3b-0a1b2c3d4e5f",
				SubType: identity.SubClient, ClientID: "bench-app", OrgKey: "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
				Scope: strings.Join(benchAppScopes, " ")}
			token, _, err := keys.Issue(claims, time.Hour)
			if err != nil {
				b.Fatal(err)
			}

			b.Run("op=Issue", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, _, err := keys.Issue(claims, time.Hour); err != nil {
						b.Fatal(err)
					}
				}
			})
			verify := func(deny *identity.DenyList) func(b *testing.B) {
				return func(b *testing.B) {
					v := identity.NewVerifier(keys, deny, public)
					if _, err := v.Verify(ctx, token); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					for b.Loop() {
						if _, err := v.Verify(ctx, token); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			empty, err := identity.NewDenyList(ctx, db, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("op=Verify", verify(empty))
			revoked, err := identity.NewDenyList(ctx, db, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := revoked.Revoke(ctx, store.RevokeClient, "another-app", time.Now().Add(time.Hour)); err != nil {
				b.Fatal(err)
			}
			b.Run("op=VerifyWithRevocation", verify(revoked))
		})
	}
}
