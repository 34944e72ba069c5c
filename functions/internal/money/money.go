// Package money computes the shop's amounts: prices, line amounts and totals, integers in
// minor units. Every result stays within 0..MaxAmount, or the computation says it does not:
// nothing wraps around, and no client is sent a number it cannot represent exactly.
package money

import "errors"

// MaxAmount is the largest amount: the largest integer a JSON number carries exactly in
// every client (2^53 - 1), so no shopper's browser rounds a price or a total.
const MaxAmount = 1<<53 - 1

// ErrOutOfRange says an amount would be negative or above MaxAmount.
var ErrOutOfRange = errors.New("amount outside 0..2^53-1")

// Line returns the amount of quantity units at price, or ErrOutOfRange.
func Line(price, quantity int64) (int64, error) {
	if price < 0 || price > MaxAmount || quantity < 0 {
		return 0, ErrOutOfRange
	}
	if quantity != 0 && price > MaxAmount/quantity {
		return 0, ErrOutOfRange
	}
	return price * quantity, nil
}

// Add returns the sum of two amounts, or ErrOutOfRange.
func Add(a, b int64) (int64, error) {
	if a < 0 || b < 0 || a > MaxAmount || b > MaxAmount-a {
		return 0, ErrOutOfRange
	}
	return a + b, nil
}

// Total adds amounts up line by line; the zero Total is 0. Once a line or the sum is out
// of range, the Total stays failed and Err says so.
type Total struct {
	sum int64
	err error
}

// AddLine adds the amount of quantity units at price.
func (t *Total) AddLine(price, quantity int64) {
	if t.err != nil {
		return
	}
	line, err := Line(price, quantity)
	if err == nil {
		line, err = Add(t.sum, line)
	}
	t.sum, t.err = line, err
}

// Sum returns the total so far, or ErrOutOfRange when a line or the sum was out of range.
func (t *Total) Sum() (int64, error) {
	if t.err != nil {
		return 0, t.err
	}
	return t.sum, nil
}
