package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// ListOptions are the OData query options of a list. Zero values are left out, so the
// server's defaults apply (at most 1,000 rows; 100 for Jobs and QueueItems).
type ListOptions struct {
	Filter  string // $filter, e.g. "FullyQualifiedName eq 'Shared'"
	OrderBy string // $orderby, e.g. "Id desc"
	Select  string // $select, e.g. "Id,DisplayName"
	Expand  string // $expand, e.g. "Robot"
	Top     int    // $top: at most this many rows
	Skip    int    // $skip: leave out this many rows first
	Count   bool   // $count=true: the answer carries the total in Page.Count
}

// Values returns the options as query parameters.
func (o *ListOptions) Values() url.Values {
	v := url.Values{}
	if o == nil {
		return v
	}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("$filter", o.Filter)
	set("$orderby", o.OrderBy)
	set("$select", o.Select)
	set("$expand", o.Expand)
	if o.Top > 0 {
		v.Set("$top", strconv.Itoa(o.Top))
	}
	if o.Skip > 0 {
		v.Set("$skip", strconv.Itoa(o.Skip))
	}
	if o.Count {
		v.Set("$count", "true")
	}
	return v
}

// Page is one answer of an OData list.
type Page[T any] struct {
	Context string `json:"@odata.context"`
	Count   *int64 `json:"@odata.count"` // the total, when ListOptions.Count asked for it
	Value   []T    `json:"value"`
}

// List gets one page of the entity set or function at path ("odata/QueueDefinitions").
func List[T any](ctx context.Context, c *Client, path string, opts *ListOptions, ropts ...RequestOption) (*Page[T], *Response, error) {
	req, err := c.NewRequest(http.MethodGet, path, nil, append([]RequestOption{WithQuery(opts.Values())}, ropts...)...)
	if err != nil {
		return nil, nil, err
	}
	var page Page[T]
	resp, err := c.Do(ctx, req, &page)
	if err != nil {
		return nil, resp, err
	}
	return &page, resp, nil
}

// defaultPageSize is the page size of All when ListOptions.Top is not set: the cap of the
// busiest lists (Jobs, QueueItems), so that no page is cut short by the server.
const defaultPageSize = 100

// All iterates over every row of a list, fetching pages of opts.Top rows (100 when unset)
// from opts.Skip on, until a page comes back short. It stops at the first error, which it
// yields.
func All[T any](ctx context.Context, c *Client, path string, opts *ListOptions, ropts ...RequestOption) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		o := ListOptions{}
		if opts != nil {
			o = *opts
		}
		if o.Top <= 0 {
			o.Top = defaultPageSize
		}
		o.Count = false
		for {
			page, _, err := List[T](ctx, c, path, &o, ropts...)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, v := range page.Value {
				if !yield(v, nil) {
					return
				}
			}
			if len(page.Value) < o.Top {
				return
			}
			o.Skip += len(page.Value)
		}
	}
}
