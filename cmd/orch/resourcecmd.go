package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"golang.org/x/oauth2"

	"github.com/openorch/openorch/client"
)

// The resource commands (jobs, queues, packages) are typed calls of the client package,
// with tables for people and --output json for scripts.

// isResourceCommand says whether cmd is one of them.
func isResourceCommand(cmd string) bool {
	switch cmd {
	case "jobs", "queues", "packages":
		return true
	}
	return false
}

// runCommand runs any client command: the resource commands here, the others in run.
func (c *cli) runCommand(ctx context.Context, cmd string, args []string) error {
	if !isResourceCommand(cmd) {
		return c.run(ctx, cmd, args)
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.httpClient)
	type sub = func(context.Context, []string) error
	var subs map[string]sub
	var help string
	switch cmd {
	case "jobs":
		subs, help = map[string]sub{"start": c.jobsStart, "list": c.jobsList, "logs": c.jobsLogs, "stop": c.jobsStop}, jobsHelp
	case "queues":
		subs, help = map[string]sub{"add": c.queuesAdd, "list": c.queuesList, "items": c.queuesItems}, queuesHelp
	case "packages":
		subs, help = map[string]sub{"publish": c.packagesPublish}, packagesHelp
	}
	if len(args) == 0 {
		fmt.Fprint(c.stderr, help)
		return usageError{fmt.Sprintf("%s: no subcommand given", cmd)}
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(c.stdout, help)
		return nil
	}
	f := subs[args[0]]
	if f == nil {
		fmt.Fprint(c.stderr, help)
		return usageError{fmt.Sprintf("%s: unknown subcommand %q", cmd, args[0])}
	}
	return f(ctx, args[1:])
}

// common are the flags every resource command takes.
type common struct {
	profile, folder, output string
}

func (co *common) register(fs *flag.FlagSet, output bool) {
	fs.StringVar(&co.profile, "profile", "", "")
	fs.StringVar(&co.folder, "folder", "", "")
	if output {
		fs.StringVar(&co.output, "output", "table", "")
		fs.StringVar(&co.output, "o", "table", "")
	}
}

// check refuses an --output that is neither table nor json.
func (co *common) check(cmd string) error {
	if co.output != "" && co.output != "table" && co.output != "json" {
		return usageError{fmt.Sprintf("%s: --output %q: use table or json", cmd, co.output)}
	}
	return nil
}

// folderOpts names the --folder of the call, if any; otherwise the client's default
// folder (the job's, inside a job) applies.
func (co *common) folderOpts() []client.RequestOption {
	if co.folder == "" {
		return nil
	}
	return []client.RequestOption{client.InFolder(co.folder)}
}

// session is an API client and who it calls as, for the messages of failures.
type session struct {
	c   *cli
	api *client.Client
	who apiCaller
}

func (c *cli) session(ctx context.Context, co *common) (*session, error) {
	api, who, err := c.apiClient(ctx, co.profile)
	if err != nil {
		return nil, err
	}
	return &session{c: c, api: api, who: who}, nil
}

// fail turns an error of a call into the message people get: the server's message and
// what to do (as orch api says it), or why there was no answer.
func (s *session) fail(err error) error {
	var ae *client.Error
	if errors.As(err, &ae) {
		return apiFailure(ae, s.who)
	}
	return s.c.callError(err, s.api)
}

// writeJSON prints v as indented JSON, for scripts (jq reads it either way).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeTable prints rows under a header, in aligned columns.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		for i := range r {
			// A tab or newline in a value would break the columns.
			r[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(r[i])
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// str is a nullable string for a table: "" for null.
func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// oneArg checks that a command got exactly one positional argument.
func oneArg(cmd, what string, pos []string) (string, error) {
	switch len(pos) {
	case 1:
		return pos[0], nil
	case 0:
		return "", usageError{fmt.Sprintf("%s: %s is missing (run `orch %s --help`)", cmd, what, cmd)}
	}
	return "", usageError{fmt.Sprintf("%s: too many arguments %q (run `orch %s --help`)", cmd, pos, cmd)}
}

// noArgs checks that a command got no positional argument.
func noArgs(cmd string, pos []string) error {
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("%s: unexpected arguments %q (run `orch %s --help`)", cmd, pos, cmd)}
	}
	return nil
}

// jsonObject reads a flag's value that must be a JSON object.
func jsonObject(cmd, flagName, s string) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, usageError{fmt.Sprintf(`%s: %s must be a JSON object such as '{"a":1}' (wrap it in single quotes in the shell)`, cmd, flagName)}
	}
	return m, nil
}
