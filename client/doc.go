// Package client is a Go client for the Orchestrator API of OpenOrch, and of any server
// wire-compatible with UiPath Orchestrator Cloud.
//
// A Client addresses one tenant: the server's URL, the organization and the tenant, or the
// tenant's API base as a job receives it in ORCH_URL
// (https://host/{org}/{tenant}/orchestrator_). Authentication is an
// [golang.org/x/oauth2.TokenSource], so tokens are refreshed by the oauth2 package:
//
//	conf := clientcredentials.Config{
//		ClientID:     "invoice-bot",
//		ClientSecret: secret,
//		TokenURL:     client.Endpoint("https://orch.example.com", "acme").TokenURL,
//		AuthStyle:    oauth2.AuthStyleInParams,
//	}
//	c, err := client.New(client.Config{
//		URL:         "https://orch.example.com",
//		Org:         "acme",
//		Tenant:      "DefaultTenant",
//		TokenSource: conf.TokenSource(ctx),
//	})
//	folders, _, err := c.Folders.List(ctx, &client.ListOptions{Filter: "startswith(DisplayName,'Fin')"})
//
// Typed calls are grouped by entity set (c.Folders, …). Everything else goes through the
// core that they are built on: [Client.NewRequest] and [Client.Do], with [InFolder] and
// its siblings for the folder headers and [List] and [All] for OData lists.
//
// A refusal by the server is an [*Error] carrying its message, error code, trace id and
// details, whichever of the current format ({"message","errorCode","traceId","details"}),
// the ABP envelope of the older layout or an OAuth error body it came in.
package client
