package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// send makes a request with a JSON body (none when body is "") and headers as given.
func (e *env) send(t *testing.T, method, path, body string, headers map[string]string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header[k] = []string{v} // as sent, in any case
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	json.Unmarshal(b, &r.body)
	return r
}

func TestFolderWrites(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ann := bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Folders"))
			bob := bearer(e.userToken(t, "acme", "bob@acme.test", "OrchestratorApiUserAccess"))

			// camelCase and PascalCase bodies alike.
			r := e.send(t, "POST", base+"/odata/Folders", `{"displayName":"Ops","description":"run"}`, ann)
			wantStatus(t, r, 201, `"FullyQualifiedName":"Ops"`, `"Description":"run"`, `"@odata.context"`)
			opsID := int64(r.body["Id"].(float64))
			if !strings.HasSuffix(r.header.Get("Location"), "/odata/Folders("+itoa(opsID)+")") {
				t.Errorf("Location = %q", r.header.Get("Location"))
			}
			parent := opsID
			for i, seg := range []string{"L2", "L3", "L4", "L5", "L6", "L7"} {
				r = e.send(t, "POST", base+"/odata/Folders", `{"DisplayName":"`+seg+`","ParentId":`+itoa(parent)+`}`, ann)
				wantStatus(t, r, 201)
				parent = int64(r.body["Id"].(float64))
				if i == 5 && r.body["FullyQualifiedName"] != "Ops/L2/L3/L4/L5/L6/L7" {
					t.Errorf("depth 7: %v", r.body["FullyQualifiedName"])
				}
			}
			wantStatus(t, e.send(t, "POST", base+"/odata/Folders", `{"DisplayName":"L8","ParentId":`+itoa(parent)+`}`, ann), 400, "the limit is 7")
			wantStatus(t, e.send(t, "POST", base+"/odata/Folders", `{"DisplayName":"ops"}`, ann), 409, `already exists`)
			wantStatus(t, e.send(t, "POST", base+"/odata/Folders", `{"DisplayName":5}`, ann), 400, "DisplayName: expected a string, got number")
			wantStatus(t, e.send(t, "POST", base+"/odata/Folders", `{"DisplayName":`, ann), 400, "not valid JSON")
			wantStatus(t, e.send(t, "POST", base+"/odata/Folders", `{}`, ann), 400, "DisplayName is required")
			wantStatus(t, e.send(t, "POST", base+"/odata/Folders", `{"DisplayName":"`+strings.Repeat("x", 116)+`"}`, ann), 400, "116 characters long; the limit is 115")
			wantStatus(t, e.send(t, "POST", base+"/odata/Folders", `{"DisplayName":"X","ParentId":999999}`, ann), 404)
			// Renaming moves the names of the whole subtree.
			wantStatus(t, e.send(t, "PATCH", base+"/odata/Folders("+itoa(opsID)+")", `{"DisplayName":"Operations"}`, ann), 200)
			r = e.get(t, base+"/odata/Folders("+itoa(parent)+")", ann)
			wantStatus(t, r, 200, `"FullyQualifiedName":"Operations/L2/L3/L4/L5/L6/L7"`)
			wantStatus(t, e.send(t, "PUT", base+"/odata/Folders("+itoa(opsID)+")", `{"Description":"only"}`, ann), 400, "DisplayName is required with PUT")
			wantStatus(t, e.send(t, "DELETE", base+"/odata/Folders("+itoa(opsID)+")", "", ann), 409, "subfolders")
			wantStatus(t, e.send(t, "DELETE", base+"/odata/Folders("+itoa(parent)+")", "", ann), 204)
			wantStatus(t, e.send(t, "DELETE", base+"/odata/Folders("+itoa(parent)+")", "", ann), 404)
			// Creating folders is for tenant Administrators.
			wantStatus(t, e.send(t, "POST", base+"/odata/Folders", `{"DisplayName":"Mine"}`, bob), 403, "Folders.Create")

			// Every change is in the audit log, by whom; refused changes left nothing.
			audit := bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Audit.Read"))
			r = e.get(t, base+"/odata/AuditLogs?$filter=Component+eq+'Folders'&$orderby=Id&$count=true", audit)
			wantStatus(t, r, 200, `"@odata.count":9`, `"UserName":"user ann@acme.test"`, `"ClientId":"orch-cli"`,
				`"OperationText":"renamed folder Ops to Operations"`, `"OperationText":"deleted folder Operations/L2/L3/L4/L5/L6/L7"`)
			actions := names(t, r, "Action")
			want := "Create,Create,Create,Create,Create,Create,Create,Update,Delete"
			if got := strings.Join(actions, ","); got != want {
				t.Errorf("audit actions %s, want %s", got, want)
			}
			wantStatus(t, e.get(t, base+"/odata/AuditLogs", bob), 403, "Audit.View")
			// Another tenant's log does not show these.
			r = e.get(t, "/acme/Other/orchestrator_/odata/AuditLogs?$count=true", audit)
			wantStatus(t, r, 200, `"@odata.count":0`)
		})
	}
}
