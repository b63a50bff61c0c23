package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	cpuPollInterval = 100 * time.Millisecond
	// How long to keep reading output after the program ended and its process group was
	// killed; only a process that left the group (setsid) can hold the pipes open longer.
	drainGrace = time.Second
)

func runMain(args []string) int {
	// Processes of the same uid (the program) may otherwise open /proc/<runner>/fd/1 and write
	// forged frames into the log, or ptrace the runner. The child's execve resets the flag.
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 0, 0)

	log := newLogWriter(os.Stdout)
	log.line('S', []byte(fmt.Sprintf(`{"v":%d}`, protocolVersion)))

	cfg, err := parseRunFlags(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "integr8scode-runner run: %v\n%s\n", err, usage)
		finish(log, terminationLogFromArgs(args), failedRecord("bad runner arguments: "+err.Error()))
		return 2
	}
	if err := finish(log, cfg.terminationLog, run(cfg, log)); err != nil {
		fmt.Fprintf(os.Stderr, "integr8scode-runner run: cannot write the termination log: %v\n", err)
		return 1
	}
	return 0
}

// finish writes the record to the termination log and then as the last log line.
func finish(log *logWriter, terminationLog string, rec record) error {
	line := encodeRecord(rec)
	err := os.WriteFile(terminationLog, line, 0o644)
	log.line('X', line)
	return err
}

// supervisor kills the program's process group and remembers the first reason.
type supervisor struct {
	pgid int
	// The runner is the container's init (PID 1 of its own pid namespace): every other process
	// in the namespace is the program's, so limits count and kill all of them, not only the
	// program's group (a setsid child leaves the group but not the namespace).
	containerInit bool
	mu            sync.Mutex
	why           *killReason
}

func (s *supervisor) kill(verdict, detail string) {
	s.mu.Lock()
	if s.why == nil {
		s.why = &killReason{verdict, detail}
	}
	s.mu.Unlock()
	s.killAll()
}

// killAll SIGKILLs the program's group and, as the container's init, every other process of
// the container (kill(-1) from PID 1 spares only the caller; never sent outside that case).
func (s *supervisor) killAll() {
	_ = syscall.Kill(-s.pgid, syscall.SIGKILL)
	if s.containerInit {
		_ = syscall.Kill(-1, syscall.SIGKILL)
	}
}

// cpuSeconds is what the CPU limit is checked against: the whole container as its init, else
// the program's process group.
func (s *supervisor) cpuSeconds(ticks float64) float64 {
	if s.containerInit {
		return containerCPUSeconds(ticks)
	}
	return groupCPUSeconds(s.pgid, ticks)
}

func (s *supervisor) reason() *killReason {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.why
}

