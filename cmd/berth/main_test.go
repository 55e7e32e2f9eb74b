package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorInJSONLog checks what conmon and the containerd shim rely on: a
// failing command's error is the last line of the --log file, as JSON with
// level "error" and the message in msg (they show users that line).
func TestErrorInJSONLog(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log.json")
	code := run([]string{"berth", "--root", dir, "--log", log, "--log-format", "json", "state", "no-such-ctr"})
	if code != 1 {
		t.Fatalf("state of a missing container: exit status %d, want 1", code)
	}
	f, err := os.Open(log)
	if err != nil {
		t.Fatalf("open the log: %v", err)
	}
	defer f.Close()
	var last string
	for s := bufio.NewScanner(f); s.Scan(); {
		last = s.Text()
	}
	var line struct{ Level, Msg string }
	if err := json.Unmarshal([]byte(last), &line); err != nil {
		t.Fatalf("last log line %q is not JSON: %v", last, err)
	}
	if line.Level != "error" || !strings.Contains(line.Msg, "no-such-ctr") || !strings.Contains(line.Msg, "does not exist") {
		t.Errorf("last log line %q: want level error and a message naming the missing container", last)
	}
}

// TestForceDeleteMissing checks that `delete --force` of a container that
// does not exist succeeds: Docker deletes every container twice.
func TestForceDeleteMissing(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log.json")
	if code := run([]string{"berth", "--root", dir, "--log", log, "--log-format", "json", "delete", "--force", "no-such-ctr"}); code != 0 {
		t.Fatalf("delete --force of a missing container: exit status %d, want 0", code)
	}
	if code := run([]string{"berth", "--root", dir, "--log", log, "delete", "no-such-ctr"}); code != 1 {
		t.Errorf("delete (no --force) of a missing container: exit status %d, want 1", code)
	}
}
