package catalog

import (
	"strings"
	"testing"
)

func TestDraftProblems(t *testing.T) {
	ok := Draft{Name: "Lamp", Category: "home-2", Price: 0, Currency: "EUR", Stock: 0}
	if p := ok.Problems(); len(p) != 0 {
		t.Fatalf("valid draft refused: %v", p)
	}
	for name, change := range map[string]func(*Draft){
		"name empty":        func(d *Draft) { d.Name = "" },
		"name of 201":       func(d *Draft) { d.Name = strings.Repeat("é", 201) },
		"description 5001":  func(d *Draft) { d.Description = strings.Repeat("x", 5001) },
		"category":          func(d *Draft) { d.Category = "Home" },
		"negative price":    func(d *Draft) { d.Price = -1 },
		"price over 2^53-1": func(d *Draft) { d.Price = MaxAmount + 1 },
		"negative stock":    func(d *Draft) { d.Stock = -1 },
		"currency case":     func(d *Draft) { d.Currency = "eur" },
		"currency unknown":  func(d *Draft) { d.Currency = "ABC" },
		"currency none":     func(d *Draft) { d.Currency = "XXX" },
	} {
		d := ok
		change(&d)
		if p := d.Problems(); len(p) != 1 {
			t.Errorf("%s: problems %v, want exactly one", name, p)
		}
	}
}

func TestValidCurrency(t *testing.T) {
	for _, c := range []string{"USD", "EUR", "JPY", "GBP", "CHF", "INR", "BRL"} {
		if !ValidCurrency(c) {
			t.Errorf("%s refused", c)
		}
	}
	for _, c := range []string{"", "usd", "Usd", "US", "USDD", "ABC", "XXX", "DEM", "U$D"} {
		if ValidCurrency(c) {
			t.Errorf("%q accepted", c)
		}
	}
}
