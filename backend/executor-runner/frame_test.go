package main

import (
	"bytes"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAppendFrameWritesTagSeqAndBase64(t *testing.T) {
	got := string(appendFrame(nil, streamStdout, 0, []byte("hi\n")))
	if got != "O 0 aGkK\n" {
		t.Fatalf("stdout frame = %q", got)
	}
	got = string(appendFrame([]byte("junk"), streamStderr, 12345, []byte{0, 0xff}))
	if got != "junkE 12345 AP8=\n" {
		t.Fatalf("stderr frame = %q", got)
	}
}

func TestFullChunkFrameFitsTheLineLimit(t *testing.T) {
	chunk := bytes.Repeat([]byte{0xff}, maxChunkBytes)
	line := appendFrame(nil, streamStderr, ^uint64(0), chunk)
	if len(line) > maxLineBytes {
		t.Fatalf("frame of a full chunk is %d bytes, limit %d", len(line), maxLineBytes)
	}
}

func TestOutputSinkNumbersFramesAcrossStreams(t *testing.T) {
	var out bytes.Buffer
	sink := newOutputSink(newLogWriter(&out), 100, 0, func() { t.Fatal("limit hit") })
	sink.write(streamStdout, []byte("a"))
	sink.write(streamStderr, []byte("bb"))
	sink.write(streamStdout, []byte("ccc"))
	want := "O 0 YQ==\nE 1 YmI=\nO 2 Y2Nj\n"
	if out.String() != want {
		t.Fatalf("log = %q, want %q", out.String(), want)
	}
	if s := sink.stats(); s != (outputStats{frames: 3, stdoutBytes: 4, stderrBytes: 2}) {
		t.Fatalf("stats = %+v", s)
	}
}

// lockedBuffer: the sink's timers write from their own goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestOutputSinkWithAWindowFramesEachStreamOncePerWindowFirstStreamFirst(t *testing.T) {
	var out lockedBuffer
	sink := newOutputSink(newLogWriter(&out), 1<<20, time.Hour, func() { t.Fatal("limit hit") })
	for i := 0; i < 1000; i++ {
		sink.write(streamStdout, []byte("o"))
		sink.write(streamStderr, []byte("e"))
	}
	if out.String() != "" {
		t.Fatalf("framed before the window ended: %q", out.String())
	}
	sink.flush()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "O 0 ") || !strings.HasPrefix(lines[1], "E 1 ") {
		t.Fatalf("want one O then one E frame, got %d lines: %.80q", len(lines), out.String())
	}
	if s := sink.stats(); s != (outputStats{frames: 2, stdoutBytes: 1000, stderrBytes: 1000}) {
		t.Fatalf("stats = %+v", s)
	}
}

func TestOutputSinkWithAWindowFramesWhenTheWindowEndsOrAChunkIsFull(t *testing.T) {
	var out lockedBuffer
	sink := newOutputSink(newLogWriter(&out), 1<<20, 20*time.Millisecond, func() { t.Fatal("limit hit") })
	sink.write(streamStderr, []byte("x"))
	deadline := time.Now().Add(5 * time.Second)
	for out.String() == "" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if out.String() != "E 0 eA==\n" {
		t.Fatalf("after the window: %q", out.String())
	}
	sink.write(streamStdout, bytes.Repeat([]byte("y"), maxChunkBytes+1))
	if got := strings.Count(out.String(), "\n"); got != 2 {
		t.Fatalf("a full chunk waits for the window: %d lines", got)
	}
	sink.flush()
	if s := sink.stats(); s.frames != 3 || s.stdoutBytes != maxChunkBytes+1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestOutputSinkKeepsWhatFitsThenDropsAndCallsOnLimitOnce(t *testing.T) {
	var out bytes.Buffer
	calls := 0
	sink := newOutputSink(newLogWriter(&out), 10, 0, func() { calls++ })
	sink.write(streamStdout, []byte("123456"))
	sink.write(streamStderr, []byte("789abc")) // only "789a" fits
	sink.write(streamStdout, []byte("more"))
	sink.write(streamStderr, []byte("more"))
	if calls != 1 {
		t.Fatalf("onLimit called %d times", calls)
	}
	var kept []byte
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		fields := strings.SplitN(line, " ", 3)
		data, err := base64.StdEncoding.DecodeString(fields[2])
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, data...)
	}
	if string(kept) != "123456789a" {
		t.Fatalf("kept %q", kept)
	}
	if s := sink.stats(); s != (outputStats{frames: 2, stdoutBytes: 6, stderrBytes: 4, truncated: true}) {
		t.Fatalf("stats = %+v", s)
	}
}

func TestOutputSinkAtExactlyTheCapIsNotTruncated(t *testing.T) {
	var out bytes.Buffer
	sink := newOutputSink(newLogWriter(&out), 4, 0, func() { t.Fatal("limit hit") })
	sink.write(streamStdout, []byte("abcd"))
	if s := sink.stats(); s.truncated || s.stdoutBytes != 4 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestOutputSinkWritesNoEmptyFrameWhenTheCapIsAlreadyFull(t *testing.T) {
	var out bytes.Buffer
	sink := newOutputSink(newLogWriter(&out), 4, 0, func() {})
	sink.write(streamStdout, []byte("abcd"))
	sink.write(streamStdout, []byte("e"))
	if out.String() != "O 0 YWJjZA==\n" {
		t.Fatalf("log = %q", out.String())
	}
	if s := sink.stats(); !s.truncated || s.frames != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestLogWriterWritesEachLineWithOneWrite(t *testing.T) {
	var w recordingWriter
	l := newLogWriter(&w)
	l.line('S', []byte(`{"v":1}`))
	l.line('X', []byte(`{}`))
	if len(w.writes) != 2 || w.writes[0] != "S {\"v\":1}\n" || w.writes[1] != "X {}\n" {
		t.Fatalf("writes = %q", w.writes)
	}
}

type recordingWriter struct{ writes []string }

func (r *recordingWriter) Write(p []byte) (int, error) {
	r.writes = append(r.writes, string(p))
	return len(p), nil
}
