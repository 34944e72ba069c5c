package money

import (
	"errors"
	"math"
	"testing"
)

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		name            string
		price, quantity int64
		want            int64
		ok              bool
	}{
		{"plain", 1999, 3, 5997, true},
		{"zero quantity", MaxAmount, 0, 0, true},
		{"free", 0, 100, 0, true},
		{"largest price once", MaxAmount, 1, MaxAmount, true},
		{"exactly the largest amount", MaxAmount / 100, 100, MaxAmount / 100 * 100, true},
		{"largest price twice", MaxAmount, 2, 0, false},
		{"just above", MaxAmount/100 + 1, 100, 0, false},
		{"would wrap int64", MaxAmount, 100, 0, false},
		{"price above the largest", MaxAmount + 1, 1, 0, false},
		{"int64 limits", math.MaxInt64, math.MaxInt64, 0, false},
		{"negative price", -1, 1, 0, false},
		{"negative quantity", 1, -1, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Line(tc.price, tc.quantity)
			if tc.ok != (err == nil) || got != tc.want {
				t.Fatalf("Line(%d, %d) = %d, %v; want %d, ok %v", tc.price, tc.quantity, got, err, tc.want, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrOutOfRange) {
				t.Fatalf("error %v, want ErrOutOfRange", err)
			}
		})
	}
}

func TestAdd(t *testing.T) {
	for _, tc := range []struct {
		a, b, want int64
		ok         bool
	}{
		{1, 2, 3, true},
		{MaxAmount - 1, 1, MaxAmount, true},
		{MaxAmount, 1, 0, false},
		{MaxAmount, MaxAmount, 0, false},
		{math.MaxInt64, 1, 0, false},
		{-1, 5, 0, false},
		{5, -1, 0, false},
	} {
		got, err := Add(tc.a, tc.b)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("Add(%d, %d) = %d, %v; want %d, ok %v", tc.a, tc.b, got, err, tc.want, tc.ok)
		}
	}
}

// Eleven lines of the largest price at quantity 100 once wrapped int64 to a negative total.
func TestTotalNeverWraps(t *testing.T) {
	var total Total
	for range 11 {
		total.AddLine(MaxAmount, 100)
	}
	if sum, err := total.Sum(); !errors.Is(err, ErrOutOfRange) || sum != 0 {
		t.Fatalf("Sum() = %d, %v; want ErrOutOfRange", sum, err)
	}

	var ok Total
	ok.AddLine(MaxAmount-10, 1)
	ok.AddLine(5, 2)
	if sum, err := ok.Sum(); err != nil || sum != MaxAmount {
		t.Fatalf("Sum() = %d, %v; want %d", sum, err, int64(MaxAmount))
	}
	ok.AddLine(1, 1)
	ok.AddLine(0, 1) // a failed Total stays failed
	if _, err := ok.Sum(); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Sum() after exceeding: %v, want ErrOutOfRange", err)
	}
}
