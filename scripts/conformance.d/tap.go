// Package tap writes the Test Anything Protocol (version 13), with the API
// the runtime-tools validation suite calls (github.com/mndrix/tap-go, which
// Debian does not package). corebox's own code: scripts/conformance builds
// it into the suite's GOPATH as github.com/mndrix/tap-go.
package tap

import (
	"fmt"
	"io"
	"os"
	"strings"

	yaml "gopkg.in/yaml.v3"
)

// T writes one TAP stream.
type T struct {
	next   int
	todo   bool
	Writer io.Writer
}

// New returns a stream on standard output, numbering from 1.
func New() *T { return &T{next: 1} }

func (t *T) w() io.Writer {
	if t.Writer == nil {
		return os.Stdout
	}
	return t.Writer
}

func (t *T) printf(format string, a ...interface{}) { fmt.Fprintf(t.w(), format, a...) }

// Header prints the version line and, for a known count, the plan.
func (t *T) Header(count int) {
	t.printf("TAP version 13\n")
	if count > 0 {
		t.printf("1..%d\n", count)
	}
}

// Ok prints one test point.
func (t *T) Ok(ok bool, description string) {
	status := "ok"
	if !ok {
		status = "not ok"
	}
	directive := ""
	if t.todo {
		directive = " # TODO"
	}
	t.printf("%s %d - %s%s\n", status, t.next, oneLine(description), directive)
	t.next++
}

// Fail prints a failing test point.
func (t *T) Fail(description string) { t.Ok(false, description) }

// Pass prints a passing test point.
func (t *T) Pass(description string) { t.Ok(true, description) }

// Check is not supported here (it needs testing/quick); it fails visibly.
func (t *T) Check(function interface{}, description string) {
	t.Ok(false, description+" (tap.Check is not supported by this shim)")
}

// Count is the number of test points printed so far.
func (t *T) Count() int { return t.next - 1 }

// AutoPlan prints the plan for the points printed so far.
func (t *T) AutoPlan() { t.printf("1..%d\n", t.Count()) }

// Todo returns a stream whose points are marked TODO.
func (t *T) Todo() *T { return &T{next: t.next, todo: true, Writer: t.Writer} }

// Skip prints count skipped test points.
func (t *T) Skip(count int, description string) {
	for i := 0; i < count; i++ {
		t.printf("ok %d # SKIP %s\n", t.next, oneLine(description))
		t.next++
	}
}

// Diagnostic prints a comment, one "# " line per line of message.
func (t *T) Diagnostic(message string) {
	t.printf("# %s\n", strings.ReplaceAll(strings.TrimRight(message, "\n"), "\n", "\n# "))
}

// Diagnosticf is Diagnostic with a format.
func (t *T) Diagnosticf(format string, a ...interface{}) { t.Diagnostic(fmt.Sprintf(format, a...)) }

// YAML prints a YAML block attached to the last test point.
func (t *T) YAML(message interface{}) error {
	out, err := yaml.Marshal(message)
	if err != nil {
		return err
	}
	t.printf("  ---\n")
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		t.printf("  %s\n", line)
	}
	t.printf("  ...\n")
	return nil
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
