package harness

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// PGCluster is a throwaway PostgreSQL cluster of our own (initdb + pg_ctl in
// a temporary folder, on its own port), so that a drill can stop it without
// touching the shared server on 5432.
type PGCluster struct {
	Dir  string
	Port int
	bin  string
	as   string // run the tools as this user ("" = ourselves)
}

// PGBinDir finds the folder of initdb and pg_ctl (newest version first).
func PGBinDir() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	sort.Sort(sort.Reverse(sort.StringSlice(matches)))
	for _, m := range matches {
		if _, err := os.Stat(filepath.Join(filepath.Dir(m), "initdb")); err == nil {
			return filepath.Dir(m), nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin")
}

// NewPGCluster creates a cluster in a new temporary folder (initdb, trust
// authentication, fsync off) without starting it. As root, the tools run as
// the postgres user, which initdb requires.
func NewPGCluster() (*PGCluster, error) {
	bin, err := PGBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "agora-pg-")
	if err != nil {
		return nil, err
	}
	c := &PGCluster{Dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs a postgres user for initdb: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		c.as = "postgres"
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	c.Port, _ = strconv.Atoi(port)
	if out, err := c.tool("initdb", "-D", c.dataDir(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return c, nil
}

func (c *PGCluster) dataDir() string { return filepath.Join(c.Dir, "data") }

func (c *PGCluster) tool(name string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.as != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.as, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.Dir
	return cmd.CombinedOutput()
}

// URL is a database URL for Agora (the cluster's postgres database).
func (c *PGCluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.Port)
}

// Start starts the server and waits until it accepts connections.
func (c *PGCluster) Start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", c.Port, c.Dir)
	out, err := c.tool("pg_ctl", "-D", c.dataDir(), "-l", filepath.Join(c.Dir, "server.log"), "-o", opts, "-w", "-t", "30", "start")
	if err != nil {
		return fmt.Errorf("pg_ctl start: %v\n%s", err, out)
	}
	return nil
}

// Stop stops the server; mode is "fast" (disconnect clients, clean
// shutdown) or "immediate" (like a crash).
func (c *PGCluster) Stop(mode string) error {
	out, err := c.tool("pg_ctl", "-D", c.dataDir(), "-m", mode, "-w", "-t", "30", "stop")
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}

// Destroy stops the server if it runs and removes its folder.
func (c *PGCluster) Destroy() {
	_, _ = c.tool("pg_ctl", "-D", c.dataDir(), "-m", "immediate", "-w", "-t", "10", "stop")
	for range 10 {
		if os.RemoveAll(c.Dir) == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
