package html

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromium finds Debian's chromium (or a Chrome). Without one the browser tests skip, except
// in CI (CI=true), where they fail: .ci/run installs the package.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH: CI must install the Debian package chromium (.ci/run does)")
	}
	t.Skip("no chromium on PATH: install the Debian package chromium to open the report in a real browser")
	return ""
}

// dumpDOM opens the file in headless Chromium, runs its scripts and returns the DOM.
func dumpDOM(t *testing.T, bin, file string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=5000", "--dump-dom", "file://"+file)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}

var (
	renderedRE = regexp.MustCompile(`<figure class="chart" id="([^"]+)" data-points="(\d+)" data-rendered="(\d+)">`)
	errorsRE   = regexp.MustCompile(`<html[^>]* data-errors="([^"]*)"`)
)

// The page opened in a real browser: every chart drew each of its data shapes with a size (the
// page's own check, via getBBox), and no script failed.
func TestReportRendersInChromium(t *testing.T) {
	bin := chromium(t)
	page, err := Render(fullResult(), Options{Title: "shop/shop-ltv"})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), File)
	if err := os.WriteFile(file, page, 0o644); err != nil {
		t.Fatal(err)
	}
	dom := dumpDOM(t, bin, file)
	if !strings.Contains(dom, `data-checked="true"`) {
		t.Fatalf("the page's render check did not run:\n%.2000s", dom)
	}
	if m := errorsRE.FindStringSubmatch(dom); m == nil || m[1] != "" {
		t.Errorf("script errors: %v", m)
	}
	seen := map[string]bool{}
	for _, m := range renderedRE.FindAllStringSubmatch(dom, -1) {
		points, _ := strconv.Atoi(m[2])
		rendered, _ := strconv.Atoi(m[3])
		seen[m[1]] = true
		if points != wantCharts[m[1]] || rendered != points {
			t.Errorf("chart %s: %d data shapes drawn of %d (want %d)", m[1], rendered, points, wantCharts[m[1]])
		}
	}
	for id := range wantCharts {
		if !seen[id] {
			t.Errorf("chart %s is not in the rendered page", id)
		}
	}
}

// The check can fail: a failing script is reported in data-errors.
func TestChromiumCheckSeesScriptErrors(t *testing.T) {
	bin := chromium(t)
	page, err := Render(fullResult(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(page), "</body>", "<script>notDefined();</script></body>", 1)
	file := filepath.Join(t.TempDir(), File)
	if err := os.WriteFile(file, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := dumpDOM(t, bin, file)
	if m := errorsRE.FindStringSubmatch(dom); m == nil || !strings.Contains(m[1], "notDefined") {
		t.Errorf("the script error was not recorded: %v", m)
	}
}
