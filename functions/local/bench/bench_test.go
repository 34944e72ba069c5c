package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// smoke runs every scenario for seconds: it checks correctness, never timing (the machines
// are shared; speed is what `make bench` reports).
var smoke = Config{
	Workers:           4,
	HotReadDuration:   time.Second,
	RedisDownDuration: 1500 * time.Millisecond,
	StampedeRequests:  200,
	StampedeInstances: 8,
	FlashStock:        10,
	FlashAttempts:     200,
	FlashRetryPercent: 10,
	ColdStarts:        2,
}

func TestBenchSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	rep, err := Run(ctx, smoke, logWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	h := rep.HotRead
	if h.CachedRPS <= 0 || h.NaiveRPS <= 0 || h.CachedP50Ms <= 0 || h.FloorHTTPP50Ms <= 0 || h.RedisGetP50Ms <= 0 {
		t.Errorf("hot_read figures missing: %+v", h)
	}
	if s := rep.Stampede; s.DBReads != 1 || s.NaiveDBReads < int64(s.Instances) {
		t.Errorf("stampede: %+v, want 1 read for ours and at least one per instance for naive", s)
	}
	f := rep.FlashSale
	if f.Confirmed != f.Stock || f.Oversold != 0 || f.Duplicates != 0 || f.SoldOutDBWrites != 0 || f.Errors != 0 {
		t.Errorf("flash_sale: %+v", f)
	}
	if f := rep.FlashSaleLoaded; f.Confirmed != f.Stock || f.Oversold != 0 || f.Duplicates != 0 || f.Errors != 0 ||
		f.BusyLoops == 0 || f.SoldOutDBWrites > f.soldOutLeases() {
		t.Errorf("flash_sale beside busy loops: %+v, want at most %d sold-out writes", f, f.soldOutLeases())
	}
	if d := rep.RedisDown; d.Errors != 0 || d.OutageRequests == 0 {
		t.Errorf("redis_down: %+v, want requests during the outage and no errors", d)
	}
	if len(rep.ColdStart) == 0 {
		t.Error("no cold start measured")
	}
	for name, c := range rep.ColdStart {
		if c.InitP50Ms <= 0 || c.HelloInitP50Ms <= 0 {
			t.Errorf("cold_start %s: %+v", name, c)
		}
	}
	for name, a := range rep.Artifacts {
		if !a.Reproducible || a.ZipBytes == 0 || len(a.SHA256) != 64 {
			t.Errorf("artifact %s: %+v", name, a)
		}
	}
	out := filepath.Join(t.TempDir(), "report.png")
	if err := writePlot(rep.Series, out); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Errorf("plot not written: %v", err)
	}
}

// logWriter sends the bench's progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
