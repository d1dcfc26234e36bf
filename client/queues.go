package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// QueueDefinition is a queue, as the API shows it (QueueDefinitionDto).
type QueueDefinition struct {
	ID                                 int64     `json:"Id"`
	Key                                string    `json:"Key"`
	Name                               string    `json:"Name"`
	Description                        string    `json:"Description"`
	MaxNumberOfRetries                 int       `json:"MaxNumberOfRetries"`
	AcceptAutomaticallyRetry           bool      `json:"AcceptAutomaticallyRetry"`
	EnforceUniqueReference             bool      `json:"EnforceUniqueReference"`
	CreationTime                       time.Time `json:"CreationTime"`
	OrganizationUnitID                 int64     `json:"OrganizationUnitId"`
	OrganizationUnitFullyQualifiedName string    `json:"OrganizationUnitFullyQualifiedName"`
}

// QueueItem is an item of a queue (QueueItemDto).
type QueueItem struct {
	ID                int64           `json:"Id"`
	Key               string          `json:"Key"`
	QueueDefinitionID int64           `json:"QueueDefinitionId"`
	Status            string          `json:"Status"`
	ReviewStatus      string          `json:"ReviewStatus"`
	Reference         string          `json:"Reference"`
	Priority          string          `json:"Priority"`
	SpecificContent   json.RawMessage `json:"SpecificContent"`
	Output            json.RawMessage `json:"Output"`
	Progress          *string         `json:"Progress"`
	DeferDate         *time.Time      `json:"DeferDate"`
	DueDate           *time.Time      `json:"DueDate"`
	StartProcessing   *time.Time      `json:"StartProcessing"`
	EndProcessing     *time.Time      `json:"EndProcessing"`
	RetryNumber       int             `json:"RetryNumber"`
	CreationTime      time.Time       `json:"CreationTime"`
}

// ItemData is a new queue item (QueueItemDataDto). Name is the queue's name.
type ItemData struct {
	Name            string         `json:"Name"`
	Priority        string         `json:"Priority,omitempty"` // High, Normal (default) or Low
	Reference       string         `json:"Reference,omitempty"`
	SpecificContent map[string]any `json:"SpecificContent,omitempty"`
	DeferDate       *time.Time     `json:"DeferDate,omitempty"`
	DueDate         *time.Time     `json:"DueDate,omitempty"`
}

// QueuesService is the calls of queues and their items (scope OR.Queues). Queues live in
// folders: name one with a RequestOption unless the client has a default folder.
type QueuesService struct {
	client *Client
}

// AddItem adds an item to the queue item.Name names. A reference that a queue with
// unique references already took is an *Error with errorCode 1016.
func (s *QueuesService) AddItem(ctx context.Context, item ItemData, opts ...RequestOption) (*QueueItem, *Response, error) {
	req, err := s.client.NewRequest(http.MethodPost, "odata/Queues/UiPathODataSvc.AddQueueItem", map[string]any{"itemData": item}, opts...)
	if err != nil {
		return nil, nil, err
	}
	var qi QueueItem
	resp, err := s.client.Do(ctx, req, &qi)
	if err != nil {
		return nil, resp, err
	}
	return &qi, resp, nil
}

// ListDefinitions returns the queues of the request's folder.
func (s *QueuesService) ListDefinitions(ctx context.Context, opts *ListOptions, ropts ...RequestOption) ([]QueueDefinition, *Response, error) {
	page, resp, err := List[QueueDefinition](ctx, s.client, "odata/QueueDefinitions", opts, ropts...)
	if err != nil {
		return nil, resp, err
	}
	return page.Value, resp, nil
}

// GetDefinitionByName returns the queue of the request's folder with this name. A name
// no queue has is an *Error with status 404.
func (s *QueuesService) GetDefinitionByName(ctx context.Context, name string, opts ...RequestOption) (*QueueDefinition, *Response, error) {
	filter := "Name eq '" + strings.ReplaceAll(name, "'", "''") + "'"
	qs, resp, err := s.ListDefinitions(ctx, &ListOptions{Filter: filter, Top: 1}, opts...)
	if err != nil {
		return nil, resp, err
	}
	if len(qs) == 0 {
		return nil, resp, &Error{StatusCode: http.StatusNotFound, Method: http.MethodGet, Path: s.client.base.Path + "odata/QueueDefinitions",
			Message: fmt.Sprintf("the folder has no queue named %q", name), ErrorCode: 1002}
	}
	return &qs[0], resp, nil
}

// ListItems returns queue items: of the request's folder, or of every folder the caller
// may view them in. Filter on QueueDefinitionId for one queue's.
func (s *QueuesService) ListItems(ctx context.Context, opts *ListOptions, ropts ...RequestOption) ([]QueueItem, *Response, error) {
	page, resp, err := List[QueueItem](ctx, s.client, "odata/QueueItems", opts, ropts...)
	if err != nil {
		return nil, resp, err
	}
	return page.Value, resp, nil
}
