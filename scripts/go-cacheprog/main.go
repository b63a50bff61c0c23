// go-cacheprog is the GOCACHEPROG (Go >= 1.24) of the local sandbox executor: `go run` inside a
// sandbox gets its build cache hits from a read-only seed (a plain GOCACHE directory built once per
// Go version on the host) and writes its misses to a per-run directory in the sandbox's tmpfs, so
// nothing is copied per run and no run's build products reach another run.
//
// Usage: go-cacheprog -seed DIR -dir DIR. Built by scripts/build-go-cacheprog.sh; standard
// library only. Protocol: cmd/go/internal/cacheprog.
package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

type request struct {
	ID       int64
	Command  string
	ActionID []byte `json:",omitempty"`
	OutputID []byte `json:",omitempty"`
	BodySize int64  `json:",omitempty"`
}

type response struct {
	ID            int64
	Err           string     `json:",omitempty"`
	KnownCommands []string   `json:",omitempty"`
	Miss          bool       `json:",omitempty"`
	OutputID      []byte     `json:",omitempty"`
	Size          int64      `json:",omitempty"`
	Time          *time.Time `json:",omitempty"`
	DiskPath      string     `json:",omitempty"`
}

type entry struct {
	outputID []byte
	size     int64
	time     time.Time
	path     string
}

type cache struct {
	seed string
	dir  string
	// This run's puts; the seed is read on demand.
	puts map[string]entry
}

func main() {
	seed := flag.String("seed", "", "read-only GOCACHE directory holding the seeded entries")
	dir := flag.String("dir", "", "writable directory for this run's entries")
	flag.Parse()
	if *dir == "" || !filepath.IsAbs(*dir) || (*seed != "" && !filepath.IsAbs(*seed)) {
		fmt.Fprintln(os.Stderr, "go-cacheprog: usage: go-cacheprog [-seed ABSDIR] -dir ABSDIR")
		os.Exit(2)
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "go-cacheprog:", err)
		os.Exit(1)
	}
	c := &cache{seed: *seed, dir: *dir, puts: map[string]entry{}}
	if err := c.serve(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "go-cacheprog:", err)
		os.Exit(1)
	}
}

func (c *cache) serve(in io.Reader, out io.Writer) error {
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	send := func(r response) error {
		if err := enc.Encode(r); err != nil {
			return err
		}
		return w.Flush()
	}
	if err := send(response{KnownCommands: []string{"get", "put", "close"}}); err != nil {
		return err
	}
	dec := json.NewDecoder(bufio.NewReaderSize(in, 64*1024))
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading a request: %w", err)
		}
		var res response
		switch req.Command {
		case "get":
			res = c.get(req)
		case "put":
			var body []byte
			if req.BodySize > 0 {
				// The body follows as a JSON string of base64, which decodes into []byte.
				if err := dec.Decode(&body); err != nil {
					return fmt.Errorf("reading the body of request %d: %w", req.ID, err)
				}
			}
			res = c.put(req, body)
		case "close":
			return send(response{ID: req.ID})
		default:
			res = response{ID: req.ID, Err: "unknown command " + strconv.Quote(req.Command)}
		}
		if err := send(res); err != nil {
			return err
		}
	}
}

func (c *cache) get(req request) response {
	key := hex.EncodeToString(req.ActionID)
	e, ok := c.puts[key]
	if !ok && c.seed != "" {
		e, ok = c.seeded(key)
	}
	if !ok {
		return response{ID: req.ID, Miss: true}
	}
	t := e.time
	return response{ID: req.ID, OutputID: e.outputID, Size: e.size, Time: &t, DiskPath: e.path}
}

func (c *cache) put(req request, body []byte) response {
	if int64(len(body)) != req.BodySize {
		return response{ID: req.ID, Err: fmt.Sprintf("body of %d bytes, expected %d", len(body), req.BodySize)}
	}
	out := hex.EncodeToString(req.OutputID)
	if len(req.ActionID) == 0 || len(req.OutputID) == 0 {
		return response{ID: req.ID, Err: "put without ActionID or OutputID"}
	}
	path := filepath.Join(c.dir, out+"-d")
	tmp, err := os.CreateTemp(c.dir, "put-")
	if err == nil {
		_, err = tmp.Write(body)
		if closeErr := tmp.Close(); err == nil {
			err = closeErr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), path)
		}
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}
	if err != nil {
		return response{ID: req.ID, Err: err.Error()}
	}
	c.puts[hex.EncodeToString(req.ActionID)] = entry{
		outputID: bytes.Clone(req.OutputID),
		size:     req.BodySize,
		time:     time.Now(),
		path:     path,
	}
	return response{ID: req.ID, DiskPath: path}
}

// seeded reads an entry of the seed, a directory in the go command's own disk cache layout:
// <aa>/<action>-a holds "v1 <action> <output> <size> <unixnano>\n" and <oo>/<output>-d the body.
func (c *cache) seeded(action string) (entry, bool) {
	if len(action) < 2 {
		return entry{}, false
	}
	raw, err := os.ReadFile(filepath.Join(c.seed, action[:2], action+"-a"))
	if err != nil {
		return entry{}, false
	}
	var id, out string
	var size, nanos int64
	if n, err := fmt.Sscanf(string(raw), "v1 %s %s %d %d\n", &id, &out, &size, &nanos); err != nil || n != 4 {
		return entry{}, false
	}
	outputID, err := hex.DecodeString(out)
	if id != action || err != nil || len(out) < 2 || size < 0 {
		return entry{}, false
	}
	path := filepath.Join(c.seed, out[:2], out+"-d")
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() || info.Size() != size {
		return entry{}, false
	}
	return entry{outputID: outputID, size: size, time: time.Unix(0, nanos), path: path}, true
}
