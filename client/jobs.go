package client

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// actionNS is the namespace of the API's actions, as UiPath's own clients send it.
const actionNS = "UiPath.Server.Configuration.OData."

// Job is a run of a process, as the API shows it (JobDto). InputArguments and
// OutputArguments are JSON strings, and are only filled by Get and GetByKey.
type Job struct {
	ID                                 int64      `json:"Id"`
	Key                                string     `json:"Key"`
	State                              string     `json:"State"`
	JobPriority                        string     `json:"JobPriority"`
	CreationTime                       time.Time  `json:"CreationTime"`
	StartTime                          *time.Time `json:"StartTime"`
	EndTime                            *time.Time `json:"EndTime"`
	ReleaseName                        string     `json:"ReleaseName"`
	ProcessKey                         string     `json:"ProcessKey"`
	ProcessVersion                     string     `json:"ProcessVersion"`
	Source                             string     `json:"Source"`
	Reference                          string     `json:"Reference"`
	InputArguments                     *string    `json:"InputArguments"`
	OutputArguments                    *string    `json:"OutputArguments"`
	Info                               *string    `json:"Info"`
	HostMachineName                    *string    `json:"HostMachineName"`
	StopStrategy                       *string    `json:"StopStrategy"`
	JobError                           *JobError  `json:"JobError"`
	OrganizationUnitID                 int64      `json:"OrganizationUnitId"`
	OrganizationUnitFullyQualifiedName string     `json:"OrganizationUnitFullyQualifiedName"`
}

// JobError says why a job faulted.
type JobError struct {
	Code     string `json:"Code"`
	Title    string `json:"Title"`
	Detail   string `json:"Detail"`
	Category string `json:"Category"`
}

// Ended reports whether the job is in a final state: it will not change any more.
func (j *Job) Ended() bool {
	switch j.State {
	case "Successful", "Faulted", "Stopped":
		return true
	}
	return false
}

// StartInfo says which process to start and how (StartProcessDto). Name the process by
// ReleaseKey or ReleaseName; zero fields are left out so the server's defaults apply.
type StartInfo struct {
	ReleaseKey  string `json:"ReleaseKey,omitempty"`
	ReleaseName string `json:"ReleaseName,omitempty"`
	// Strategy is "ModernJobsCount" when empty.
	Strategy    string `json:"Strategy,omitempty"`
	JobsCount   int    `json:"JobsCount,omitempty"`
	JobPriority string `json:"JobPriority,omitempty"`
	Source      string `json:"Source,omitempty"`
	Reference   string `json:"Reference,omitempty"`
	// InputArguments is a JSON object in a string, as UiPath's clients send it.
	InputArguments string `json:"InputArguments,omitempty"`
}

// Stop strategies of JobsService.Stop.
const (
	SoftStop = "SoftStop" // ask the process to end itself
	Kill     = "Kill"     // end it at once
)

// JobsService is the calls of the Jobs entity set (scope OR.Jobs).
type JobsService struct {
	client *Client
}

// Start starts jobs of a process in the request's folder; they come back Pending.
func (s *JobsService) Start(ctx context.Context, info StartInfo, opts ...RequestOption) ([]Job, *Response, error) {
	if info.Strategy == "" {
		info.Strategy = "ModernJobsCount"
	}
	req, err := s.client.NewRequest(http.MethodPost, "odata/Jobs/"+actionNS+"StartJobs", map[string]any{"startInfo": info}, opts...)
	if err != nil {
		return nil, nil, err
	}
	var page Page[Job]
	resp, err := s.client.Do(ctx, req, &page)
	if err != nil {
		return nil, resp, err
	}
	return page.Value, resp, nil
}

// List returns jobs: of the request's folder, or of every folder the caller may view
// jobs in when it names none. The server returns at most 100 without opts.Top.
func (s *JobsService) List(ctx context.Context, opts *ListOptions, ropts ...RequestOption) ([]Job, *Response, error) {
	page, resp, err := List[Job](ctx, s.client, "odata/Jobs", opts, ropts...)
	if err != nil {
		return nil, resp, err
	}
	return page.Value, resp, nil
}

// Get returns the job with this Id, with its arguments. It is not rate limited, which
// makes it the call to poll.
func (s *JobsService) Get(ctx context.Context, id int64, opts ...RequestOption) (*Job, *Response, error) {
	return s.one(ctx, fmt.Sprintf("odata/Jobs(%d)", id), opts)
}

// GetByKey returns the job with this Key (a GUID).
func (s *JobsService) GetByKey(ctx context.Context, key string, opts ...RequestOption) (*Job, *Response, error) {
	return s.one(ctx, "odata/Jobs/"+actionNS+"GetByKey(identifier="+strings.TrimSpace(key)+")", opts)
}

func (s *JobsService) one(ctx context.Context, path string, opts []RequestOption) (*Job, *Response, error) {
	req, err := s.client.NewRequest(http.MethodGet, path, nil, opts...)
	if err != nil {
		return nil, nil, err
	}
	var j Job
	resp, err := s.client.Do(ctx, req, &j)
	if err != nil {
		return nil, resp, err
	}
	return &j, resp, nil
}

// Stop stops the job with this Id with a strategy, SoftStop or Kill. A job that has not
// begun ends Stopped at once; a running one ends when its robot ends the process.
func (s *JobsService) Stop(ctx context.Context, id int64, strategy string, opts ...RequestOption) (*Response, error) {
	req, err := s.client.NewRequest(http.MethodPost, fmt.Sprintf("odata/Jobs(%d)/%sStopJob", id, actionNS),
		map[string]string{"strategy": strategy}, opts...)
	if err != nil {
		return nil, err
	}
	return s.client.Do(ctx, req, nil)
}
