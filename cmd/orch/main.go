// Command orch is OpenOrch in one binary: the server (identity service, Orchestrator API,
// robot endpoints, web pages), the robot agent and the client.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintln(os.Stderr, "orch:", err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "orch:", err)
		os.Exit(1)
	}
}

// usageError marks a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `orch — OpenOrch, a self-hostable automation orchestrator.

Usage:
  orch serve [flags]     run the server (orch serve --help lists the flags)
  orch serve --demo      run the server; on an empty database create the demo set first
  orch migrate [flags]   apply database migrations and exit
  orch robot [flags]     run a robot: take jobs of a machine's folders and run them
  orch keys rotate       make a new token signing key sign from now on
  orch version           print version, commit and Go version

Client (each takes --help):
  orch login             sign in to a tenant and save the credentials as a profile
  orch token             print a valid access token: curl -H "Authorization: Bearer $(orch token)" …
  orch api [METHOD] PATH call the Orchestrator API: orch api /odata/Folders
  orch logout            revoke the saved sign-in and forget it
  orch jobs start|list|logs|stop     start, list, follow and stop jobs
  orch queues add|list|items         add queue items, list queues and their items
  orch packages publish DIR|FILE     upload a package and run it as the folder's process
  orch completion bash|zsh           print a shell completion script
`

// run is the whole program, testable: it returns instead of exiting.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout, stderr)
	case "robot":
		return runRobot(ctx, rest, getenv, stdout, stderr)
	case "keys":
		return keys(ctx, rest, getenv, stdout, stderr)
	case "login", "logout", "token", "api", "jobs", "queues", "packages":
		return newCLI(getenv, stdout, stderr).runCommand(ctx, cmd, rest)
	case "completion":
		return completion(rest, stdout)
	case "version", "--version":
		return version(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}
