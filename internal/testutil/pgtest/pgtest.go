// Package pgtest runs a real PostgreSQL server for tests: Debian's server binaries
// (/usr/lib/postgresql/<version>/bin, or $PGTEST_BINDIR) initialise a cluster in a temporary
// directory and serve it on a free loopback port, with the unix socket in that directory too.
//
// Tests that need a server call Shared (one server per test binary, started on first use) or New
// (a server of the test's own, for tests that stop and restart it). When the server cannot start,
// the test fails if the environment variable CI is set and is skipped otherwise, so that a laptop
// without PostgreSQL still runs everything else and CI never silently skips.
//
// initdb and postgres refuse to run as root: under euid 0 they run as the postgres system user
// (the one Debian's postgresql package creates), with the directory owned by it. The server gets
// a parent-death signal, so it stops when the test binary exits even without a TestMain calling
// Main; directories of such servers are removed by the next Start.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// SuperUser is the name of the cluster's superuser.
const SuperUser = "postgres"

// Server is a PostgreSQL server of the tests.
type Server struct {
	// Dir holds the data directory (Dir/data), the socket and the server log (Dir/server.log).
	Dir string
	// Port is the loopback TCP port.
	Port int
	// Password is the superuser's password (password authentication over TCP).
	Password string

	bindir string
	cred   *syscall.Credential
	// extraListen is one more address the server listens on, and extraCIDR the clients it lets in
	// there with a password (the e2e suite's pods on the node's bridge).
	extraListen, extraCIDR string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// Start initialises a cluster in a new temporary directory and starts the server on loopback.
func Start() (*Server, error) { return start("", "") }

// StartListening is Start with the server also listening on addr and accepting password logins
// from cidr there: for clients that are not on this machine's loopback, such as pods on a bridge.
func StartListening(addr, cidr string) (*Server, error) { return start(addr, cidr) }

func start(extraListen, extraCIDR string) (*Server, error) {
	bindir, err := findBindir()
	if err != nil {
		return nil, err
	}
	removeStale()
	s := &Server{bindir: bindir, Password: randomHex(12), extraListen: extraListen, extraCIDR: extraCIDR}
	if os.Geteuid() == 0 {
		s.cred, err = postgresCredential()
		if err != nil {
			return nil, err
		}
	}
	s.Dir, err = os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	if err := s.init(); err != nil {
		_ = os.RemoveAll(s.Dir)
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		s.Port, err = freePort()
		if err == nil {
			err = s.Resume()
		}
		if err == nil {
			return s, nil
		}
		if attempt == 2 || !strings.Contains(s.logTail(), "could not bind") {
			_ = s.Close()
			return nil, err
		}
	}
}

func (s *Server) init() error {
	if err := os.WriteFile(filepath.Join(s.Dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	pwfile := filepath.Join(s.Dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(s.Password+"\n"), 0o600); err != nil {
		return err
	}
	if s.cred != nil {
		if err := chownTree(s.Dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return err
		}
	}
	cmd := exec.Command(filepath.Join(s.bindir, "initdb"),
		"-D", filepath.Join(s.Dir, "data"), "-U", SuperUser, "--pwfile", pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	out, err := cmd.CombinedOutput()
	_ = os.Remove(pwfile)
	if err != nil {
		return fmt.Errorf("initdb: %v: %s", err, lastLines(string(out), 10))
	}
	if s.extraCIDR != "" {
		hba, err := os.OpenFile(filepath.Join(s.Dir, "data", "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(hba, "host all all %s scram-sha-256\n", s.extraCIDR)
		if cerr := hba.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return nil
}

// Resume starts the server (again, after Stop) on its port, and waits until it accepts
// connections.
func (s *Server) Resume() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(filepath.Join(s.Dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(s.bindir, "postgres"),
		"-D", filepath.Join(s.Dir, "data"),
		"-c", "listen_addresses="+s.listenAddresses(),
		"-c", "port="+strconv.Itoa(s.Port),
		"-c", "unix_socket_directories="+s.Dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=100", "-c", "shared_buffers=128MB",
		"-c", "logging_collector=off", "-c", "log_min_messages=warning",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	// SIGQUIT (immediate shutdown) when the test binary dies without stopping the server. Go
	// sets the parent-death signal after changing the credentials, so it survives the user
	// change; it follows the forking thread, so the fork happens on a thread that never exits.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	if err := startOnLockedThread(cmd); err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func(exited chan struct{}) {
		s.waitErr = cmd.Wait() // read only after exited is closed
		close(exited)
	}(s.exited)

	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			return nil
		}
		select {
		case <-s.exited:
			s.cmd = nil
			return fmt.Errorf("postgres exited: %v: %s", s.waitErr, lastLines(s.logTail(), 10))
		default:
		}
		if time.Now().After(deadline) {
			s.stopLocked()
			return fmt.Errorf("postgres did not accept connections within 60s: %v: %s", err, lastLines(s.logTail(), 10))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts the server down (fast shutdown: open connections are terminated) and keeps its
// data; Resume starts it again.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	exited := s.exited
	s.mu.Unlock()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Signal(syscall.SIGQUIT)
		<-exited
	}
	s.mu.Lock()
	s.cmd = nil
}

// Close stops the server and removes its directory.
func (s *Server) Close() error {
	s.Stop()
	return os.RemoveAll(s.Dir)
}

func (s *Server) listenAddresses() string {
	if s.extraListen != "" {
		return "127.0.0.1," + s.extraListen
	}
	return "127.0.0.1"
}

// DSNAt is DSN with another host: the address a client elsewhere reaches the server at.
func (s *Server) DSNAt(host, database string) string {
	u, _ := url.Parse(s.DSN(database))
	u.Host = net.JoinHostPort(host, strconv.Itoa(s.Port))
	return u.String()
}

// DSN is the superuser's connection URL for a database, over TCP with password authentication.
func (s *Server) DSN(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(SuperUser, s.Password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// CreateDatabase creates a database and returns its DSN.
func (s *Server) CreateDatabase(ctx context.Context, name string) (string, error) {
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	return s.DSN(name), nil
}

// Exec runs SQL statements in a database as the superuser.
func (s *Server) Exec(ctx context.Context, database string, sql ...string) error {
	conn, err := pgx.Connect(ctx, s.DSN(database))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, q := range sql {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// Log returns the server's log.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "server.log"))
	return string(b)
}

func (s *Server) logTail() string {
	l := s.Log()
	if len(l) > 4096 {
		l = l[len(l)-4096:]
	}
	return l
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
	dbCounter  struct {
		sync.Mutex
		n int
	}
)

// Shared returns the test binary's shared server, starting it on first use. It fails the test
// when the server cannot start and CI is set, and skips it otherwise.
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	if sharedErr != nil {
		Unavailable(t, sharedErr)
	}
	return shared
}

// NewDatabase creates a database of the test's own on the shared server and returns its DSN.
func NewDatabase(t testing.TB) string {
	t.Helper()
	s := Shared(t)
	dbCounter.Lock()
	dbCounter.n++
	n := dbCounter.n
	dbCounter.Unlock()
	name := fmt.Sprintf("t%d_%s", n, sanitizeName(t.Name()))
	dsn, err := s.CreateDatabase(context.Background(), name)
	if err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	return dsn
}

// New starts a server of the test's own, closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s, err := Start()
	if err != nil {
		Unavailable(t, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Unavailable fails the test when CI is set and skips it otherwise.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("PostgreSQL test server unavailable (CI is set, so this fails rather than skips): %v", err)
	}
	t.Skipf("PostgreSQL test server unavailable (install Debian's postgresql package; set CI to make this fatal): %v", err)
}

// Main runs the tests and then closes the shared server, if one was started. Use it as
// `func TestMain(m *testing.M) { pgtest.Main(m) }`.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		_ = shared.Close()
	}
	os.Exit(code)
}

func findBindir() (string, error) {
	if d := os.Getenv("PGTEST_BINDIR"); d != "" {
		return d, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		if p, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
		return "", errors.New("no initdb in /usr/lib/postgresql/*/bin or PATH (apt-get install postgresql, or set PGTEST_BINDIR)")
	}
	// the newest major version
	sort.Slice(matches, func(i, j int) bool { return majorOf(matches[i]) > majorOf(matches[j]) })
	return filepath.Dir(matches[0]), nil
}

func majorOf(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and initdb refuses root: no postgres system user to run it as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

func chownTree(dir string, uid, gid int) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// removeStale removes the directories of servers whose test binary is gone.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "pgtest-*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			if pm, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid")); err == nil {
				line, _, _ := strings.Cut(string(pm), "\n")
				if p, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && syscall.Kill(p, 0) == nil {
					continue // its server still runs
				}
			}
			_ = os.RemoveAll(d)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var spawn = struct {
	once sync.Once
	reqs chan spawnReq
}{}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

// startOnLockedThread starts cmd from an OS thread that lives as long as the process, so that
// the child's parent-death signal fires only when the process exits.
func startOnLockedThread(cmd *exec.Cmd) error {
	spawn.once.Do(func() {
		spawn.reqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives until the process exits
			for r := range spawn.reqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawn.reqs <- spawnReq{cmd, done}
	return <-done
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if len(out) > 40 {
		out = out[:40]
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
