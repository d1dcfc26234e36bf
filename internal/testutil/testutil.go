// Package testutil holds what the tests of several packages share: a buffer that many
// goroutines write while a test reads it, and the orch binary built once for tests that run
// it as a process.
package testutil

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// Buffer is an io.Writer that many goroutines may write while a test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// BuildOrch builds the orch command (its package directory, relative to the calling test's
// package) into a temporary directory, and returns the binary's path and a function that
// removes it. A TestMain calls it before m.Run.
func BuildOrch(pkgDir string) (bin string, remove func(), err error) {
	dir, err := os.MkdirTemp("", "orch-bin-")
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, "orch")
	if out, err := exec.Command("go", "build", "-o", bin, pkgDir).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("build orch: %v\n%s", err, out)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}
