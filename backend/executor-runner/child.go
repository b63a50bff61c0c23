package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// childCommand is the internal subcommand the runner re-executes itself with to start the
// program. Resource limits have to hold for the program only, not for the runner: a
// Setrlimit in the runner before fork would cap the runner too (its CPU time, the termination
// log), and a prlimit on the child's pid after fork races with the program's first
// instructions. So the child, already in its own process group, is this same binary: it sets
// the limits on itself and then execve()s the program, which inherits them. Exec errors go
// back to the runner through statusFD, which is close-on-exec, so the runner reads EOF
// exactly when the exec succeeded.
const childCommand = "__child"

// statusFD is the first ExtraFiles entry of the child.
const statusFD = 3

// childLimits are what the runner passes to the child, in this order, before "--".
type childLimits struct {
	cpuSoft, cpuHard, fileBytes uint64
}

func childArgs(l childLimits, program []string) []string {
	args := []string{
		childCommand,
		strconv.FormatUint(l.cpuSoft, 10),
		strconv.FormatUint(l.cpuHard, 10),
		strconv.FormatUint(l.fileBytes, 10),
		"--",
	}
	return append(args, program...)
}

func parseChildArgs(args []string) (childLimits, []string, error) {
	var l childLimits
	if len(args) < 5 || args[3] != "--" {
		return l, nil, fmt.Errorf("bad child arguments")
	}
	var err error
	if l.cpuSoft, err = strconv.ParseUint(args[0], 10, 64); err != nil {
		return l, nil, err
	}
	if l.cpuHard, err = strconv.ParseUint(args[1], 10, 64); err != nil {
		return l, nil, err
	}
	if l.fileBytes, err = strconv.ParseUint(args[2], 10, 64); err != nil {
		return l, nil, err
	}
	return l, args[4:], nil
}

func childMain(args []string) int {
	status := os.NewFile(statusFD, "status")
	fail := func(format string, a ...any) int {
		msg := fmt.Sprintf(format, a...)
		if status != nil {
			status.WriteString(msg)
		} else {
			fmt.Fprintln(os.Stderr, msg)
		}
		return 127
	}
	if status == nil {
		return fail("integr8scode-runner: %s is internal", childCommand)
	}
	// The program must not inherit the status pipe; exec closes it and so signals success.
	syscall.CloseOnExec(statusFD)

	limits, program, err := parseChildArgs(args)
	if err != nil {
		return fail("internal error: %v", err)
	}
	set := []struct {
		name     string
		resource int
		soft     uint64
		hard     uint64
	}{
		{"RLIMIT_CPU", syscall.RLIMIT_CPU, limits.cpuSoft, limits.cpuHard},
		{"RLIMIT_FSIZE", syscall.RLIMIT_FSIZE, limits.fileBytes, limits.fileBytes},
		// SIGXCPU and SIGXFSZ dump core by default; a core file would only fill the workdir.
		{"RLIMIT_CORE", syscall.RLIMIT_CORE, 0, 0},
	}
	for _, s := range set {
		if err := syscall.Setrlimit(s.resource, &syscall.Rlimit{Cur: s.soft, Max: s.hard}); err != nil {
			return fail("cannot set %s: %v", s.name, err)
		}
	}
	// Make the program, not the runner, the OOM killer's first choice when the container runs
	// out of memory, so the runner survives to write the record. Best effort.
	_ = os.WriteFile("/proc/self/oom_score_adj", []byte("1000"), 0)

	path, err := exec.LookPath(program[0])
	if err != nil {
		return fail("%v", err)
	}
	err = syscall.Exec(path, program, os.Environ())
	return fail("exec %s: %v", program[0], err)
}
