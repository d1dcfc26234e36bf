package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/openorch/openorch/client"
)

const jobsHelp = `Usage: orch jobs start|list|logs|stop … (each takes --help)

  orch jobs start PROCESS [--input JSON] [--folder F] [--wait]   start a job of a process
  orch jobs list [--folder F] [--state S] [--top N]              list jobs, newest first
  orch jobs logs JOB [--follow]                                  what a job's process wrote
  orch jobs stop JOB [--kill]                                    stop a job (Id or Key)

Examples:
  orch jobs start Hello --folder Shared --input '{"who":"world"}' --wait
  orch jobs list --state Pending --output json
`

const jobsStartHelp = `Usage: orch jobs start PROCESS [--input JSON] [--folder F] [--wait] [--output table|json] [--profile P]

Starts a job of the process (release) named PROCESS in the folder, and prints it.

  --input JSON       the input arguments, a JSON object
  --folder PATH|ID   the folder of the process (inside a job: the job's folder)
  --wait             wait until the job ends, showing its states on stderr: exit 0 when it
                     is Successful, 1 when it is Faulted or Stopped
  --output FORMAT    table (default) or json
  --profile P        the profile (default: ORCH_CLI_PROFILE, else "default")

Examples:
  orch jobs start Hello --folder Shared
  orch jobs start Hello --folder Shared --input '{"who":"README"}' --wait
`

const jobsListHelp = `Usage: orch jobs list [--folder F] [--state S] [--top N] [--output table|json] [--profile P]

Lists jobs, newest first: of the folder, or of every folder you may view jobs in.

  --folder PATH|ID   only this folder's jobs
  --state S          only jobs in this state: Pending, Running, Successful, Faulted, Stopped, …
  --top N            at most N jobs (default 20, at most 100)
  --output FORMAT    table (default) or json

Examples:
  orch jobs list --folder Shared --state Pending
  orch jobs list --top 5 --output json | jq '.[].State'
`

const jobsStopHelp = `Usage: orch jobs stop JOB [--kill] [--folder F] [--profile P]

Stops a job named by its Id or its Key. A job that has not begun ends Stopped at once; a
running one ends when its robot ends the process (SoftStop), or at once with --kill.

Examples:
  orch jobs stop 42
  orch jobs stop 6f9619ff-8b86-d011-b42d-00cf4fc964ff --kill
`

func (c *cli) jobsStart(ctx context.Context, args []string) error {
	fs := newFlags("jobs start")
	var co common
	co.register(fs, true)
	var input string
	var wait bool
	fs.StringVar(&input, "input", "", "")
	fs.BoolVar(&wait, "wait", false, "")
	pos, helped, err := c.parseFlags(fs, args, jobsStartHelp)
	if err != nil || helped {
		return err
	}
	process, err := oneArg("jobs start", "PROCESS (the process's name)", pos)
	if err != nil {
		return err
	}
	if err := co.check("jobs start"); err != nil {
		return err
	}
	info := client.StartInfo{ReleaseName: process, JobsCount: 1}
	if input != "" {
		if _, err := jsonObject("jobs start", "--input", input); err != nil {
			return err
		}
		info.InputArguments = input
	}
	s, err := c.session(ctx, &co)
	if err != nil {
		return err
	}
	jobs, _, err := s.api.Jobs.Start(ctx, info, co.folderOpts()...)
	if err != nil {
		return s.fail(err)
	}
	if !wait || len(jobs) == 0 {
		return c.printJobs(co.output, jobs)
	}
	return c.waitJob(ctx, s, &co, jobs[0])
}

// Polling: Jobs(id) is not rate limited, yet a job that waits for a robot may wait long;
// the interval grows to waitMaxInterval.
const (
	waitFirstInterval = 200 * time.Millisecond
	waitMaxInterval   = 3 * time.Second
)

