package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/openorch/openorch/client"
)

const queuesHelp = `Usage: orch queues add|list|items … (each takes --help)

  orch queues add QUEUE --content JSON [--reference R] [--priority P] [--folder F]
  orch queues list [--folder F]
  orch queues items QUEUE [--status S] [--top N] [--folder F]

Examples:
  orch queues add Invoices --folder Shared --content '{"Amount":42}' --reference inv-1
  orch queues items Invoices --folder Shared --status New --output json
`

const queuesAddHelp = `Usage: orch queues add QUEUE --content JSON [--reference R] [--priority P] [--folder F] [--output table|json] [--profile P]

Adds an item to the queue named QUEUE and prints it.

  --content JSON     the item's SpecificContent, a JSON object
  --reference R      the item's reference (a queue with unique references refuses a
                     reference it has taken: errorCode 1016)
  --priority P       High, Normal (default) or Low
  --folder PATH|ID   the folder of the queue (inside a job: the job's folder)

Examples:
  orch queues add Invoices --folder Shared --content '{"Amount":42}' --reference inv-1
  orch queues add Invoices --folder Shared --content '{"n":1}' --priority High --output json
`

const queuesListHelp = `Usage: orch queues list [--folder F] [--output table|json] [--profile P]

Lists the queues of a folder.

Examples:
  orch queues list --folder Shared
  orch queues list --folder 1 --output json
`

const queuesItemsHelp = `Usage: orch queues items QUEUE [--status S] [--top N] [--folder F] [--output table|json] [--profile P]

Lists the items of the queue named QUEUE, newest first.

  --status S         only items with this status: New, InProgress, Failed, Successful,
                     Abandoned, Retried, Deleted
  --top N            at most N items (default 20, at most 100)

Examples:
  orch queues items Invoices --folder Shared
  orch queues items Invoices --folder Shared --status Failed --output json
`

func (c *cli) queuesAdd(ctx context.Context, args []string) error {
	fs := newFlags("queues add")
	var co common
	co.register(fs, true)
	var content, reference, priority string
	fs.StringVar(&content, "content", "", "")
	fs.StringVar(&reference, "reference", "", "")
	fs.StringVar(&priority, "priority", "", "")
	pos, helped, err := c.parseFlags(fs, args, queuesAddHelp)
	if err != nil || helped {
		return err
	}
	queue, err := oneArg("queues add", "QUEUE (the queue's name)", pos)
	if err != nil {
		return err
	}
	if err := co.check("queues add"); err != nil {
		return err
	}
	item := client.ItemData{Name: queue, Reference: reference, Priority: priority}
	if content != "" {
		if item.SpecificContent, err = jsonObject("queues add", "--content", content); err != nil {
			return err
		}
	}
	s, err := c.session(ctx, &co)
	if err != nil {
		return err
	}
	qi, _, err := s.api.Queues.AddItem(ctx, item, co.folderOpts()...)
	if err != nil {
		return s.fail(err)
	}
	return c.printItems(co.output, []client.QueueItem{*qi})
}

func (c *cli) queuesList(ctx context.Context, args []string) error {
	fs := newFlags("queues list")
	var co common
	co.register(fs, true)
	pos, helped, err := c.parseFlags(fs, args, queuesListHelp)
	if err != nil || helped {
		return err
	}
	if err := noArgs("queues list", pos); err != nil {
		return err
	}
	if err := co.check("queues list"); err != nil {
		return err
	}
	s, err := c.session(ctx, &co)
	if err != nil {
		return err
	}
	var qs []client.QueueDefinition
	for q, err := range client.All[client.QueueDefinition](ctx, s.api, "odata/QueueDefinitions", &client.ListOptions{OrderBy: "Name"}, co.folderOpts()...) {
		if err != nil {
			return s.fail(err)
		}
		qs = append(qs, q)
	}
	if qs == nil {
		qs = []client.QueueDefinition{}
	}
	if co.output == "json" {
		return writeJSON(c.stdout, qs)
	}
	rows := make([][]string, 0, len(qs))
	for _, q := range qs {
		rows = append(rows, []string{strconv.FormatInt(q.ID, 10), q.Name, q.OrganizationUnitFullyQualifiedName,
			strconv.Itoa(q.MaxNumberOfRetries), strconv.FormatBool(q.EnforceUniqueReference), q.Description})
	}
	return writeTable(c.stdout, []string{"ID", "NAME", "FOLDER", "RETRIES", "UNIQUE REFERENCE", "DESCRIPTION"}, rows)
}

var itemStatuses = []string{"New", "InProgress", "Failed", "Successful", "Abandoned", "Retried", "Deleted"}

func (c *cli) queuesItems(ctx context.Context, args []string) error {
	fs := newFlags("queues items")
	var co common
	co.register(fs, true)
	var status string
	var top int
	fs.StringVar(&status, "status", "", "")
	fs.IntVar(&top, "top", 20, "")
	pos, helped, err := c.parseFlags(fs, args, queuesItemsHelp)
	if err != nil || helped {
		return err
	}
	queue, err := oneArg("queues items", "QUEUE (the queue's name)", pos)
	if err != nil {
		return err
	}
	if err := co.check("queues items"); err != nil {
		return err
	}
	if top < 1 || top > 100 {
		return usageError{fmt.Sprintf("queues items: --top %d: give 1 to 100", top)}
	}
	statusFilter := ""
	if status != "" {
		for _, st := range itemStatuses {
			if strings.EqualFold(st, status) {
				statusFilter = " and Status eq '" + st + "'"
			}
		}
		if statusFilter == "" {
			return usageError{fmt.Sprintf("queues items: --status %q is not one of %s", status, strings.Join(itemStatuses, ", "))}
		}
	}
	s, err := c.session(ctx, &co)
	if err != nil {
		return err
	}
	q, _, err := s.api.Queues.GetDefinitionByName(ctx, queue, co.folderOpts()...)
	if err != nil {
		return s.fail(err)
	}
	opts := &client.ListOptions{Filter: fmt.Sprintf("QueueDefinitionId eq %d", q.ID) + statusFilter, OrderBy: "Id desc", Top: top}
	items, _, err := s.api.Queues.ListItems(ctx, opts, co.folderOpts()...)
	if err != nil {
		return s.fail(err)
	}
	return c.printItems(co.output, items)
}

func (c *cli) printItems(output string, items []client.QueueItem) error {
	if items == nil {
		items = []client.QueueItem{}
	}
	if output == "json" {
		return writeJSON(c.stdout, items)
	}
	rows := make([][]string, 0, len(items))
	for _, it := range items {
		rows = append(rows, []string{strconv.FormatInt(it.ID, 10), it.Status, it.Priority, it.Reference,
			it.CreationTime.Local().Format(time.DateTime), string(it.SpecificContent)})
	}
	return writeTable(c.stdout, []string{"ID", "STATUS", "PRIORITY", "REFERENCE", "CREATED", "CONTENT"}, rows)
}
