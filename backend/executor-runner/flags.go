package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

const defaultTerminationLog = "/dev/termination-log"

type runConfig struct {
	scriptDir      string
	workdir        string
	stdinPath      string
	terminationLog string
	wallSeconds    float64
	cpuSeconds     float64
	maxOutputBytes int64
	maxFileBytes   int64
	program        []string
}

// parseRunFlags parses `run` arguments. Every limit is required: a sandbox must not fall back
// to running without one because a flag was forgotten.
func parseRunFlags(args []string) (runConfig, error) {
	cfg := runConfig{terminationLog: defaultTerminationLog}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.scriptDir, "script-dir", "", "directory whose regular files are copied into the workdir")
	fs.StringVar(&cfg.workdir, "workdir", "", "working directory of the program")
	fs.StringVar(&cfg.stdinPath, "stdin", "", "file to use as the program's stdin (default /dev/null)")
	fs.StringVar(&cfg.terminationLog, "termination-log", defaultTerminationLog, "where to write the record")
	wall := fs.String("wall-seconds", "", "wall-clock limit in seconds")
	cpu := fs.String("cpu-seconds", "", "CPU time limit in seconds")
	maxOut := fs.String("max-output-bytes", "", "cap on stdout+stderr bytes")
	maxFile := fs.String("max-file-bytes", "", "largest file the program may write")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 && !dashDashBefore(args, len(args)-fs.NArg()) {
		return cfg, fmt.Errorf("unexpected argument %q (put the program after --)", fs.Arg(0))
	}
	cfg.program = fs.Args()
	if len(cfg.program) == 0 || cfg.program[0] == "" {
		return cfg, errors.New("missing program after --")
	}
	if cfg.workdir == "" {
		return cfg, errors.New("missing --workdir")
	}
	if cfg.terminationLog == "" {
		return cfg, errors.New("empty --termination-log")
	}
	var err error
	if cfg.wallSeconds, err = positiveSeconds("wall-seconds", *wall); err != nil {
		return cfg, err
	}
	if cfg.cpuSeconds, err = positiveSeconds("cpu-seconds", *cpu); err != nil {
		return cfg, err
	}
	if cfg.maxOutputBytes, err = positiveBytes("max-output-bytes", *maxOut); err != nil {
		return cfg, err
	}
	if cfg.maxFileBytes, err = positiveBytes("max-file-bytes", *maxFile); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// dashDashBefore reports whether args[i-1] is the "--" that ended flag parsing.
func dashDashBefore(args []string, i int) bool { return i > 0 && args[i-1] == "--" }

func positiveSeconds(name, v string) (float64, error) {
	if v == "" {
		return 0, fmt.Errorf("missing --%s", name)
	}
	f, err := strconv.ParseFloat(v, 64)
	// Above ~292 years a time.Duration overflows.
	if err != nil || math.IsNaN(f) || f <= 0 || f > 1e9 {
		return 0, fmt.Errorf("--%s must be a positive number of seconds, got %q", name, v)
	}
	return f, nil
}

func positiveBytes(name, v string) (int64, error) {
	if v == "" {
		return 0, fmt.Errorf("missing --%s", name)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("--%s must be a positive integer, got %q", name, v)
	}
	return n, nil
}

// terminationLogFromArgs finds --termination-log in arguments that failed to parse, so even a
// bad invocation leaves a record where the kubelet looks for it.
func terminationLogFromArgs(args []string) string {
	path := defaultTerminationLog
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		name := strings.TrimLeft(a, "-")
		if len(a)-len(name) < 1 || len(a)-len(name) > 2 {
			continue
		}
		if v, ok := strings.CutPrefix(name, "termination-log="); ok {
			path = v
		} else if name == "termination-log" && i+1 < len(args) {
			path = args[i+1]
			i++
		}
	}
	return path
}

// cpuRlimit: the soft limit sends SIGXCPU at the first whole second at or past the limit, the
// hard one a SIGKILL a second later in case the program handles or ignores SIGXCPU.
func cpuRlimit(seconds float64) (soft, hard uint64) {
	soft = uint64(math.Ceil(seconds))
	if soft == 0 {
		soft = 1
	}
	return soft, soft + 1
}
