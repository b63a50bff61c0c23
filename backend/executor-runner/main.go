// Command integr8scode-runner wraps a user's program inside an execution pod: it applies limits,
// frames the program's stdout and stderr into one log stream (the pod log) and writes a
// termination record. See README.md for the protocol.
package main

import (
	"fmt"
	"os"
)

const usage = `usage:
  integr8scode-runner install <dest>
  integr8scode-runner run --workdir DIR --wall-seconds N --cpu-seconds N --max-output-bytes N
                          --max-file-bytes N [--script-dir DIR] [--stdin FILE]
                          [--termination-log FILE] -- <program> [args...]`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "install":
		os.Exit(installMain(os.Args[2:]))
	case "run":
		os.Exit(runMain(os.Args[2:]))
	case childCommand:
		os.Exit(childMain(os.Args[2:]))
	default:
		fmt.Fprintf(os.Stderr, "integr8scode-runner: unknown command %q\n%s\n", os.Args[1], usage)
		os.Exit(2)
	}
}
