package pulsekit_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// liveServer is a real `pulsekit serve` on a free 127.0.0.1 port with a fresh database, run from
// the repository's .venv (the project's scripts create it; a missing one fails, never skips).
type liveServer struct {
	URL     string
	python  string
	dataDir string
}

func startLiveServer(tb testing.TB, env ...string) *liveServer {
	tb.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		tb.Fatal(err)
	}
	python := filepath.Join(root, ".venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		tb.Fatalf("%s is missing: run scripts/test-sdk-go.sh (or python3 -m venv .venv && .venv/bin/pip install -e .) from the repository root", python)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := strconv.Itoa(listener.Addr().(*net.TCPAddr).Port)
	listener.Close()
	s := &liveServer{URL: "http://127.0.0.1:" + port, python: python, dataDir: tb.TempDir()}
	log, err := os.Create(filepath.Join(s.dataDir, "server.log"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(python, "-m", "pulsekit.cli", "serve", "--host", "127.0.0.1", "--port", port, "--data-dir", s.dataDir)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		log.Close()
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/api/v1/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(log.Name())
			tb.Fatalf("the server was not healthy after 60 s:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cli runs `pulsekit <args> --data-dir … --json` and decodes its answer.
func (s *liveServer) cli(tb testing.TB, args ...string) map[string]any {
	tb.Helper()
	cmd := exec.Command(s.python, append(append([]string{"-m", "pulsekit.cli"}, args...), "--data-dir", s.dataDir, "--json")...)
	// The CLI builds the DSN from the instance's public URL: tell it this server's.
	cmd.Env = append(os.Environ(), "PULSEKIT_BASE_URL="+s.URL)
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("pulsekit %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var answer map[string]any
	if err := json.Unmarshal(out, &answer); err != nil {
		tb.Fatalf("pulsekit %s printed %q", strings.Join(args, " "), out)
	}
	return answer
}

// newProject creates a project and a key with ingest and read; it returns the key and its DSN.
func (s *liveServer) newProject(tb testing.TB, name string) (key, dsn string) {
	tb.Helper()
	project := s.cli(tb, "project", "create", name)
	answer := s.cli(tb, "key", "create", "--project", project["slug"].(string), "--permissions", "ingest,read")
	return answer["key"].(string), answer["dsn"].(string)
}

// events reads every event of the key's project through GET /api/v1/events.
func (s *liveServer) events(tb testing.TB, key string) []map[string]any {
	tb.Helper()
	var all []map[string]any
	cursor := ""
	for page := 0; page < 100; page++ {
		url := s.URL + "/api/v1/events?limit=200"
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("X-PulseKit-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			tb.Fatal(err)
		}
		var body struct {
			Events     []map[string]any `json:"events"`
			NextCursor *string          `json:"next_cursor"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			tb.Fatalf("GET /api/v1/events: %d %v", resp.StatusCode, err)
		}
		all = append(all, body.Events...)
		if body.NextCursor == nil || *body.NextCursor == "" {
			return all
		}
		cursor = *body.NextCursor
	}
	tb.Fatal("more than 100 pages of events")
	return nil
}

// goRun runs a main package of this module with `go run` (offline: the module has no dependencies).
func goRun(t *testing.T, dir string, env ...string) string {
	t.Helper()
	cmd := exec.Command("go", "run", "-buildvcs=false", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"GOPROXY=off", "GOFLAGS=-mod=mod"}, env...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run in %s: %v\n%s", dir, err, out)
	}
	return string(out)
}

// The quickstart file, with a real DSN in place of __DSN__ and nothing else changed, delivers its
// events to a live server.
func TestQuickstartDeliversItsEventsToALiveServer(t *testing.T) {
	server := startLiveServer(t)
	key, dsn := server.newProject(t, "go quickstart")
	source, err := os.ReadFile(filepath.Join("quickstart", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(source), "__DSN__") != 1 {
		t.Fatal("quickstart/main.go must hold the placeholder __DSN__ once")
	}
	sdkDir, _ := filepath.Abs(".")
	dir := t.TempDir()
	goMod := fmt.Sprintf("module quickstartcheck\n\ngo 1.22\n\nrequire github.com/pulsekit/go v0.0.0\n\nreplace github.com/pulsekit/go => %s\n", sdkDir)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(goMod), 0o644); err != nil {
		t.Fatal(err)
	}
	main := strings.Replace(string(source), "__DSN__", dsn, 1)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	goRun(t, dir)
	byType := map[string]map[string]any{}
	for _, e := range server.events(t, key) {
		byType[e["type"].(string)] = e
	}
	if len(byType) != 3 {
		t.Fatalf("stored %v, want payment.success, message and error", byType)
	}
	paid := byType["payment.success"]
	if paid["message"] != "Order 1234 paid" || paid["tags"].(map[string]any)["provider"] != "stripe" || paid["environment"] != "production" || paid["release"] != "shop@2.4.1" {
		t.Errorf("payment event %v", paid)
	}
	if byType["message"]["level"] != "warning" {
		t.Errorf("message %v", byType["message"])
	}
	exc := byType["error"]["exception"].(map[string]any)
	if exc["type"] != "*fmt.wrapError" || exc["chain"].([]any)[0].(map[string]any)["value"] != "card declined" {
		t.Errorf("exception %v", exc)
	}
	if last := lastFrame(byType["error"]["stacktrace"]); last["function"] != "main" || last["in_app"] != true {
		t.Errorf("frames %v", frameFunctions(byType["error"]["stacktrace"]))
	}
}

func TestExampleRunsAgainstALiveServer(t *testing.T) {
	server := startLiveServer(t)
	key, dsn := server.newProject(t, "go example")
	out := goRun(t, "example", "PULSEKIT_DSN="+dsn)
	if !strings.Contains(out, "all events sent") {
		t.Errorf("example printed:\n%s", out)
	}
	kinds := map[string]bool{}
	for _, e := range server.events(t, key) {
		kinds[fmt.Sprint(e["type"], " ", e["message"])] = true
	}
	for _, want := range []string{"order.placed Order placed", "error checkout failed", "error runtime error: invalid memory address or nil pointer dereference", "message nightly export finished"} {
		if !kinds[want] {
			t.Errorf("no stored event %q among %v", want, kinds)
		}
	}
}
