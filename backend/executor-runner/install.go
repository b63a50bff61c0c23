package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// installMain copies this executable to dest. An init container runs it from the runner image
// to put the runner into a shared emptyDir, because runtime images do not contain it.
func installMain(args []string) int {
	if len(args) != 1 || args[0] == "" {
		fmt.Fprintln(os.Stderr, "usage: integr8scode-runner install <dest>")
		return 2
	}
	if err := install("/proc/self/exe", args[0]); err != nil {
		fmt.Fprintf(os.Stderr, "integr8scode-runner install: %v\n", err)
		return 1
	}
	return 0
}

// install writes src to a temporary file next to dest and renames it into place, so a
// reader never sees a partial executable.
func install(src, dest string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".integr8scode-runner-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, in); err != nil {
		return err
	}
	if err = tmp.Chmod(0o755); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dest)
}