// waitJob polls a job until it ends, showing its state changes on stderr.
func (c *cli) waitJob(ctx context.Context, s *session, co *common, j client.Job) error {
	// While a job waits, its Info says for what (no robot connected, every slot busy): shown
	// with the state, so that a wait that will not end on its own says why.
	status := func(j client.Job) string {
		if i := str(j.Info); j.State == "Pending" && i != "" {
			return fmt.Sprintf("job %d: %s (%s)", j.ID, j.State, i)
		}
		return fmt.Sprintf("job %d: %s", j.ID, j.State)
	}
	last, interval := status(j), waitFirstInterval
	fmt.Fprintln(c.stderr, last)
	for !j.Ended() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped waiting for job %d (%s): %w", j.ID, j.State, ctx.Err())
		case <-time.After(interval):
		}
		interval = min(2*interval, waitMaxInterval)
		got, _, err := s.api.Jobs.Get(ctx, j.ID, co.folderOpts()...)
		if err != nil {
			return s.fail(err)
		}
		j = *got
		if now := status(j); now != last {
			fmt.Fprintln(c.stderr, now)
			last, interval = now, waitFirstInterval
		}
	}
	if co.output == "json" {
		if err := writeJSON(c.stdout, j); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.stdout, "State: %s\n", j.State)
		if i := str(j.Info); i != "" {
			fmt.Fprintf(c.stdout, "Info: %s\n", i)
		}
		if e := j.JobError; e != nil {
			fmt.Fprintf(c.stdout, "JobError: %s: %s %s\n", e.Code, e.Title, e.Detail)
		}
		if out := str(j.OutputArguments); out != "" && out != "{}" {
			fmt.Fprintf(c.stdout, "Output: %s\n", out)
		}
	}
	if j.State != "Successful" {
		return fmt.Errorf("job %d ended %s", j.ID, j.State)
	}
	return nil
}

func (c *cli) printJobs(output string, jobs []client.Job) error {
	if jobs == nil {
		jobs = []client.Job{}
	}
	if output == "json" {
		return writeJSON(c.stdout, jobs)
	}
	rows := make([][]string, 0, len(jobs))
	for _, j := range jobs {
		rows = append(rows, []string{strconv.FormatInt(j.ID, 10), j.Key, j.ReleaseName, j.State,
			j.OrganizationUnitFullyQualifiedName, j.CreationTime.Local().Format(time.DateTime), str(j.Info)})
	}
	return writeTable(c.stdout, []string{"ID", "KEY", "PROCESS", "STATE", "FOLDER", "CREATED", "INFO"}, rows)
}

// jobStates are the states --state takes, in UiPath's spelling.
var jobStates = []string{"Pending", "Running", "Stopping", "Terminating", "Faulted", "Successful", "Stopped", "Suspended", "Resumed"}

func (c *cli) jobsList(ctx context.Context, args []string) error {
	fs := newFlags("jobs list")
	var co common
	co.register(fs, true)
	var state string
	var top int
	fs.StringVar(&state, "state", "", "")
	fs.IntVar(&top, "top", 20, "")
	pos, helped, err := c.parseFlags(fs, args, jobsListHelp)
	if err != nil || helped {
		return err
	}
	if err := noArgs("jobs list", pos); err != nil {
		return err
	}
	if err := co.check("jobs list"); err != nil {
		return err
	}
	if top < 1 || top > 100 {
		return usageError{fmt.Sprintf("jobs list: --top %d: give 1 to 100", top)}
	}
	opts := &client.ListOptions{OrderBy: "Id desc", Top: top}
	if state != "" {
		found := ""
		for _, s := range jobStates {
			if strings.EqualFold(s, state) {
				found = s
			}
		}
		if found == "" {
			return usageError{fmt.Sprintf("jobs list: --state %q is not one of %s", state, strings.Join(jobStates, ", "))}
		}
		opts.Filter = "State eq '" + found + "'"
	}
	s, err := c.session(ctx, &co)
	if err != nil {
		return err
	}
	jobs, _, err := s.api.Jobs.List(ctx, opts, co.folderOpts()...)
	if err != nil {
		return s.fail(err)
	}
	return c.printJobs(co.output, jobs)
}

const jobsLogsHelp = `Usage: orch jobs logs JOB [--follow] [--folder F] [--output text|json] [--profile P]

Prints what the process of a job (named by its Id or Key) wrote: stdout lines at level Info,
stderr lines at Error, each with its time.

  --follow           keep printing new lines until the job ends; exit 0 when it ends
                     Successful, 1 otherwise
  --output FORMAT    text (default) or json (one JSON object per line)

Examples:
  orch jobs logs 42
  orch jobs logs 6f9619ff-8b86-d011-b42d-00cf4fc964ff --follow
`

// Following logs polls RobotLogs; the interval grows while nothing new comes.
const (
	followFirstInterval = 200 * time.Millisecond
	followMaxInterval   = 2 * time.Second
	logsPage            = 1000
)

