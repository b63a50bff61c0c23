package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseProcStatCountsFieldsFromTheLastParen(t *testing.T) {
	// comm "a) b (c" holds spaces and parentheses.
	line := "4242 (a) b (c) R 1 777 777 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 123 456 78\n"
	st, ok := parseProcStat([]byte(line))
	if !ok {
		t.Fatal("not parsed")
	}
	if st != (procStat{pgrp: 777, utime: 250, stime: 50, cutime: 7, cstime: 3}) {
		t.Fatalf("got %+v", st)
	}
	if _, ok := parseProcStat([]byte("4242 (x) R 1 2")); ok {
		t.Fatal("parsed a short line")
	}
}

func TestGroupCPUSecondsSeesThisProcess(t *testing.T) {
	// The test binary is a member of its own process group; burn CPU until a tick shows.
	pgrp, ticks := getpgrp(t), clockTicks()
	for deadline := time.Now().Add(5 * time.Second); groupCPUSeconds(pgrp, ticks) <= 0; {
		if time.Now().After(deadline) {
			t.Fatal("no CPU time seen for this process group")
		}
		for start := time.Now(); time.Since(start) < 20*time.Millisecond; {
		}
	}
	if cpu := groupCPUSeconds(-12345, ticks); cpu != 0 {
		t.Fatalf("CPU of a group that does not exist = %v", cpu)
	}
}

func getpgrp(t *testing.T) int {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	st, ok := parseProcStat(data)
	if !ok {
		t.Fatal("cannot parse /proc/self/stat")
	}
	return st.pgrp
}

func TestClockTicksComesFromTheAuxiliaryVector(t *testing.T) {
	if ticks := clockTicks(); ticks != 100 && ticks != 250 && ticks != 1000 {
		t.Fatalf("clock ticks = %v", ticks)
	}
}

func TestParseOOMKills(t *testing.T) {
	events := "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n"
	if got := parseOOMKills([]byte(events)); got != 2 {
		t.Fatalf("oom_kill = %d", got)
	}
	if got := parseOOMKills([]byte("low 0\n")); got != -1 {
		t.Fatalf("missing oom_kill = %d", got)
	}
	if oomKillsDuring(2, 5) != 3 || oomKillsDuring(-1, 5) != 0 || oomKillsDuring(2, -1) != 0 || oomKillsDuring(5, 2) != 0 {
		t.Fatal("oomKillsDuring")
	}
}

func TestCopyScriptsFromAConfigMapLayout(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// What the kubelet creates for a ConfigMap volume.
	must(os.Mkdir(filepath.Join(src, "..2024_01_01_00_00_00.1"), 0o755))
	must(os.WriteFile(filepath.Join(src, "..2024_01_01_00_00_00.1", "main.py"), []byte("print(1)\n"), 0o644))
	must(os.WriteFile(filepath.Join(src, "..2024_01_01_00_00_00.1", "run.sh"), []byte("echo\n"), 0o755))
	must(os.Symlink("..2024_01_01_00_00_00.1", filepath.Join(src, "..data")))
	must(os.Symlink("..data/main.py", filepath.Join(src, "main.py")))
	must(os.Symlink("..data/run.sh", filepath.Join(src, "run.sh")))
	must(os.WriteFile(filepath.Join(src, "..2024_01_01_00_00_00.1", "stdin"), []byte("input\n"), 0o644))
	must(os.Symlink("..data/stdin", filepath.Join(src, "stdin")))
	must(os.Symlink("..data", filepath.Join(src, "linked-dir")))
	must(os.Mkdir(filepath.Join(src, "subdir"), 0o755))

	must(copyScripts(src, dst, filepath.Join(src, "stdin")))
	entries, err := os.ReadDir(dst)
	must(err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if !e.Type().IsRegular() {
			t.Errorf("%s is not a regular file", e.Name())
		}
	}
	if len(names) != 2 || names[0] != "main.py" || names[1] != "run.sh" {
		t.Fatalf("copied %v", names)
	}
	data, err := os.ReadFile(filepath.Join(dst, "main.py"))
	must(err)
	if string(data) != "print(1)\n" {
		t.Fatalf("main.py = %q", data)
	}
	info, err := os.Stat(filepath.Join(dst, "run.sh"))
	must(err)
	if info.Mode().Perm() != 0o755 {
		t.Fatalf("run.sh mode %v", info.Mode())
	}
}
