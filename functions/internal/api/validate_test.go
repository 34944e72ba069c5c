package api

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckText(t *testing.T) {
	name := TextRule{Min: 1, Max: 5}
	body := TextRule{Max: 5, Multiline: true}
	for _, tc := range []struct {
		s    string
		rule TextRule
		ok   bool
	}{
		{"a", name, true},
		{"ééééé", name, true}, // 5 characters, 10 bytes
		{"éééééé", name, false},
		{"", name, false},
		{"  ", name, false},
		{"a\nb", name, false},
		{"a\x00", name, false},
		{"", body, true},
		{"a\nb\tc", body, true},
		{"a\x1bb", body, false},
		{"abcdef", body, false},
	} {
		if got := CheckText("f", tc.s, tc.rule) == ""; got != tc.ok {
			t.Errorf("%q under %+v: ok %v, want %v", tc.s, tc.rule, got, tc.ok)
		}
	}
}

func TestProblems(t *testing.T) {
	var p Problems
	p.Add("")
	if p.Err() != nil {
		t.Fatal("no problems, still an error")
	}
	p.Add("name is required")
	p.Addf("price must be from %d", 0)
	err := p.Err()
	if StatusOf(err) != 400 || !strings.Contains(err.Error(), "name is required; price must be from 0") {
		t.Errorf("err %v", err)
	}
}

func TestStatusOf(t *testing.T) {
	for err, want := range map[error]int{
		Invalid("x"): 400, ErrForbidden: 403, ErrNotFound: 404, UnsupportedMediaType("x"): 415,
		TooLarge("x"): 413, errors.New("boom"): 500,
	} {
		if got := StatusOf(err); got != want {
			t.Errorf("%v: %d, want %d", err, got, want)
		}
	}
}