func (c *cli) jobsLogs(ctx context.Context, args []string) error {
	fs := newFlags("jobs logs")
	var co common
	co.register(fs, true)
	var follow bool
	fs.BoolVar(&follow, "follow", false, "")
	pos, helped, err := c.parseFlags(fs, args, jobsLogsHelp)
	if err != nil || helped {
		return err
	}
	ref, err := oneArg("jobs logs", "JOB (its Id or Key)", pos)
	if err != nil {
		return err
	}
	if co.output == "table" {
		co.output = "text"
	}
	if co.output != "text" && co.output != "json" {
		return usageError{fmt.Sprintf("jobs logs: --output %q: give text or json", co.output)}
	}
	s, err := c.session(ctx, &co)
	if err != nil {
		return err
	}
	j, err := c.findJob(ctx, s, &co, ref)
	if err != nil {
		return err
	}
	var last int64
	interval := followFirstInterval
	for {
		// Read the job's state before its lines: lines written before it ended are then
		// all there when the state says it has.
		ended := j.Ended()
		lines, _, err := s.api.RobotLogs.ForJob(ctx, j.Key, last, logsPage, co.folderOpts()...)
		if err != nil {
			return s.fail(err)
		}
		for _, l := range lines {
			if err := c.printLog(co.output, l); err != nil {
				return err
			}
			last = l.ID
		}
		if len(lines) == logsPage {
			continue // more are waiting
		}
		if !follow {
			return nil
		}
		if ended {
			if j.State != "Successful" {
				return fmt.Errorf("job %d ended %s", j.ID, j.State)
			}
			return nil
		}
		if len(lines) > 0 {
			interval = followFirstInterval
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped following job %d: %w", j.ID, ctx.Err())
		case <-time.After(interval):
		}
		interval = min(2*interval, followMaxInterval)
		got, _, err := s.api.Jobs.Get(ctx, j.ID, co.folderOpts()...)
		if err != nil {
			return s.fail(err)
		}
		j = got
	}
}

func (c *cli) printLog(output string, l client.RobotLog) error {
	if output == "json" {
		b, err := json.Marshal(l)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(c.stdout, "%s %-5s %s\n", l.TimeStamp.Local().Format("15:04:05.000"), l.Level, l.Message)
	return err
}

// findJob finds a job by its Id or its Key.
func (c *cli) findJob(ctx context.Context, s *session, co *common, ref string) (*client.Job, error) {
	var (
		j   *client.Job
		err error
	)
	if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
		j, _, err = s.api.Jobs.Get(ctx, id, co.folderOpts()...)
	} else {
		j, _, err = s.api.Jobs.GetByKey(ctx, ref, co.folderOpts()...)
	}
	if err != nil {
		return nil, s.fail(err)
	}
	return j, nil
}

func (c *cli) jobsStop(ctx context.Context, args []string) error {
	fs := newFlags("jobs stop")
	var co common
	co.register(fs, false)
	var kill bool
	fs.BoolVar(&kill, "kill", false, "")
	pos, helped, err := c.parseFlags(fs, args, jobsStopHelp)
	if err != nil || helped {
		return err
	}
	ref, err := oneArg("jobs stop", "JOB (its Id or Key)", pos)
	if err != nil {
		return err
	}
	s, err := c.session(ctx, &co)
	if err != nil {
		return err
	}
	id, perr := strconv.ParseInt(ref, 10, 64)
	if perr != nil {
		j, _, err := s.api.Jobs.GetByKey(ctx, ref, co.folderOpts()...)
		if err != nil {
			return s.fail(err)
		}
		id = j.ID
	}
	strategy := client.SoftStop
	if kill {
		strategy = client.Kill
	}
	if _, err := s.api.Jobs.Stop(ctx, id, strategy, co.folderOpts()...); err != nil {
		var ae *client.Error
		if errors.As(err, &ae) && ae.StatusCode == 409 {
			// The job has ended: the details carry its state.
			var d struct{ State string }
			if json.Unmarshal(ae.Details, &d) == nil && d.State != "" {
				return fmt.Errorf("job %d has ended already (%s): nothing to stop", id, d.State)
			}
		}
		return s.fail(err)
	}
	fmt.Fprintf(c.stdout, "asked job %d to stop (%s)\n", id, strategy)
	return nil
}
