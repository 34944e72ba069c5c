package api

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// randomSpellings are strings of 0..n bytes over alphabet, for comparing a validator with
// the regular expression it stands for.
func randomSpellings(n int, alphabet string) []string {
	r := rand.New(rand.NewPCG(1, 2))
	out := []string{""}
	for range 5000 {
		var b strings.Builder
		for range r.IntN(n + 1) {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		out = append(out, b.String())
	}
	return out
}

// edge is a set of characters either side of every range the validators allow.
const edge = "AZaz09_-/@[`{:.é\x00 Gm5"

func TestValidIDIsItsPattern(t *testing.T) {
	pattern := regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	cases := append(randomSpellings(70, edge), strings.Repeat("a", 64), strings.Repeat("a", 65), "é", "a\n")
	for _, s := range cases {
		if got, want := ValidID(s), pattern.MatchString(s); got != want {
			t.Errorf("ValidID(%q) = %v, the pattern says %v", s, got, want)
		}
	}
}