// run starts the program, streams its output and returns the record. It never fails: what
// goes wrong becomes a `failed` record.
func run(cfg runConfig, log *logWriter) record {
	ticks := clockTicks()
	if cfg.scriptDir != "" {
		if err := copyScripts(cfg.scriptDir, cfg.workdir, cfg.stdinPath); err != nil {
			return failedRecord("cannot copy the scripts into the workdir: " + err.Error())
		}
	}
	stdinPath := os.DevNull
	if cfg.stdinPath != "" {
		stdinPath = cfg.stdinPath
	}
	stdin, err := os.Open(stdinPath)
	if err != nil {
		return failedRecord("cannot open stdin: " + err.Error())
	}
	pipes, err := newPipes()
	if err != nil {
		stdin.Close()
		return failedRecord("cannot create pipes: " + err.Error())
	}

	cpuSoft, cpuHard := cpuRlimit(cfg.cpuSeconds)
	limits := childLimits{cpuSoft: cpuSoft, cpuHard: cpuHard, fileBytes: uint64(cfg.maxFileBytes)}
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       append([]string{"integr8scode-runner"}, childArgs(limits, cfg.program)...),
		Dir:        cfg.workdir,
		Env:        os.Environ(),
		Stdin:      stdin,
		Stdout:     pipes.outW,
		Stderr:     pipes.errW,
		ExtraFiles: []*os.File{pipes.statusW},
		// Own process group, so one kill(-pgid) reaches everything the program forks. Pdeathsig
		// ends the program if the runner dies (outside a pod nobody else would).
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	// Registered before the start so a SIGTERM right after it is forwarded, not fatal; never
	// stopped, so one arriving while the record is written does not kill the runner.
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)

	oomBefore := readOOMKills()
	started := time.Now()
	err = cmd.Start()
	stdin.Close()
	pipes.closeChildEnds()
	if err != nil {
		pipes.closeParentEnds()
		return failedRecord("cannot start the program: " + err.Error())
	}
	sup := &supervisor{pgid: cmd.Process.Pid, containerInit: os.Getpid() == 1}

	sink := newOutputSink(log, cfg.maxOutputBytes, coalesceWindow, func() {
		sup.kill(verdictOutputLimit, fmt.Sprintf("output limit of %d bytes reached", cfg.maxOutputBytes))
	})
	var readers sync.WaitGroup
	for _, r := range []struct {
		s stream
		f *os.File
	}{{streamStdout, pipes.outR}, {streamStderr, pipes.errR}} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			readChunks(r.f, func(chunk []byte) { sink.write(r.s, chunk) })
		}()
	}

	go func() {
		for sig := range signals {
			_ = syscall.Kill(-sup.pgid, sig.(syscall.Signal))
		}
	}()
	timer := time.AfterFunc(time.Duration(cfg.wallSeconds*float64(time.Second)), func() {
		sup.kill(verdictTimeout, fmt.Sprintf("wall-clock limit of %ss exceeded", formatSeconds(cfg.wallSeconds)))
	})
	stopPoll := make(chan struct{})
	polled := make(chan float64, 1)
	go func() { polled <- pollCPU(sup, cfg.cpuSeconds, ticks, stopPoll) }()

	execErr, _ := io.ReadAll(pipes.statusR)
	pipes.statusR.Close()
	waitErr := cmd.Wait()
	wall := time.Since(started).Seconds()
	timer.Stop()
	close(stopPoll)
	polledCPU := <-polled
	// Whatever the program left running would keep the pipes open.
	sup.killAll()
	drain(&readers, pipes)
	sink.flush()

	stats := sink.stats()
	var rec record
	if len(execErr) > 0 {
		rec = failedRecord("cannot start the program: " + string(execErr))
	} else if state := cmd.ProcessState; state == nil {
		rec = failedRecord(fmt.Sprintf("cannot wait for the program: %v", waitErr))
	} else {
		rec = programRecord(state, cfg, sup.reason(), polledCPU, oomKillsDuring(oomBefore, readOOMKills()))
	}
	rec.WallSeconds = wall
	rec.OutputTruncated = stats.truncated
	rec.StdoutBytes = stats.stdoutBytes
	rec.StderrBytes = stats.stderrBytes
	rec.Frames = stats.frames
	return rec
}

func programRecord(state *os.ProcessState, cfg runConfig, kill *killReason, polledCPU float64, oomKills int64) record {
	rec := record{V: protocolVersion}
	ws, _ := state.Sys().(syscall.WaitStatus)
	var sig syscall.Signal
	if ws.Signaled() {
		sig = ws.Signal()
		name := signalName(sig)
		rec.Signal = &name
	} else {
		code := ws.ExitStatus()
		rec.ExitCode = &code
	}
	var maxRSS int64
	if ru, ok := state.SysUsage().(*syscall.Rusage); ok {
		rec.CPUSeconds = timevalSeconds(ru.Utime) + timevalSeconds(ru.Stime)
		maxRSS = ru.Maxrss * 1024
	}
	// rusage misses descendants nobody waited for (killed with their parent); the last poll of
	// the group saw them.
	rec.CPUSeconds = math.Max(rec.CPUSeconds, polledCPU)
	if rec.PeakMemoryBytes = readPeakMemory(); rec.PeakMemoryBytes < 0 {
		rec.PeakMemoryBytes = maxRSS
	}
	rec.Verdict, rec.Reason = chooseVerdict(runFacts{
		kill:       kill,
		signal:     sig,
		cpuSeconds: rec.CPUSeconds,
		cpuLimit:   cfg.cpuSeconds,
		oomKills:   oomKills,
	})
	return rec
}

