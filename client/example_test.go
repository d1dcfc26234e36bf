package client_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/openorch/openorch/client"
)

// An external application lists its folders, then the queues of one of them.
func ExampleNew() {
	ctx := context.Background()
	app := clientcredentials.Config{
		ClientID:     "invoice-bot",
		ClientSecret: os.Getenv("INVOICE_BOT_SECRET"),
		TokenURL:     client.Endpoint("https://orch.example.com", "acme").TokenURL,
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	c, err := client.New(client.Config{
		URL:         "https://orch.example.com",
		Org:         "acme",
		Tenant:      "DefaultTenant",
		TokenSource: app.TokenSource(ctx), // oauth2 renews the token when it expires
	})
	if err != nil {
		log.Fatal(err)
	}
	folders, _, err := c.Folders.List(ctx, nil)
	if err != nil {
		log.Fatal(err) // an *client.Error carries the server's message and code
	}
	for _, f := range folders {
		fmt.Println(f.ID, f.FullyQualifiedName)
	}
	queues, _, err := client.List[map[string]any](ctx, c, "odata/QueueDefinitions",
		&client.ListOptions{OrderBy: "Name"}, client.InFolder("Shared"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(queues.Value), "queues in Shared")
}

// Inside a job, the robot gives the tenant's API base and a token in the environment.
func ExampleNew_job() {
	c, err := client.New(client.Config{
		URL:         os.Getenv("ORCH_URL"), // https://host/{org}/{tenant}/orchestrator_
		Folder:      os.Getenv("ORCH_FOLDER_ID"),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: os.Getenv("ORCH_ACCESS_TOKEN")}),
	})
	if err != nil {
		log.Fatal(err)
	}
	req, err := c.NewRequest("POST", "odata/Queues/UiPathODataSvc.AddQueueItem", map[string]any{
		"itemData": map[string]any{"Name": "Invoices", "Reference": "inv-1", "SpecificContent": map[string]any{"Amount": 42}},
	})
	if err != nil {
		log.Fatal(err)
	}
	var item struct {
		ID int64 `json:"Id"`
	}
	if _, err := c.Do(context.Background(), req, &item); err != nil {
		log.Fatal(err)
	}
	fmt.Println("added queue item", item.ID)
}
