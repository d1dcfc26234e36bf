package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestClientShapes replays the request shapes of reference/clients.md that concern the
// entity sets served so far, byte for byte where the shape is in the bytes.
func TestClientShapes(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ann := e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess")
			do := func(t *testing.T, req *http.Request) (int, string) {
				t.Helper()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			want := func(t *testing.T, status int, body string, wantStatus int, parts ...string) {
				t.Helper()
				if status != wantStatus {
					t.Fatalf("status %d, want %d: %s", status, wantStatus, body)
				}
				for _, p := range parts {
					if !strings.Contains(body, p) {
						t.Errorf("body lacks %s: %s", p, body)
					}
				}
			}
			get := func(path string, h http.Header) *http.Request {
				req, _ := http.NewRequest("GET", e.url+path, nil)
				req.Header = h
				return req
			}
			auth := http.Header{"Authorization": {"Bearer " + ann}}

			t.Run("uipathcli folder lookup", func(t *testing.T) {
				// The CLI writes the filter with literal spaces and quotes escaped by Go's
				// url.Values: + for space, %27 for the quote.
				st, body := do(t, get(base+"/odata/Folders?%24filter=FullyQualifiedName+eq+%27Shared%27+or+Id+eq+0", auth))
				want(t, st, body, 200, `"FullyQualifiedName":"Shared"`)
				if strings.Count(body, `"Id":`) != 1 {
					t.Errorf("want exactly one folder: %s", body)
				}
			})
			t.Run("literal $ and %20 and quote", func(t *testing.T) {
				st, body := do(t, get(base+"/odata/Folders?$filter=FullyQualifiedName%20eq%20'Finance/AP'&$top=5", auth))
				want(t, st, body, 200, `"FullyQualifiedName":"Finance/AP"`)
			})
			t.Run("%24top without a folder header", func(t *testing.T) {
				st, body := do(t, get(base+"/odata/Folders?%24top=5", auth))
				want(t, st, body, 200, `"value":[`)
			})
			t.Run("lowercase authorization and bearer, header names in any case", func(t *testing.T) {
				req := get(base+"/odata/QueueDefinitions", nil)
				req.Header = http.Header{}
				req.Header["authorization"] = []string{"bearer " + ann}
				req.Header["x-uipath-folderpath"] = []string{"Shared"}
				st, body := do(t, req)
				want(t, st, body, 200, `"Name":"Invoices"`)
			})
			t.Run("GET with Content-Type and no body", func(t *testing.T) {
				h := auth.Clone()
				h.Set("Content-Type", "application/json")
				st, body := do(t, get(base+"/odata/Machines", h))
				want(t, st, body, 200, `"value":[`)
			})
			t.Run("chunked POST body", func(t *testing.T) {
				// A body of unknown length, sent chunked as the official CLI does.
				pr, pw := io.Pipe()
				go func() {
					pw.Write([]byte(`{"DisplayName":"Chunked",`))
					pw.Write([]byte(`"Description":"sent in pieces"}`))
					pw.Close()
				}()
				req, _ := http.NewRequest("POST", e.url+base+"/odata/Folders", pr)
				req.Header = auth.Clone()
				req.Header.Set("Content-Type", "application/json")
				req.TransferEncoding = []string{"chunked"}
				st, body := do(t, req)
				want(t, st, body, 201, `"DisplayName":"Chunked"`, `"Description":"sent in pieces"`)
			})
			t.Run("JSON content type with OData parameters", func(t *testing.T) {
				req, _ := http.NewRequest("POST", e.url+base+"/odata/Folders", strings.NewReader(`{"displayName":"Params"}`))
				req.Header = auth.Clone()
				req.Header.Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true")
				st, body := do(t, req)
				want(t, st, body, 201, `"DisplayName":"Params"`)
			})
			t.Run("older layout with X-UIPATH-TenantName", func(t *testing.T) {
				h := auth.Clone()
				h.Set("X-UIPATH-TenantName", "DefaultTenant")
				st, body := do(t, get("/acme/DefaultTenant/odata/Folders?%24top=5", h))
				want(t, st, body, 200, `"FullyQualifiedName":"Shared"`)
			})
		})
	}
}
