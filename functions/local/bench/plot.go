package main

import (
	"fmt"
	"image/color"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// writePlot draws the latency distribution (CDF) of each measured series into a PNG.
func writePlot(series map[string][]float64, path string) error {
	p := plot.New()
	p.Title.Text = "shop: request latency, local stage (same run)"
	p.X.Label.Text = "latency (ms, log scale)"
	p.Y.Label.Text = "fraction of requests at or below"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	names := make([]string, 0, len(series))
	for name := range series {
		names = append(names, name)
	}
	slices.Sort(names)
	for i, name := range names {
		vals := slices.Clone(series[name])
		if len(vals) == 0 {
			continue
		}
		slices.Sort(vals)
		// At most 500 points per curve keep the file small.
		step := max(1, len(vals)/500)
		var pts plotter.XYs
		for j := 0; j < len(vals); j += step {
			pts = append(pts, plotter.XY{X: max(vals[j], 0.01), Y: float64(j+1) / float64(len(vals))})
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("plot %s: %w", name, err)
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("%s (n=%d)", name, len(vals)), line)
	}
	// Bottom right is empty on a CDF of latencies.
	p.Legend.Top, p.Legend.Left = false, false
	p.BackgroundColor = color.White
	return p.Save(9*vg.Inch, 5*vg.Inch, path)
}
