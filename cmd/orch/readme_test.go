package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeBlocks returns the README's code blocks fenced as "```sh test": the examples a
// reader copies, which this test runs so they never rot.
func readmeBlocks(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	var cur *strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```sh test":
			cur = &strings.Builder{}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	if cur != nil {
		t.Fatal("README.md has an unclosed ```sh test block")
	}
	return blocks
}

func TestReadmeExamples(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("the README examples need curl (.ci/run installs it)")
	}
	blocks := readmeBlocks(t)
	if len(blocks) < 3 {
		t.Fatalf("found %d runnable README blocks; the README should have its examples fenced as ```sh test", len(blocks))
	}
	s := startServe(t, env(nil), "--demo", "--data-dir", t.TempDir())
	exports := demoExports(s.Stdout.String())
	environ := append(os.Environ(), "PATH="+filepath.Dir(orchBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	for k, v := range exports {
		environ = append(environ, k+"="+v)
	}
	// The blocks write files (tokens.json, …) where they run: a directory of their own.
	// orch login keeps its profiles there too, not in the user's config directory.
	dir := t.TempDir()
	environ = append(environ, "ORCH_CLI_CONFIG_DIR="+filepath.Join(dir, ".orch"))
	for i, block := range blocks {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", block)
		cmd.Env = environ
		cmd.Dir = dir
		// A block may leave a process running for the next ones, as a reader leaves a
		// robot running in a second terminal: each block leads a process group of its
		// own, and the groups are killed when the test ends.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.CombinedOutput()
		if cmd.Process != nil {
			pgid := cmd.Process.Pid
			t.Cleanup(func() { syscall.Kill(-pgid, syscall.SIGKILL) })
		}
		cancel()
		if err != nil {
			t.Errorf("README block %d failed: %v\n--- block\n%s--- output\n%s", i+1, err, block, out)
		}
	}
}
