//go:build !unix

package robot

import (
	"os"
	"os/exec"
)

// ownGroup does nothing where there are no process groups.
func ownGroup(cmd *exec.Cmd) {}

// terminateGroup ends the process: without signals, a soft stop is a kill.
func terminateGroup(p *os.Process) error { return p.Kill() }

// killGroup ends the process.
func killGroup(p *os.Process) error { return p.Kill() }
