package monitoring_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/monitoring"
)

func baseArgs() monitoring.MonitoringArgs {
	return monitoring.MonitoringArgs{
		Prefix: "shop-test",
		Region: "eu-central-1",
		Functions: []monitoring.Function{
			{Key: "catalog", FunctionName: pulumi.String("shop-test-catalog"), TimeoutSeconds: 10},
			{Key: "orders", FunctionName: pulumi.String("shop-test-orders"), TimeoutSeconds: 20},
		},
		Tables: []monitoring.Table{{Key: "products", TableName: pulumi.String("shop-test-products")}},
		API:    &monitoring.API{APIID: pulumi.String("api123")},
	}
}

func TestMonitoring(t *testing.T) {
	tests := []struct {
		name       string
		mutate     func(a *monitoring.MonitoringArgs)
		wantAlarms []string
		wantEmail  bool
	}{
		{
			name:   "nodes cache, two nodes",
			mutate: func(a *monitoring.MonitoringArgs) { a.Cache = &monitoring.Cache{NodeIDs: []string{"c-001", "c-002"}} },
			wantAlarms: []string{
				"function-catalog-errors", "function-catalog-throttles", "function-catalog-duration",
				"function-orders-errors", "function-orders-throttles", "function-orders-duration",
				"api-5xx", "api-latency", "table-products-read-throttles", "table-products-write-throttles", "table-products-transaction-throttles",
				"cache-c-001-cpu", "cache-c-001-memory", "cache-c-001-evictions", "cache-c-002-cpu", "cache-c-002-memory", "cache-c-002-evictions",
			},
		},
		{
			name: "a queue that should stay empty",
			mutate: func(a *monitoring.MonitoringArgs) {
				a.Cache = &monitoring.Cache{NodeIDs: []string{"c-001"}}
				a.Queues = []monitoring.Queue{{Key: "invalidator-failures", QueueName: pulumi.String("shop-test-invalidator-failures")}}
			},
			wantAlarms: []string{
				"function-catalog-errors", "function-catalog-throttles", "function-catalog-duration",
				"function-orders-errors", "function-orders-throttles", "function-orders-duration",
				"api-5xx", "api-latency", "table-products-read-throttles", "table-products-write-throttles", "table-products-transaction-throttles", "queue-invalidator-failures-depth",
				"cache-c-001-cpu", "cache-c-001-memory", "cache-c-001-evictions",
			},
		},
		{
			name: "serverless cache with limits and e-mail",
			mutate: func(a *monitoring.MonitoringArgs) {
				a.Cache = &monitoring.Cache{Serverless: true, CacheID: "c", MaxDataGB: 10, MaxECPUPerSecond: 5000}
				a.AlarmEmail = pulumi.ToSecret(pulumi.String("ops@example.com")).(pulumi.StringOutput)
			},
			wantAlarms: []string{
				"function-catalog-errors", "function-catalog-throttles", "function-catalog-duration",
				"function-orders-errors", "function-orders-throttles", "function-orders-duration",
				"api-5xx", "api-latency", "table-products-read-throttles", "table-products-write-throttles", "table-products-transaction-throttles",
				"cache-evictions", "cache-throttled", "cache-ecpu", "cache-memory",
			},
			wantEmail: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := baseArgs()
			tt.mutate(&args)
			m := awsmock.New("shop", "test")
			if err := m.Run(func(ctx *pulumi.Context) error {
				_, err := monitoring.NewMonitoring(ctx, "monitoring", &args)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			topic, _ := m.Named("aws:sns/topic:Topic", "monitoring-alarms")
			key, _ := m.Named("aws:kms/key:Key", "monitoring-key")
			if topic.Inputs["kmsMasterKeyId"] != key.Outputs["arn"] || !strings.HasPrefix(key.Outputs["arn"].(string), "arn:aws:kms:eu-central-1:123456789012:key/") {
				t.Errorf("topic key = %v", topic.Inputs["kmsMasterKeyId"])
			}
			var got []string
			m.CheckChildren(t, "shop:monitoring:Monitoring", "monitoring")
			for _, r := range m.Resources() {
				if r.Type != "aws:cloudwatch/metricAlarm:MetricAlarm" {
					continue
				}
				got = append(got, strings.TrimPrefix(r.Name, "monitoring-"))
				for _, k := range []string{"alarmActions", "okActions"} {
					if a, _ := r.Inputs[k].([]any); len(a) != 1 || a[0] != "arn:aws:sns:eu-central-1:123456789012:shop-test-alarms" {
						t.Errorf("%s %s = %v", r.Name, k, r.Inputs[k])
					}
				}
			}
			if len(got) != len(tt.wantAlarms) {
				t.Errorf("alarms %v, want %v", got, tt.wantAlarms)
			}
			for _, w := range tt.wantAlarms {
				if _, ok := m.Named("aws:cloudwatch/metricAlarm:MetricAlarm", "monitoring-"+w); !ok {
					t.Errorf("alarm %s missing", w)
				}
			}
			dur, _ := m.Named("aws:cloudwatch/metricAlarm:MetricAlarm", "monitoring-function-orders-duration")
			if dur.Inputs["threshold"] != 16000.0 || dur.Inputs["extendedStatistic"] != "p99" {
				t.Errorf("orders duration alarm = %v", dur.Inputs)
			}
			if depth, ok := m.Named("aws:cloudwatch/metricAlarm:MetricAlarm", "monitoring-queue-invalidator-failures-depth"); ok {
				in := depth.Inputs
				if in["namespace"] != "AWS/SQS" || in["metricName"] != "ApproximateNumberOfMessagesVisible" || in["threshold"] != 1.0 ||
					in["dimensions"].(map[string]any)["QueueName"] != "shop-test-invalidator-failures" || in["statistic"] != "Maximum" {
					t.Errorf("queue depth alarm = %v", in)
				}
			}
			for alarm, want := range map[string]struct{ metric, operation string }{
				"read-throttles":        {"ReadThrottleEvents", ""},
				"write-throttles":       {"WriteThrottleEvents", ""},
				"transaction-throttles": {"ThrottledRequests", "TransactWriteItems"},
			} {
				thr, _ := m.Named("aws:cloudwatch/metricAlarm:MetricAlarm", "monitoring-table-products-"+alarm)
				dims, _ := thr.Inputs["dimensions"].(map[string]any)
				if thr.Inputs["namespace"] != "AWS/DynamoDB" || thr.Inputs["metricName"] != want.metric || thr.Inputs["threshold"] != 1.0 ||
					thr.Inputs["statistic"] != "Sum" || dims["TableName"] != "shop-test-products" || (want.operation != "" && dims["Operation"] != want.operation) {
					t.Errorf("table %s alarm = %v", alarm, thr.Inputs)
				}
			}
			subs := m.OfType("aws:sns/topicSubscription:TopicSubscription")
			if (len(subs) == 1) != tt.wantEmail {
				t.Fatalf("%d subscriptions", len(subs))
			}
			if tt.wantEmail && subs[0].Inputs["endpoint"] != awsmock.Secret {
				t.Errorf("e-mail endpoint recorded as %v, want it secret", subs[0].Inputs["endpoint"])
			}

			key, _ = m.Named("aws:kms/key:Key", "monitoring-key")
			if key.Inputs["enableKeyRotation"] != true {
				t.Error("key rotation off")
			}
			policy := awsmock.ParsePolicy(t, key.Inputs["policy"])
			if !slices.Equal(policy.Statement[0].Principals("AWS"), []string{"arn:aws:iam::123456789012:root"}) ||
				!slices.Equal(policy.Statement[1].Principals("Service"), []string{"cloudwatch.amazonaws.com"}) ||
				policy.Statement[1].Condition["StringEquals"]["aws:SourceAccount"][0] != "123456789012" {
				t.Errorf("key policy = %+v", policy)
			}

			dash, _ := m.Named("aws:cloudwatch/dashboard:Dashboard", "monitoring-dashboard")
			var body struct {
				Widgets []struct{ Properties struct{ Title string } }
			}
			if err := json.Unmarshal([]byte(dash.Inputs["dashboardBody"].(string)), &body); err != nil {
				t.Fatal(err)
			}
			if len(body.Widgets) != 10 || !strings.Contains(dash.Inputs["dashboardBody"].(string), "shop-test-orders") ||
				!strings.Contains(dash.Inputs["dashboardBody"].(string), `"ThrottledRequests","TableName","shop-test-products","Operation","TransactWriteItems"`) {
				t.Errorf("dashboard = %s", dash.Inputs["dashboardBody"])
			}
		})
	}
}

func TestMonitoringValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(a *monitoring.MonitoringArgs)
		want   string
	}{
		{"no prefix", func(a *monitoring.MonitoringArgs) { a.Prefix = "" }, "prefix"},
		{"duplicate key", func(a *monitoring.MonitoringArgs) { a.Functions[1].Key = "catalog" }, "unique"},
		{"no timeout", func(a *monitoring.MonitoringArgs) { a.Functions[0].TimeoutSeconds = 0 }, "timeout"},
		{"cache without nodes", func(a *monitoring.MonitoringArgs) { a.Cache = &monitoring.Cache{} }, "node ids"},
		{"bad percent", func(a *monitoring.MonitoringArgs) { a.Thresholds.CacheCPUPercent = 150 }, "cache CPU"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := baseArgs()
			tt.mutate(&args)
			err := awsmock.New("shop", "test").Run(func(ctx *pulumi.Context) error {
				_, err := monitoring.NewMonitoring(ctx, "monitoring", &args)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