func timevalSeconds(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// pollCPU kills the program once its CPU time (container or group, see cpuSeconds) passes the
// limit: RLIMIT_CPU is per process, so several processes could otherwise each stay under it.
// Returns the last reading.
func pollCPU(sup *supervisor, limit, ticks float64, stop <-chan struct{}) float64 {
	t := time.NewTicker(cpuPollInterval)
	defer t.Stop()
	last := 0.0
	for {
		select {
		case <-stop:
			return last
		case <-t.C:
			if cpu := sup.cpuSeconds(ticks); cpu > 0 {
				last = cpu
			}
			if last > limit {
				sup.kill(verdictCPULimit, fmt.Sprintf("CPU time limit of %ss exceeded", formatSeconds(limit)))
			}
		}
	}
}

// readChunks passes each read (at most maxChunkBytes) on as soon as it returns.
func readChunks(f *os.File, emit func([]byte)) {
	buf := make([]byte, maxChunkBytes)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			emit(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

type pipes struct {
	outR, outW, errR, errW, statusR, statusW *os.File
}

func newPipes() (*pipes, error) {
	var p pipes
	var err error
	if p.outR, p.outW, err = os.Pipe(); err != nil {
		return nil, err
	}
	if p.errR, p.errW, err = os.Pipe(); err != nil {
		p.outR.Close()
		p.outW.Close()
		return nil, err
	}
	if p.statusR, p.statusW, err = os.Pipe(); err != nil {
		p.outR.Close()
		p.outW.Close()
		p.errR.Close()
		p.errW.Close()
		return nil, err
	}
	return &p, nil
}

// closeChildEnds closes the runner's copies of the write ends, so reads see EOF once the
// program's side is closed.
func (p *pipes) closeChildEnds() {
	p.outW.Close()
	p.errW.Close()
	p.statusW.Close()
}

func (p *pipes) closeParentEnds() {
	p.outR.Close()
	p.errR.Close()
	p.statusR.Close()
}

// drain waits for the readers to reach EOF, for at most drainGrace; then closing the read
// ends makes their pending reads return.
func drain(readers *sync.WaitGroup, p *pipes) {
	done := make(chan struct{})
	go func() {
		readers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(drainGrace):
		p.outR.Close()
		p.errR.Close()
		<-done
	}
	p.outR.Close()
	p.errR.Close()
}

// copyScripts copies the regular files of a ConfigMap mount into the workdir. A ConfigMap
// volume holds `..data` and a timestamped `..<date>` directory plus one symlink per key
// (`main.py -> ..data/main.py`): dot entries are skipped, symlinks followed, directories skipped.
// The stdin file, when it is one of them, is the program's stdin and not copied.
func copyScripts(src, dst, stdinPath string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	var stdinInfo os.FileInfo
	if stdinPath != "" {
		stdinInfo, _ = os.Stat(stdinPath)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		from := filepath.Join(src, name)
		info, err := os.Stat(from)
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() || (stdinInfo != nil && os.SameFile(info, stdinInfo)) {
			continue
		}
		perm := os.FileMode(0o644)
		if info.Mode().Perm()&0o111 != 0 {
			perm = 0o755
		}
		if err := copyFile(from, filepath.Join(dst, name), perm); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string, perm os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return errors.Join(out.Chmod(perm), out.Close())
}
