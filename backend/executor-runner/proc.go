package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"os"
	"strconv"
	"strings"
)

// clockTicks is the kernel's USER_HZ, the unit of times in /proc/<pid>/stat. Without cgo there
// is no sysconf(_SC_CLK_TCK); the kernel passes the value in the auxiliary vector (AT_CLKTCK).
func clockTicks() float64 {
	const atClkTck = 17
	if auxv, err := os.ReadFile("/proc/self/auxv"); err == nil {
		for i := 0; i+16 <= len(auxv); i += 16 {
			key := binary.LittleEndian.Uint64(auxv[i:])
			if key == atClkTck {
				if v := binary.LittleEndian.Uint64(auxv[i+8:]); v > 0 {
					return float64(v)
				}
			}
			if key == 0 {
				break
			}
		}
	}
	return 100
}

// procStat holds the fields of /proc/<pid>/stat the runner uses, in clock ticks.
type procStat struct {
	pgrp                         int
	utime, stime, cutime, cstime uint64
}

// parseProcStat parses /proc/<pid>/stat. The command name (field 2) may contain spaces and
// parentheses, so fields are counted from the last ')'.
func parseProcStat(data []byte) (procStat, bool) {
	var st procStat
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return st, false
	}
	f := strings.Fields(string(data[end+1:]))
	// f[0] is field 3 (state); pgrp is field 5, utime..cstime are fields 14..17.
	if len(f) < 15 {
		return st, false
	}
	pgrp, err := strconv.Atoi(f[2])
	if err != nil {
		return st, false
	}
	st.pgrp = pgrp
	for i, dst := range []*uint64{&st.utime, &st.stime, &st.cutime, &st.cstime} {
		v, err := strconv.ParseUint(f[11+i], 10, 64)
		if err != nil {
			return st, false
		}
		*dst = v
	}
	return st, true
}

// processCPUSeconds sums the CPU time of the live (or not yet reaped) processes that member
// accepts, each with its waited-for children (reaped processes are in their parent's
// cutime/cstime; unreaped ones are still listed themselves, so nothing is counted twice).
func processCPUSeconds(ticks float64, member func(pid int, st procStat) bool) float64 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total uint64
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		if st, ok := parseProcStat(data); ok && member(pid, st) {
			total += st.utime + st.stime + st.cutime + st.cstime
		}
	}
	return float64(total) / ticks
}

// groupCPUSeconds is the CPU time of a process group: all the runner can attribute to the
// program when it shares its pid namespace with others (tests on a host).
func groupCPUSeconds(pgid int, ticks float64) float64 {
	return processCPUSeconds(ticks, func(_ int, st procStat) bool { return st.pgrp == pgid })
}

// containerCPUSeconds is the CPU time of the whole container when the runner is its init
// (PID 1 of the pod's own pid namespace, so /proc lists only the container's processes): every
// process counts, one that left the group with setsid included, and of the runner itself only
// the children it reaped.
func containerCPUSeconds(ticks float64) float64 {
	others := processCPUSeconds(ticks, func(pid int, _ procStat) bool { return pid != 1 })
	data, err := os.ReadFile("/proc/1/stat")
	if err != nil {
		return others
	}
	self, ok := parseProcStat(data)
	if !ok {
		return others
	}
	return others + float64(self.cutime+self.cstime)/ticks
}

// The container's own cgroup (cgroup v2 with a private cgroup namespace, as containerd sets
// up). On cgroup v1 hosts these files are absent and the runner falls back to rusage.
const cgroupDir = "/sys/fs/cgroup"

// readOOMKills returns the oom_kill counter of memory.events, or -1 when unreadable.
func readOOMKills() int64 {
	data, err := os.ReadFile(cgroupDir + "/memory.events")
	if err != nil {
		return -1
	}
	return parseOOMKills(data)
}

func parseOOMKills(data []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "oom_kill" {
			if v, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return v
			}
		}
	}
	return -1
}

// oomKillsDuring is the increase of the oom_kill counter, 0 when either reading is unknown.
func oomKillsDuring(before, after int64) int64 {
	if before < 0 || after < 0 || after < before {
		return 0
	}
	return after - before
}

// readPeakMemory returns memory.peak of the container's cgroup, or -1 when unreadable.
func readPeakMemory() int64 {
	data, err := os.ReadFile(cgroupDir + "/memory.peak")
	if err != nil {
		return -1
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return -1
	}
	return v
}
