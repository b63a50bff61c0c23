package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"syscall"
	"unicode/utf8"
)

const protocolVersion = 1

// Verdicts, as in backend/src/executor/kubernetes/termination-record.ts.
const (
	verdictCompleted   = "completed"
	verdictTimeout     = "timeout"
	verdictCPULimit    = "cpu_limit"
	verdictMemoryLimit = "memory_limit"
	verdictOutputLimit = "output_limit"
	verdictFailed      = "failed"
)

// record is the termination record; field order and names are the protocol's.
type record struct {
	V               int     `json:"v"`
	Verdict         string  `json:"verdict"`
	ExitCode        *int    `json:"exit_code"`
	Signal          *string `json:"signal"`
	WallSeconds     float64 `json:"wall_seconds"`
	CPUSeconds      float64 `json:"cpu_seconds"`
	PeakMemoryBytes int64   `json:"peak_memory_bytes"`
	OutputTruncated bool    `json:"output_truncated"`
	StdoutBytes     int64   `json:"stdout_bytes"`
	StderrBytes     int64   `json:"stderr_bytes"`
	Frames          int64   `json:"frames"`
	Reason          *string `json:"reason"`
}

func failedRecord(reason string) record {
	return record{V: protocolVersion, Verdict: verdictFailed, Reason: &reason}
}

// maxReasonBytes keeps the record under the kubelet's 4096-byte termination message cap even
// when every byte of the reason needs a six-character \u escape.
const maxReasonBytes = 512

// encodeRecord returns the record as one line of ASCII-only JSON (no newline).
func encodeRecord(r record) []byte {
	if r.Reason != nil && len(*r.Reason) > maxReasonBytes {
		cut := maxReasonBytes
		for cut > 0 && !utf8.RuneStart((*r.Reason)[cut]) {
			cut--
		}
		s := (*r.Reason)[:cut] + "..."
		r.Reason = &s
	}
	r.WallSeconds = roundMicros(r.WallSeconds)
	r.CPUSeconds = roundMicros(r.CPUSeconds)
	out, err := json.Marshal(r)
	if err != nil {
		// Only a NaN or infinite float can fail here; report it instead of writing nothing.
		return encodeRecord(failedRecord(fmt.Sprintf("internal error: cannot encode record: %v", err)))
	}
	return asciiJSON(out)
}

func roundMicros(s float64) float64 {
	if math.IsNaN(s) || math.IsInf(s, 0) || s < 0 {
		return 0
	}
	return math.Round(s*1e6) / 1e6
}

// asciiJSON escapes every non-ASCII rune of marshalled JSON as \uXXXX (json.Marshal leaves
// UTF-8 as it is; the log protocol is ASCII only). Non-ASCII can only occur inside strings.
func asciiJSON(in []byte) []byte {
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		if in[i] < utf8.RuneSelf {
			out = append(out, in[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(in[i:])
		i += size
		if r > 0xFFFF {
			r -= 0x10000
			out = appendU(appendU(out, 0xD800+(r>>10)), 0xDC00+(r&0x3FF))
		} else {
			out = appendU(out, r)
		}
	}
	return out
}

func appendU(dst []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	return append(dst, '\\', 'u', hex[r>>12&0xF], hex[r>>8&0xF], hex[r>>4&0xF], hex[r&0xF])
}

// killReason is why the runner itself killed the program's process group.
type killReason struct {
	verdict string // verdictTimeout, verdictCPULimit or verdictOutputLimit
	detail  string
}

// runFacts is what the runner knows once the program has ended.
type runFacts struct {
	kill       *killReason
	signal     syscall.Signal // 0 when the program exited
	cpuSeconds float64
	cpuLimit   float64
	oomKills   int64 // increase of memory.events oom_kill during the run; 0 when unknown
}

// chooseVerdict: the runner's own kill reason first (the first one recorded); then the kernel's
// RLIMIT_CPU signal (SIGXCPU with the CPU time at the limit: one the program sent itself earlier is
// just a signal); then an OOM kill in the container's cgroup; then CPU time beyond the limit seen
// afterwards (the hard RLIMIT_CPU SIGKILL, or a tree of processes that ended between two polls);
// otherwise the program completed, whatever its exit code or signal.
func chooseVerdict(f runFacts) (verdict string, reason *string) {
	str := func(s string) *string { return &s }
	switch {
	case f.kill != nil:
		return f.kill.verdict, str(f.kill.detail)
	// Within 10%: RLIMIT_CPU is checked against tick-sampled time, rusage is precise.
	case f.signal == syscall.SIGXCPU && f.cpuSeconds >= 0.9*f.cpuLimit:
		return verdictCPULimit, str(fmt.Sprintf("CPU time limit of %ss exceeded (SIGXCPU)", formatSeconds(f.cpuLimit)))
	case f.oomKills > 0:
		return verdictMemoryLimit, str(fmt.Sprintf("memory limit exceeded: the kernel OOM-killed %d process(es)", f.oomKills))
	case f.signal == syscall.SIGKILL && f.cpuSeconds >= f.cpuLimit, f.cpuSeconds > f.cpuLimit:
		return verdictCPULimit, str(fmt.Sprintf("CPU time limit of %ss exceeded (used %ss)", formatSeconds(f.cpuLimit), formatSeconds(f.cpuSeconds)))
	default:
		return verdictCompleted, nil
	}
}

func formatSeconds(s float64) string { return strconv.FormatFloat(roundMicros(s), 'f', -1, 64) }

var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT",
	syscall.SIGILL: "SIGILL", syscall.SIGTRAP: "SIGTRAP", syscall.SIGABRT: "SIGABRT",
	syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE", syscall.SIGKILL: "SIGKILL",
	syscall.SIGUSR1: "SIGUSR1", syscall.SIGSEGV: "SIGSEGV", syscall.SIGUSR2: "SIGUSR2",
	syscall.SIGPIPE: "SIGPIPE", syscall.SIGALRM: "SIGALRM", syscall.SIGTERM: "SIGTERM",
	syscall.SIGSTKFLT: "SIGSTKFLT", syscall.SIGCHLD: "SIGCHLD", syscall.SIGCONT: "SIGCONT",
	syscall.SIGSTOP: "SIGSTOP", syscall.SIGTSTP: "SIGTSTP", syscall.SIGTTIN: "SIGTTIN",
	syscall.SIGTTOU: "SIGTTOU", syscall.SIGURG: "SIGURG", syscall.SIGXCPU: "SIGXCPU",
	syscall.SIGXFSZ: "SIGXFSZ", syscall.SIGVTALRM: "SIGVTALRM", syscall.SIGPROF: "SIGPROF",
	syscall.SIGWINCH: "SIGWINCH", syscall.SIGIO: "SIGIO", syscall.SIGPWR: "SIGPWR",
	syscall.SIGSYS: "SIGSYS",
}

// signalName names a signal like Node's os.constants.signals (real-time signals as SIGRTMIN+n).
func signalName(s syscall.Signal) string {
	if name, ok := signalNames[s]; ok {
		return name
	}
	if s >= 34 && s <= 64 {
		return fmt.Sprintf("SIGRTMIN+%d", int(s)-34)
	}
	return fmt.Sprintf("SIG%d", int(s))
}
