// Package chromium runs Debian's Chromium the way the shared machines need it: headless,
// without sandbox, GPU, QUIC or background traffic, and always in a fresh profile (two
// browsers sharing a profile, or one reusing a crashed one's, can crash at start).
package chromium

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// Path is Debian's chromium, which `make chromium` installs for the browser tests.
const Path = "/usr/bin/chromium"

// Flags are the flags every launch takes (Lighthouse and Playwright add their own profile).
var Flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
}

// DumpDOM loads url in a fresh profile under profileDir, lets its scripts run for
// budgetMillis of virtual time (so a loaded machine does not cut them short) and returns
// the serialised DOM. A browser killed by a signal at start is relaunched once in another
// fresh profile: its crash says nothing about the page.
func DumpDOM(ctx context.Context, profileDir, url string, budgetMillis int) (string, error) {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var profile string
		profile, err = os.MkdirTemp(profileDir, "chromium-")
		if err != nil {
			return "", err
		}
		args := append(append([]string{}, Flags...),
			"--user-data-dir="+profile,
			fmt.Sprintf("--virtual-time-budget=%d", budgetMillis),
			"--dump-dom", url)
		cmd := exec.CommandContext(ctx, Path, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err = cmd.Run(); err == nil {
			return stdout.String(), nil
		}
		err = fmt.Errorf("%s: %w: %s", Path, err, lastLines(stderr.String(), 5))
		if !killedBySignal(cmd) || ctx.Err() != nil {
			break
		}
	}
	return "", err
}

func killedBySignal(cmd *exec.Cmd) bool {
	if cmd.ProcessState == nil {
		return false
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
