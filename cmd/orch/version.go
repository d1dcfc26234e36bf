package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X main.Version=v1.2.3".
var Version = "dev"

func buildInfo() (commit string) {
	commit = "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	return commit
}

func version(w io.Writer) error {
	_, err := fmt.Fprintf(w, "orch %s (commit %s, %s)\n", Version, buildInfo(), runtime.Version())
	return err
}
