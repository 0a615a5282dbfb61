package client

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
)

func TestEveryCodeMapsToANamedError(t *testing.T) {
	for _, code := range wire.Codes() {
		body := fmt.Sprintf(`{"error":{"code":%q,"message":"m"}}`, code)
		err := fmt.Errorf("wrapped: %w", decodeError("GET", "/x", code.HTTPStatus(), []byte(body)))
		sentinel, ok := codeErrors[code]
		if !ok {
			t.Errorf("code %s has no named error", code)
			continue
		}
		if !errors.Is(err, sentinel) {
			t.Errorf("code %s: errors.Is(%v) false", code, sentinel)
		}
		if code != wire.CodeUnknownTopic && errors.Is(err, ErrUnknownTopic) {
			t.Errorf("code %s matches ErrUnknownTopic", code)
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != code || ae.Status != code.HTTPStatus() {
			t.Errorf("code %s: As gives %+v", code, ae)
		}
	}
}

func TestDecodeErrorDetailsAndNonJSON(t *testing.T) {
	err := decodeError("GET", "/f", 416, []byte(`{"error":{"code":"offset_out_of_range","message":"below start","details":{"log_start":10,"log_end":20}}}`))
	var ae *APIError
	if !errors.As(err, &ae) || *ae.Details.LogStart != 10 || *ae.Details.LogEnd != 20 {
		t.Fatalf("details lost: %+v", err)
	}
	if err.Error() != "below start" {
		t.Errorf("message = %q", err.Error())
	}
	err = decodeError("GET", "/f", 502, []byte("<html>bad gateway</html>"))
	if !errors.Is(err, ErrInternal) {
		t.Errorf("502 html: %v", err)
	}
	if err := decodeError("GET", "/f", 404, []byte("404 page not found")); !errors.Is(err, ErrNotFound) {
		t.Errorf("404 text: %v", err)
	}
}

func TestParsePosition(t *testing.T) {
	ts := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want Position
		bad  bool
	}{
		{"earliest", Earliest, false},
		{"latest", Latest, false},
		{"42", AtOffset(42), false},
		{"@1764064800000", AtTimestamp(1764064800000), false},
		{"@2026-11-25T10:00:00Z", AtTime(ts), false},
		{"-1", Position{}, true},
		{"@yesterday", Position{}, true},
		{"soon", Position{}, true},
	}
	for _, c := range cases {
		got, err := ParsePosition(c.in)
		if (err != nil) != c.bad || (!c.bad && got != c.want) {
			t.Errorf("%q -> %v, %v", c.in, got, err)
		}
		if !c.bad && c.in[0] != '@' {
			if got.String() != c.in {
				t.Errorf("%q formats as %q", c.in, got.String())
			}
		}
	}
}

func TestNewAddr(t *testing.T) {
	for in, want := range map[string]string{
		"":                        DefaultAddr,
		"localhost:9000":          "http://localhost:9000",
		"https://sluice.example/": "https://sluice.example",
	} {
		c, err := New(in)
		if err != nil || c.Addr() != want {
			t.Errorf("New(%q) = %v, %v; want %s", in, c.Addr(), err, want)
		}
	}
	for _, bad := range []string{"ftp://x", "http://"} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	if _, err := ParseAcks("2"); err == nil {
		t.Error("acks 2 accepted")
	}
	if a, _ := ParseAcks("-1"); a != AcksAll {
		t.Error("acks -1 is not all")
	}
}
