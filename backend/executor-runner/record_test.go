package main

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
)

func TestChooseVerdict(t *testing.T) {
	timeout := &killReason{verdictTimeout, "wall-clock limit of 1s exceeded"}
	cases := []struct {
		name   string
		facts  runFacts
		want   string
		reason bool
	}{
		{"exit code only", runFacts{cpuLimit: 1, cpuSeconds: 0.2}, verdictCompleted, false},
		{"killed by a signal it sent itself", runFacts{signal: syscall.SIGKILL, cpuLimit: 1, cpuSeconds: 0.1}, verdictCompleted, false},
		{"runner's kill reason wins over everything", runFacts{kill: timeout, signal: syscall.SIGXCPU, cpuLimit: 1, cpuSeconds: 5, oomKills: 1}, verdictTimeout, true},
		{"SIGXCPU", runFacts{signal: syscall.SIGXCPU, cpuLimit: 1, cpuSeconds: 1}, verdictCPULimit, true},
		{"SIGXCPU the program sent itself, CPU below the limit", runFacts{signal: syscall.SIGXCPU, cpuLimit: 1, cpuSeconds: 0.02}, verdictCompleted, false},
		{"SIGXCPU wins over an OOM kill", runFacts{signal: syscall.SIGXCPU, cpuLimit: 1, cpuSeconds: 1, oomKills: 1}, verdictCPULimit, true},
		{"OOM kill", runFacts{signal: syscall.SIGKILL, cpuLimit: 1, cpuSeconds: 0.1, oomKills: 2}, verdictMemoryLimit, true},
		{"OOM kill of a child, program exited", runFacts{cpuLimit: 1, cpuSeconds: 0.1, oomKills: 1}, verdictMemoryLimit, true},
		{"hard RLIMIT_CPU SIGKILL", runFacts{signal: syscall.SIGKILL, cpuLimit: 1, cpuSeconds: 1}, verdictCPULimit, true},
		{"CPU over the limit between polls", runFacts{cpuLimit: 1, cpuSeconds: 1.05}, verdictCPULimit, true},
		{"CPU exactly at the limit, exited", runFacts{cpuLimit: 1, cpuSeconds: 1}, verdictCompleted, false},
	}
	for _, c := range cases {
		got, reason := chooseVerdict(c.facts)
		if got != c.want || (reason != nil) != c.reason {
			t.Errorf("%s: got %s (reason %v), want %s (reason %v)", c.name, got, reason, c.want, c.reason)
		}
	}
}

func TestEncodeRecordIsOneLineOfASCIIJSONWithEveryField(t *testing.T) {
	code := 0
	reason := "caf\u00e9 \U0001F600 \x01 \"q\"\n"
	line := encodeRecord(record{V: 1, Verdict: verdictCompleted, ExitCode: &code, WallSeconds: 0.1234567, CPUSeconds: 0.0000004, Reason: &reason})
	for _, b := range line {
		if b >= 0x80 || b == '\n' {
			t.Fatalf("not one ASCII line: %q", line)
		}
	}
	var got map[string]any
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"v", "verdict", "exit_code", "signal", "wall_seconds", "cpu_seconds", "peak_memory_bytes", "output_truncated", "stdout_bytes", "stderr_bytes", "frames", "reason"} {
		if _, ok := got[key]; !ok {
			t.Errorf("missing %s in %s", key, line)
		}
	}
	if got["reason"] != reason || got["signal"] != nil || got["wall_seconds"] != 0.123457 || got["cpu_seconds"] != 0.0 {
		t.Fatalf("decoded %v", got)
	}
}

func TestEncodeRecordStaysUnderTheTerminationMessageCap(t *testing.T) {
	for _, unit := range []string{"\x01", "\u00e9", "\u20ac", "\U0001F600", "a"} {
		reason := strings.Repeat(unit, 5000)
		line := encodeRecord(failedRecord(reason))
		if len(line) >= 4096 {
			t.Fatalf("record with reason of %q is %d bytes", unit, len(line))
		}
		var got record
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(*got.Reason, "...") || !strings.HasPrefix(*got.Reason, unit) {
			t.Fatalf("reason not cut cleanly: %q", *got.Reason)
		}
	}
}

func TestSignalName(t *testing.T) {
	for sig, want := range map[syscall.Signal]string{syscall.SIGKILL: "SIGKILL", syscall.SIGXCPU: "SIGXCPU", syscall.SIGSEGV: "SIGSEGV", 34: "SIGRTMIN+0", 99: "SIG99"} {
		if got := signalName(sig); got != want {
			t.Errorf("signalName(%d) = %s, want %s", sig, got, want)
		}
	}
}
