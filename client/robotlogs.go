package client

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// RobotLog is one line a job's process wrote, as the RobotLogs entity set shows it:
// stdout lines at level Info, stderr lines at Error.
type RobotLog struct {
	ID              int64     `json:"Id"`
	JobKey          string    `json:"JobKey"`
	Level           string    `json:"Level"`
	TimeStamp       time.Time `json:"TimeStamp"`
	Message         string    `json:"Message"`
	RobotName       string    `json:"RobotName"`
	ProcessName     string    `json:"ProcessName"`
	HostMachineName string    `json:"HostMachineName"`
}

// RobotLogsService is the calls of the RobotLogs entity set (scope OR.Monitoring).
type RobotLogsService struct {
	client *Client
}

// List returns log lines: of the request's folder, or of every folder the caller may
// view logs in when it names none.
func (s *RobotLogsService) List(ctx context.Context, opts *ListOptions, ropts ...RequestOption) ([]RobotLog, *Response, error) {
	page, resp, err := List[RobotLog](ctx, s.client, "odata/RobotLogs", opts, ropts...)
	if err != nil {
		return nil, resp, err
	}
	return page.Value, resp, nil
}

// ForJob returns up to top lines of the job with this Key whose Id is above afterID, in
// the order they were written. Call it again with the last Id to follow a running job.
func (s *RobotLogsService) ForJob(ctx context.Context, jobKey string, afterID int64, top int, ropts ...RequestOption) ([]RobotLog, *Response, error) {
	key := strings.Trim(strings.TrimSpace(jobKey), "'")
	if strings.ContainsAny(key, "' ") || key == "" {
		return nil, nil, fmt.Errorf("client: %q is not a job Key", jobKey)
	}
	return s.List(ctx, &ListOptions{Filter: fmt.Sprintf("JobKey eq %s and Id gt %d", key, afterID), OrderBy: "Id asc", Top: top},
		ropts...)
}
