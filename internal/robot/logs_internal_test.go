package robot

import (
	"strings"
	"testing"
)

// TestBatchLen shows a robot/logs call stays within both bounds: MaxLogEntries entries and
// maxLogBatchBytes of messages, and always carries at least one entry.
func TestBatchLen(t *testing.T) {
	entries := func(n, size int) []LogEntry {
		out := make([]LogEntry, n)
		for i := range out {
			out[i].Message = strings.Repeat("x", size)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		buf  []LogEntry
		want int
	}{
		{"empty", nil, 0},
		{"a few short lines", entries(10, 80), 10},
		{"many short lines", entries(2500, 80), MaxLogEntries},
		{"long lines", entries(100, MaxLogMessage), maxLogBatchBytes / MaxLogMessage},
		{"one line over the byte bound", entries(3, maxLogBatchBytes+1), 1},
	} {
		if got := batchLen(tc.buf); got != tc.want {
			t.Errorf("%s: batchLen = %d, want %d", tc.name, got, tc.want)
		}
	}
}
