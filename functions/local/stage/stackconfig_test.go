package stage

import (
	"testing"
	"time"

	"github.com/shop-serverless/shop/functions/manifest"
)

// make dev and the benchmarks apply the dev stack file's limits, not defaults of their own.
func TestStackLimitsAreDevStacks(t *testing.T) {
	rates, limits, err := StackLimits()
	if err != nil {
		t.Fatal(err)
	}
	if rates.Window != time.Minute || rates.PerAddress != 1000 || rates.OrdersPerAddress != 100 {
		t.Errorf("edge rates %+v, want dev's 1000 / 100 per 60 s", rates)
	}
	if l := limits["checkout"]; l.PerMinute != 10 || l.Burst != 5 {
		t.Errorf("checkout limit %+v, want dev's 10/min, burst 5", l)
	}
	if len(limits) != len(manifest.DefaultUserLimits) {
		t.Errorf("limits %v, want every one of %v", limits, manifest.LimitNames())
	}
}
