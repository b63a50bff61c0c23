package main

import (
	"reflect"
	"strings"
	"testing"
)

var goodArgs = []string{
	"--script-dir", "/script", "--workdir", "/work", "--stdin", "/script/stdin",
	"--wall-seconds", "2.5", "--cpu-seconds", "1.5", "--max-output-bytes", "1000",
	"--max-file-bytes", "2000", "--termination-log", "/tmp/tl", "--", "python3", "main.py", "--", "-x",
}

func TestParseRunFlags(t *testing.T) {
	cfg, err := parseRunFlags(goodArgs)
	if err != nil {
		t.Fatal(err)
	}
	want := runConfig{
		scriptDir: "/script", workdir: "/work", stdinPath: "/script/stdin", terminationLog: "/tmp/tl",
		wallSeconds: 2.5, cpuSeconds: 1.5, maxOutputBytes: 1000, maxFileBytes: 2000,
		program: []string{"python3", "main.py", "--", "-x"},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got %+v\nwant %+v", cfg, want)
	}
}

func TestParseRunFlagsRejects(t *testing.T) {
	without := func(flag string) []string {
		var out []string
		for i := 0; i < len(goodArgs); i++ {
			if goodArgs[i] == flag {
				i++
				continue
			}
			out = append(out, goodArgs[i])
		}
		return out
	}
	replace := func(flag, value string) []string {
		out := append([]string(nil), goodArgs...)
		for i := range out {
			if out[i] == flag {
				out[i+1] = value
			}
		}
		return out
	}
	cases := map[string][]string{
		"missing --wall-seconds":        without("--wall-seconds"),
		"missing --cpu-seconds":         without("--cpu-seconds"),
		"missing --max-output-bytes":    without("--max-output-bytes"),
		"missing --max-file-bytes":      without("--max-file-bytes"),
		"missing --workdir":             without("--workdir"),
		"--wall-seconds must be":        replace("--wall-seconds", "0"),
		"--cpu-seconds must be":         replace("--cpu-seconds", "NaN"),
		"--max-output-bytes must be":    replace("--max-output-bytes", "1e3"),
		"--max-file-bytes must be":      replace("--max-file-bytes", "-1"),
		"missing program":               goodArgs[:len(goodArgs)-4],
		"flag provided but not defined": append([]string{"--bogus"}, goodArgs...),
		"put the program after --":      append(goodArgs[:len(goodArgs)-5:len(goodArgs)-5], "python3"),
	}
	for want, args := range cases {
		if _, err := parseRunFlags(args); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v, want it to mention %q", args, err, want)
		}
	}
}

func TestTerminationLogFromArgs(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, defaultTerminationLog},
		{[]string{"--bogus", "--termination-log", "/a"}, "/a"},
		{[]string{"-termination-log=/b", "--bogus"}, "/b"},
		{[]string{"--", "--termination-log", "/c"}, defaultTerminationLog},
	}
	for _, c := range cases {
		if got := terminationLogFromArgs(c.args); got != c.want {
			t.Errorf("%v: got %s, want %s", c.args, got, c.want)
		}
	}
}

func TestCPURlimitRoundsUpAndLeavesASecondForSIGXCPU(t *testing.T) {
	for seconds, want := range map[float64][2]uint64{0.2: {1, 2}, 1: {1, 2}, 1.01: {2, 3}, 30: {30, 31}} {
		if soft, hard := cpuRlimit(seconds); soft != want[0] || hard != want[1] {
			t.Errorf("cpuRlimit(%v) = %d, %d; want %v", seconds, soft, hard, want)
		}
	}
}

func TestChildArgsRoundTrip(t *testing.T) {
	limits := childLimits{cpuSoft: 2, cpuHard: 3, fileBytes: 1 << 20}
	program := []string{"bash", "-c", "echo --", "--"}
	args := childArgs(limits, program)
	if args[0] != childCommand {
		t.Fatalf("args = %v", args)
	}
	gotLimits, gotProgram, err := parseChildArgs(args[1:])
	if err != nil || gotLimits != limits || !reflect.DeepEqual(gotProgram, program) {
		t.Fatalf("parsed %+v %v %v", gotLimits, gotProgram, err)
	}
	if _, _, err := parseChildArgs([]string{"1", "2", "3", "--"}); err == nil {
		t.Fatal("accepted an empty program")
	}
}
