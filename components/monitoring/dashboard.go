package monitoring

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// widget is one CloudWatch dashboard metric widget.
type widget struct {
	Type       string     `json:"type"`
	X          int        `json:"x"`
	Y          int        `json:"y"`
	Width      int        `json:"width"`
	Height     int        `json:"height"`
	Properties properties `json:"properties"`
}

type properties struct {
	Title   string  `json:"title"`
	Region  string  `json:"region"`
	Stat    string  `json:"stat"`
	Period  int     `json:"period"`
	View    string  `json:"view"`
	Metrics [][]any `json:"metrics"`
}

// dashboardBody renders the dashboard once the names it shows are known: two widgets a row,
// API first, then functions, tables and the cache.
func dashboardBody(a *MonitoringArgs) pulumi.StringOutput {
	var inputs []any
	for _, f := range a.Functions {
		inputs = append(inputs, f.FunctionName)
	}
	for _, t := range a.Tables {
		inputs = append(inputs, t.TableName)
	}
	if a.API != nil {
		inputs = append(inputs, a.API.APIID)
	}
	return pulumi.All(inputs...).ApplyT(func(vals []any) (string, error) {
		next := func() string {
			s, _ := vals[0].(string)
			vals = vals[1:]
			return s
		}
		fns := make([]string, len(a.Functions))
		for i := range fns {
			fns[i] = next()
		}
		tables := make([]string, len(a.Tables))
		for i := range tables {
			tables[i] = next()
		}
		var ws []widget
		add := func(title, stat string, metrics [][]any) {
			if len(metrics) == 0 {
				return
			}
			n := len(ws)
			ws = append(ws, widget{
				Type: "metric", X: (n % 2) * 12, Y: (n / 2) * 6, Width: 12, Height: 6,
				Properties: properties{Title: title, Region: a.Region, Stat: stat, Period: period, View: "timeSeries", Metrics: metrics},
			})
		}
		if a.API != nil {
			id := next()
			dims := []any{"ApiId", id, "Stage", a.API.Stage}
			add("API requests and errors", "Sum", [][]any{
				append([]any{"AWS/ApiGateway", "Count"}, dims...),
				append([]any{"AWS/ApiGateway", "4xx"}, dims...),
				append([]any{"AWS/ApiGateway", "5xx"}, dims...),
			})
			add("API latency p99 (ms)", "p99", [][]any{
				append([]any{"AWS/ApiGateway", "Latency"}, dims...),
				append([]any{"AWS/ApiGateway", "IntegrationLatency"}, dims...),
			})
		}
		perFunction := func(metric string) [][]any {
			var out [][]any
			for _, f := range fns {
				out = append(out, []any{"AWS/Lambda", metric, "FunctionName", f})
			}
			return out
		}
		add("Function errors", "Sum", perFunction("Errors"))
		add("Function duration p99 (ms)", "p99", perFunction("Duration"))
		add("Function throttles", "Sum", perFunction("Throttles"))
		add("Function concurrency", "Maximum", perFunction("ConcurrentExecutions"))
		var capacity, throttles [][]any
		for _, t := range tables {
			capacity = append(capacity,
				[]any{"AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", t},
				[]any{"AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", t})
			throttles = append(throttles,
				[]any{"AWS/DynamoDB", "ReadThrottleEvents", "TableName", t},
				[]any{"AWS/DynamoDB", "WriteThrottleEvents", "TableName", t},
				// The share of those that hit one partition's (one hot key's) limits.
				[]any{"AWS/DynamoDB", "WriteKeyRangeThroughputThrottleEvents", "TableName", t},
				[]any{"AWS/DynamoDB", "ThrottledRequests", "TableName", t, "Operation", "TransactWriteItems"})
		}
		add("DynamoDB consumed capacity", "Sum", capacity)
		add("DynamoDB throttles", "Sum", throttles)
		if c := a.Cache; c != nil {
			var load, memory [][]any
			if c.Serverless {
				load = [][]any{{"AWS/ElastiCache", "ElastiCacheProcessingUnits", "clusterId", c.CacheID}}
				memory = [][]any{{"AWS/ElastiCache", "BytesUsedForCache", "clusterId", c.CacheID}}
			}
			for _, n := range c.NodeIDs {
				load = append(load, []any{"AWS/ElastiCache", "EngineCPUUtilization", "CacheClusterId", n})
				memory = append(memory, []any{"AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", n})
			}
			add("Cache load", "Average", load)
			add("Cache memory", "Maximum", memory)
		}
		b, err := json.Marshal(map[string]any{"widgets": ws})
		if err != nil {
			return "", fmt.Errorf("dashboard: %w", err)
		}
		return string(b), nil
	}).(pulumi.StringOutput)
}
