package bootstrap

import (
	"context"
	"fmt"
	"io"

	"github.com/openorch/openorch/internal/config"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
)

// Demo holds the credentials of a freshly created demo set.
type Demo struct {
	Org, Tenant, Folder, Queue  string
	User, Password              string
	ClientID, ClientSecret      string
	MachineClientID, MachineKey string
}

// DemoFile describes the demo set of DESIGN §1 with fresh random secrets.
func DemoFile() (*config.File, Demo) {
	d := Demo{
		Org: "demo", Tenant: "DefaultTenant", Folder: "Shared", Queue: "Invoices",
		User: "admin@demo.local", Password: "pw_" + secret.NewToken("")[:21],
		ClientID: "demo-app", ClientSecret: secret.NewToken("oo_cs_"),
		MachineClientID: "demo-machine", MachineKey: secret.NewToken("oo_cs_"),
	}
	every := []string{"OR.Administration", "OR.Assets", "OR.Audit", "OR.BackgroundTasks", "OR.Execution", "OR.Folders",
		"OR.Jobs", "OR.License", "OR.Machines", "OR.Monitoring", "OR.Queues", "OR.Robots", "OR.Settings", "OR.Users", "OR.Webhooks"}
	f := &config.File{Organizations: []config.OrganizationSpec{{
		Name: d.Org, DisplayName: "Demo",
		Users: []config.UserSpec{{Email: d.User, Name: "Demo Admin", Password: d.Password, OrgAdmin: true, BasicAuth: true}},
		Apps:  []config.AppSpec{{Name: d.ClientID, ClientID: d.ClientID, ClientSecret: d.ClientSecret, AppScopes: every}},
		Tenants: []config.TenantSpec{{
			Name:            d.Tenant,
			LegacyBasicAuth: &config.LegacyBasicAuthSpec{Enabled: true},
			Members: []config.MemberSpec{
				{User: d.User, Roles: []string{"Administrator"}},
				{App: d.ClientID, Roles: []string{"Administrator"}},
			},
			Folders:  []config.FolderSpec{{Path: d.Folder}},
			Machines: []config.MachineSpec{{Name: d.MachineClientID, ClientID: d.MachineClientID, ClientSecret: d.MachineKey, Folders: []string{d.Folder}, Slots: 2}},
			Queues:   []config.QueueSpec{{Name: d.Queue, Folder: d.Folder, MaxRetries: 1}},
		}},
	}}}
	return f, d
}

// ApplyDemo creates the demo set when the database has no organization yet, in one
// transaction under the bootstrap lock. created is false when the database was not empty
// (then nothing is written and no secret exists to print).
func ApplyDemo(ctx context.Context, st store.Store) (d Demo, created bool, err error) {
	f, d := DemoFile()
	err = st.Tx(ctx, func(tx store.Store) error {
		if err := tx.Lock(ctx, "bootstrap"); err != nil {
			return err
		}
		orgs, err := tx.OrganizationList(ctx)
		if err != nil || len(orgs) > 0 {
			return err
		}
		created = true
		return Apply(ctx, tx, f, "demo set")
	})
	if err != nil || !created {
		return Demo{}, false, err
	}
	return d, true, nil
}

// Print writes the demo block: the URL and ready-to-paste export lines for every secret.
// It goes to stdout, never through the logger.
func (d Demo) Print(w io.Writer, url string) {
	fmt.Fprintf(w, `
OpenOrch demo is ready at %[1]s
These secrets are shown once. Paste the lines below into your shell:

export ORCH_DEMO_URL=%[1]s
export ORCH_DEMO_ORG=%[2]s
export ORCH_DEMO_TENANT=%[3]s
export ORCH_DEMO_FOLDER=%[4]s
export ORCH_DEMO_QUEUE=%[5]s
export ORCH_DEMO_USER=%[6]s
export ORCH_DEMO_PASSWORD=%[7]s
export ORCH_DEMO_CLIENT_ID=%[8]s
export ORCH_DEMO_CLIENT_SECRET=%[9]s
export ORCH_DEMO_MACHINE_CLIENT_ID=%[10]s
export ORCH_DEMO_MACHINE_CLIENT_SECRET=%[11]s

`, url, d.Org, d.Tenant, d.Folder, d.Queue, d.User, d.Password, d.ClientID, d.ClientSecret, d.MachineClientID, d.MachineKey)
}
