package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	dir := t.TempDir()
	for i, block := range blocks {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", block)
		cmd.Env = environ
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("README block %d failed: %v\n--- block\n%s--- output\n%s", i+1, err, block, out)
		}
	}
}
