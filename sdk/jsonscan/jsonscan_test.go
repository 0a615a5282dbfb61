package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

const doc = `{
  "id": 42, "esc\"aped": "x",
  "customer": {"id": "c-7", "tags": ["a", "b]"], "name": "A \"quoted\" \u00e9"},
  "items": [{"sku": "s1"}, {"sku": "s2", "n": [1, [2]]}, 3],
  "ok": true, "none": null, "empty": {}, "list": []
}`

func TestGet(t *testing.T) {
	cases := []struct {
		path []string
		want string
		ok   bool
	}{
		{[]string{"id"}, "42", true},
		{[]string{"esc\"aped"}, `"x"`, true},
		{[]string{"customer", "id"}, `"c-7"`, true},
		{[]string{"customer", "tags"}, `["a", "b]"]`, true},
		{[]string{"items"}, `[{"sku": "s1"}, {"sku": "s2", "n": [1, [2]]}, 3]`, true},
		{[]string{"ok"}, "true", true},
		{[]string{"none"}, "null", true},
		{[]string{"list"}, "[]", true},
		{[]string{"missing"}, "", false},
		{[]string{"id", "x"}, "", false},
		{[]string{"empty", "x"}, "", false},
	}
	for _, c := range cases {
		got, ok := Get([]byte(doc), c.path...)
		if ok != c.ok || string(got) != c.want {
			t.Errorf("Get(%q) = %q, %v; want %q, %v", c.path, got, ok, c.want, c.ok)
		}
	}
}

func TestText(t *testing.T) {
	raw, _ := Get([]byte(doc), "customer", "name")
	var want string
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if got := string(Text(raw)); got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	if !Equal([]byte(`42`), "42") || !Equal([]byte(`"c-7"`), "c-7") || Equal([]byte(`"c-7"`), `"c-7"`) {
		t.Error("Equal")
	}
	if got, _ := Unquote([]byte(`"\ud83d\ude00"`)); string(got) != "😀" {
		t.Errorf("surrogate pair = %q", got)
	}
}

func TestEach(t *testing.T) {
	items, _ := Get([]byte(doc), "items")
	var got []string
	if !Each(items, func(e []byte) bool { got = append(got, string(e)); return true }) {
		t.Fatal("Each failed")
	}
	want := []string{`{"sku": "s1"}`, `{"sku": "s2", "n": [1, [2]]}`, `3`}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("elements = %q", got)
	}
	if !Each([]byte(" [ ] "), func([]byte) bool { t.Error("element in empty array"); return true }) {
		t.Error("empty array")
	}
	for _, bad := range []string{`{}`, `[1,`, `[1 2]`, `["x]`} {
		if Each([]byte(bad), func([]byte) bool { return true }) {
			t.Errorf("Each(%s) reported well-formed", bad)
		}
	}
}

func TestSet(t *testing.T) {
	out, ok := Set([]byte(`{"a":1,"b":{"email":"x@y","n":2}}`), []byte(`"***"`), "b", "email")
	if !ok || string(out) != `{"a":1,"b":{"email":"***","n":2}}` {
		t.Fatalf("Set = %s %v", out, ok)
	}
	if _, ok := Set([]byte(`{"a":1}`), []byte(`0`), "z"); ok {
		t.Error("Set of a missing path reported ok")
	}
}

func TestMalformed(t *testing.T) {
	for _, bad := range []string{``, `{`, `{"a"`, `{"a":}`, `{"a" 1}`, `{"a":"x`, `[`, `{"b":1 "a":2}`} {
		if v, ok := Get([]byte(bad), "a"); ok {
			t.Errorf("Get(%q) = %q, ok", bad, v)
		}
	}
}

func FuzzGet(f *testing.F) {
	f.Add([]byte(doc), "customer")
	f.Fuzz(func(t *testing.T, b []byte, key string) {
		v, ok := Get(b, key)
		if ok && len(v) == 0 {
			t.Fatal("ok with empty value")
		}
		Each(b, func([]byte) bool { return true })
	})
}

func BenchmarkGetSecondField(b *testing.B) {
	d := []byte(`{"order_id":"o-1","customer_id":"c-123","items":[{"sku":"a","qty":1}],"note":"` +
		string(make([]byte, 0, 10)) + `"}`)
	for b.Loop() {
		if _, ok := Get(d, "customer_id"); !ok {
			b.Fatal("missing")
		}
	}
}

// Strings with quotes and backslashes at every position around the 8-byte
// steps of stringEnd, checked against encoding/json.
func TestEscapesAtEveryOffset(t *testing.T) {
	for n := range 20 {
		for _, special := range []string{`"`, `\`, `\"`, `"\`, "\n", "é"} {
			for pos := 0; pos <= n; pos++ {
				s := strings.Repeat("x", pos) + special + strings.Repeat("y", n-pos)
				doc, _ := json.Marshal(map[string]any{"a": s, "b": 1, s: 2})
				if v, ok := Get(doc, "b"); !ok || string(v) != "1" {
					t.Fatalf("%s: b = %q %v", doc, v, ok)
				}
				if v, ok := Get(doc, "a"); !ok || string(Text(v)) != s {
					t.Fatalf("%s: a = %q %v, want %q", doc, Text(v), ok, s)
				}
				if v, ok := Get(doc, s); !ok || string(v) != "2" {
					t.Fatalf("%s: key %q = %q %v", doc, s, v, ok)
				}
			}
		}
	}
}
