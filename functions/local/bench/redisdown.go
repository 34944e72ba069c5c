package main

import (
	"context"
	"fmt"
	"time"

	"github.com/shop-serverless/shop/functions/local/stage"
)

// runRedisDown runs the hot read load and stops Redis a third of the way in; Redis comes back
// on the same port afterwards. Every request must still answer 200.
func runRedisDown(ctx context.Context, st *stage.Stage, workers int, dur time.Duration, rep *Report) error {
	stopped := make(chan time.Time, 1)
	go func() {
		time.Sleep(dur / 3)
		st.Servers.Redis.Stop()
		stopped <- time.Now()
	}()
	res := attack("redis_down", productTargeter(st.URL, seedIDs(), 5), workers, dur)
	at := <-stopped
	var outage []sample
	for _, s := range res.samples {
		if !s.at.Before(at) {
			outage = append(outage, s)
		}
	}
	lat := loadResult{samples: outage}.latencies()
	rep.RedisDown = RedisDown{
		Requests:       len(res.samples),
		Errors:         res.errors(),
		P99Ms:          quantileMs(lat, 0.99),
		OutageRequests: len(outage),
	}
	rep.Series["redis down (outage)"] = toMs(lat)

	if err := st.Servers.RestartRedis(ctx); err != nil {
		return fmt.Errorf("restart redis: %w", err)
	}
	return nil
}
