package robot

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// maxBufferedLogs bounds the entries kept while the server is out of reach; beyond it the
// oldest are dropped (and the drop is logged).
const maxBufferedLogs = 200_000

// shipper sends the jobs' log lines to robot/logs in order, in batches of at most
// MaxLogEntries, at least every LogFlushInterval.
type shipper struct {
	r      *Robot
	mu     sync.Mutex
	buf    []LogEntry
	kick   chan struct{}
	sendMu sync.Mutex // one sender at a time keeps the order
}

func newShipper(r *Robot) *shipper {
	return &shipper{r: r, kick: make(chan struct{}, 1)}
}

func (s *shipper) add(e LogEntry) {
	s.mu.Lock()
	s.buf = append(s.buf, e)
	full := len(s.buf) >= MaxLogEntries
	var dropped int
	if len(s.buf) > maxBufferedLogs {
		dropped = len(s.buf) - maxBufferedLogs
		s.buf = append(s.buf[:0:0], s.buf[dropped:]...)
	}
	s.mu.Unlock()
	if dropped > 0 {
		s.r.log.Warn("too many job log lines waiting for the server: dropped the oldest", "dropped", dropped)
	}
	if full {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

func (s *shipper) run(ctx context.Context) {
	t := time.NewTicker(s.r.cfg.LogFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
		s.flush(ctx)
	}
}

// maxLogBatchBytes bounds the messages of one robot/logs call, so that its body stays under
// the server's request cap (10 MiB by default) even when every character of a message
// needs escaping in JSON (at most six bytes each).
const maxLogBatchBytes = 1 << 20

// batchLen is how many of the entries, from the first, go in the next call: at most
// MaxLogEntries, with messages of at most maxLogBatchBytes together, and at least one.
func batchLen(buf []LogEntry) int {
	n, size := 0, 0
	for n < len(buf) && n < MaxLogEntries {
		size += len(buf[n].Message)
		if n > 0 && size > maxLogBatchBytes {
			break
		}
		n++
	}
	return n
}

// flush sends what is buffered; it returns whether everything went.
func (s *shipper) flush(ctx context.Context) bool {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	for {
		s.mu.Lock()
		n := batchLen(s.buf)
		batch := append([]LogEntry(nil), s.buf[:n]...)
		s.mu.Unlock()
		if n == 0 {
			return true
		}
		key, gen := s.r.session()
		_, err := s.r.call(ctx, http.MethodPost, "api/robot/logs", LogsRequest{RobotKey: key, Entries: batch}, nil, 30*time.Second)
		if ctx.Err() != nil {
			return false
		}
		if isUnavailable(err) {
			s.r.reconnect(ctx, gen)
			return false // the next tick tries again
		}
		if err != nil {
			s.r.log.Error("the server refused job log lines: dropped them", "entries", n, "error", errText(err))
		}
		s.mu.Lock()
		s.buf = s.buf[n:]
		s.mu.Unlock()
	}
}

// pump reads a job's output line by line into log entries of level; tail, when not nil,
// keeps the last bytes read.
func (s *shipper) pump(jobKey, level string, rd io.Reader, tail *tailBuffer) {
	br := bufio.NewReaderSize(rd, 32<<10)
	var line []byte
	total := 0
	for {
		chunk, err := br.ReadSlice('\n')
		if tail != nil {
			tail.Write(chunk)
		}
		total += len(chunk)
		if room := MaxLogMessage + 4 - len(line); room > 0 {
			line = append(line, chunk[:min(room, len(chunk))]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == nil { // the line ended with \n: not part of the message
			total--
			if len(line) > total {
				line = line[:total]
			}
		}
		if total > 0 || err == nil {
			s.add(LogEntry{JobKey: jobKey, Level: level, TimeStamp: time.Now().UTC(), Message: logMessage(line, total)})
		}
		line, total = line[:0], 0
		if err != nil {
			return
		}
	}
}

// logMessage is a line as a log message: without its line ending, valid UTF-8, at most
// MaxLogMessage bytes; a longer line is cut and marked with its length.
func logMessage(b []byte, total int) string {
	if n := len(b); n == total && n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if len(s) <= MaxLogMessage && total <= MaxLogMessage {
		return s
	}
	// The mark's length with the widest number it may hold.
	const markFormat = " … [cut: the line was %d bytes; the first %d are shown]"
	keep := MaxLogMessage - len(fmt.Sprintf(markFormat, total, MaxLogMessage))
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + fmt.Sprintf(markFormat, total, keep)
}

// tailBuffer keeps the last bytes written to it.
type tailBuffer struct {
	mu   sync.Mutex
	max  int
	data []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.data = append(t.data, p...)
	if over := len(t.data) - t.max; over > 0 {
		t.data = append(t.data[:0], t.data[over:]...)
	}
	return len(p), nil
}

// String is the tail as text, starting at a whole character.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.data
	for i := 0; i < 4 && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
		b = b[1:]
	}
	return strings.TrimRight(strings.ToValidUTF8(string(b), "\uFFFD"), "\r\n")
}
