package main

import (
	"encoding/base64"
	"io"
	"strconv"
	"sync"
	"time"
)

// Log protocol limits. The kubelet splits log lines longer than 16 KiB; a full chunk makes a
// line of about 10.9 KiB. A stream's output waits at most coalesceWindow to be framed.
const (
	maxChunkBytes  = 8192
	maxLineBytes   = 16 * 1024
	coalesceWindow = 20 * time.Millisecond
)

type stream int

const (
	streamStdout stream = iota
	streamStderr
)

// appendFrame appends one `O <seq> <base64>\n` or `E <seq> <base64>\n` line to dst.
func appendFrame(dst []byte, s stream, seq uint64, data []byte) []byte {
	tag := byte('O')
	if s == streamStderr {
		tag = 'E'
	}
	dst = append(dst, tag, ' ')
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, ' ')
	dst = base64.StdEncoding.AppendEncode(dst, data)
	return append(dst, '\n')
}

// logWriter writes whole lines to the pod log, one write call per line, so a line is never
// interleaved with another.
type logWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func newLogWriter(w io.Writer) *logWriter { return &logWriter{w: w} }

func (l *logWriter) line(tag byte, payload []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(append(append(l.buf[:0], tag, ' '), payload...), '\n')
	// A failed write to our own stdout cannot be reported anywhere useful; the record still
	// goes to the termination log.
	_, _ = l.w.Write(l.buf)
}

// outputSink numbers and frames the program's output and enforces the output cap: once the
// next chunk would exceed maxBytes, it keeps the part that fits, drops everything after it and
// calls onLimit once. With a window, each stream's output is held for up to that long after its
// first byte (or until a full chunk) and framed as one chunk, so a program alternating tiny writes
// to stdout and stderr costs two frames per window, not one per write.
type outputSink struct {
	log      *logWriter
	maxBytes int64
	window   time.Duration // 0: frame each write at once
	onLimit  func()

	mu        sync.Mutex
	seq       uint64
	kept      [2]int64
	truncated bool
	pending   [2][]byte
	arrival   [2]uint64 // order in which each stream's pending output started
	arrivals  uint64
}

func newOutputSink(log *logWriter, maxBytes int64, window time.Duration, onLimit func()) *outputSink {
	return &outputSink{log: log, maxBytes: maxBytes, window: window, onLimit: onLimit}
}

// write takes data (at most maxChunkBytes, as one read returned it).
func (o *outputSink) write(s stream, data []byte) {
	o.mu.Lock()
	if o.truncated {
		o.mu.Unlock()
		return
	}
	hitLimit := false
	if room := o.maxBytes - o.kept[0] - o.kept[1]; int64(len(data)) > room {
		data = data[:room]
		o.truncated = true
		hitLimit = true
	}
	o.kept[s] += int64(len(data))
	if len(data) > 0 && len(o.pending[s]) == 0 {
		o.arrivals++
		o.arrival[s] = o.arrivals
		if o.window > 0 && !hitLimit {
			time.AfterFunc(o.window, func() {
				o.mu.Lock()
				defer o.mu.Unlock()
				o.frameLocked(s)
			})
		}
	}
	o.pending[s] = append(o.pending[s], data...)
	for len(o.pending[s]) >= maxChunkBytes {
		o.emitLocked(s, o.pending[s][:maxChunkBytes])
		o.pending[s] = append([]byte(nil), o.pending[s][maxChunkBytes:]...)
	}
	if o.window == 0 || hitLimit {
		o.flushLocked()
	}
	o.mu.Unlock()
	if hitLimit {
		o.onLimit()
	}
}

// flush frames whatever is still held, first the stream whose output came first.
func (o *outputSink) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.flushLocked()
}

func (o *outputSink) flushLocked() {
	first, second := streamStdout, streamStderr
	if o.arrival[streamStderr] < o.arrival[streamStdout] {
		first, second = second, first
	}
	o.frameLocked(first)
	o.frameLocked(second)
}

// frameLocked frames a stream's held output (a timer may find it already framed: a no-op then).
func (o *outputSink) frameLocked(s stream) {
	if len(o.pending[s]) == 0 {
		return
	}
	o.emitLocked(s, o.pending[s])
	o.pending[s] = nil
}

func (o *outputSink) emitLocked(s stream, data []byte) {
	o.log.mu.Lock()
	o.log.buf = appendFrame(o.log.buf[:0], s, o.seq, data)
	_, _ = o.log.w.Write(o.log.buf)
	o.log.mu.Unlock()
	o.seq++
}

type outputStats struct {
	frames, stdoutBytes, stderrBytes int64
	truncated                        bool
}

func (o *outputSink) stats() outputStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return outputStats{int64(o.seq), o.kept[streamStdout], o.kept[streamStderr], o.truncated}
}
