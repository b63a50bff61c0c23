package main

import (
	"encoding/base64"
	"io"
	"strconv"
	"sync"
)

// Log protocol limits. The kubelet splits log lines longer than 16 KiB; a full chunk makes a
// line of about 10.9 KiB.
const (
	maxChunkBytes = 8192
	maxLineBytes  = 16 * 1024
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
// calls onLimit once.
type outputSink struct {
	log      *logWriter
	maxBytes int64
	onLimit  func()

	mu        sync.Mutex
	seq       uint64
	kept      [2]int64
	truncated bool
}

func newOutputSink(log *logWriter, maxBytes int64, onLimit func()) *outputSink {
	return &outputSink{log: log, maxBytes: maxBytes, onLimit: onLimit}
}

// write frames data (at most maxChunkBytes, as one read returned it).
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
	if len(data) > 0 {
		o.log.mu.Lock()
		o.log.buf = appendFrame(o.log.buf[:0], s, o.seq, data)
		_, _ = o.log.w.Write(o.log.buf)
		o.log.mu.Unlock()
		o.seq++
		o.kept[s] += int64(len(data))
	}
	o.mu.Unlock()
	if hitLimit {
		o.onLimit()
	}
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
