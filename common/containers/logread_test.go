//go:build !windows

package containers

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestLogPrinterPrint(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	line := func(stream, text string) []byte {
		b, _ := json.Marshal(LogEntry{Log: text, Stream: stream, Time: at})
		return append(b, '\n')
	}
	var out, errOut bytes.Buffer
	p := &LogPrinter{Stdout: &out, Stderr: &errOut, Timestamps: true, Prefix: "web-1  | "}
	p.Print(line("stdout", "hello\n"))
	p.Print(line("stderr", "oops\n"))
	p.Print([]byte("not json\n"))
	if want := "web-1  | 2024-05-01T12:00:00Z hello\n"; out.String() != want {
		t.Errorf("stdout = %q, want %q", out.String(), want)
	}
	if want := "web-1  | 2024-05-01T12:00:00Z oops\n"; errOut.String() != want {
		t.Errorf("stderr = %q, want %q", errOut.String(), want)
	}

	// Since and Until are both inclusive.
	out.Reset()
	p = &LogPrinter{Stdout: &out, Stderr: &out, Since: at, Until: at}
	p.Print(line("stdout", "edge\n"))
	p = &LogPrinter{Stdout: &out, Stderr: &out, Since: at.Add(time.Nanosecond)}
	p.Print(line("stdout", "before\n"))
	if out.String() != "edge\n" {
		t.Errorf("filtered output = %q, want only the entry at the bounds", out.String())
	}
}
