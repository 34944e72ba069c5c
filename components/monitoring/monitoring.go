// Package monitoring declares the shop's alarms and dashboard: an encrypted SNS topic (with an
// optional e-mail subscription) that every alarm notifies on ALARM and OK, alarms on function
// errors, throttles and duration, API 5xx and latency, DynamoDB throttling, messages in queues
// that should stay empty, and cache CPU, memory and evictions, and one CloudWatch dashboard over the same metrics.
package monitoring

import (
	"errors"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/internal/iampolicy"
)

// period is the evaluation period of every alarm, in seconds.
const period = 300

// Function is a function to watch.
type Function struct {
	// Key names the function's alarms ("orders").
	Key          string
	FunctionName pulumi.StringInput
	// TimeoutSeconds is the function's timeout; the duration alarm fires near it.
	TimeoutSeconds int
}

// Table is a DynamoDB table to watch.
type Table struct {
	Key       string
	TableName pulumi.StringInput
}

// Queue is a queue that should stay empty, such as where failed stream batches land: any
// message in it is an alarm.
type Queue struct {
	// Key names the queue's alarm ("invalidator-failures").
	Key string
	// QueueName is the queue's name (the QueueName dimension).
	QueueName   pulumi.StringInput
	Description string
}

// API is the HTTP API to watch.
type API struct {
	APIID pulumi.StringInput
	Stage string
}

// Cache is the cache to watch.
type Cache struct {
	Serverless bool
	// CacheID is the serverless cache's name (the clusterId dimension).
	CacheID string
	// NodeIDs are the member clusters of a replication group (the CacheClusterId dimension).
	NodeIDs []string
	// MaxDataGB and MaxECPUPerSecond are a serverless cache's limits; the alarms fire near them.
	MaxDataGB, MaxECPUPerSecond int
}

// Thresholds tune the alarms; zero values take the defaults.
type Thresholds struct {
	// APILatencyP99Ms: p99 latency over three periods; default 1000.
	APILatencyP99Ms int
	// API5xxCount: server errors in one period; default 5.
	API5xxCount int
	// DurationPercentOfTimeout: a function's p99 duration near its timeout; default 80.
	DurationPercentOfTimeout int
	// CacheCPUPercent: engine CPU (or ECPU of the serverless limit); default 75.
	CacheCPUPercent int
	// CacheMemoryPercent: memory used (or of the serverless data limit); default 80.
	CacheMemoryPercent int
	// CacheEvictions: evictions in one period; default 1000.
	CacheEvictions int
}

// MonitoringArgs configures a Monitoring.
type MonitoringArgs struct {
	// Prefix names the alarms and the dashboard ("shop-prod").
	Prefix string
	// Region is where the dashboard's metrics live.
	Region string
	// AlarmEmail, when set, is subscribed to the topic (AWS sends a confirmation first).
	AlarmEmail pulumi.StringInput
	Functions  []Function
	Tables     []Table
	Queues     []Queue
	API        *API
	Cache      *Cache
	Thresholds Thresholds
	// KeyDeletionDays is the waiting period before the topic's key is deleted; 0: 30.
	KeyDeletionDays int
	// Tags are added to every resource that takes tags.
	Tags pulumi.StringMapInput
}

// Monitoring is the alarm topic, the alarms and the dashboard.
type Monitoring struct {
	pulumi.ResourceState

	// TopicArn is the alarm topic; subscribe more endpoints to it.
	TopicArn      pulumi.StringOutput `pulumi:"topicArn"`
	DashboardName pulumi.StringOutput `pulumi:"dashboardName"`
}

// NewMonitoring declares the topic, alarms and dashboard.
func NewMonitoring(ctx *pulumi.Context, name string, args *MonitoringArgs, opts ...pulumi.ResourceOption) (*Monitoring, error) {
	if args == nil {
		return nil, fmt.Errorf("monitoring %q: args are required", name)
	}
	a := *args
	t := &a.Thresholds
	setDefault(&t.APILatencyP99Ms, 1000)
	setDefault(&t.API5xxCount, 5)
	setDefault(&t.DurationPercentOfTimeout, 80)
	setDefault(&t.CacheCPUPercent, 75)
	setDefault(&t.CacheMemoryPercent, 80)
	setDefault(&t.CacheEvictions, 1000)
	setDefault(&a.KeyDeletionDays, 30)
	if a.API != nil && a.API.Stage == "" {
		a.API.Stage = "$default"
	}
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("monitoring %q: %w", name, err)
	}

	m := &Monitoring{}
	if err := ctx.RegisterComponentResource("shop:monitoring:Monitoring", name, m, opts...); err != nil {
		return nil, fmt.Errorf("monitoring %q: %w", name, err)
	}
	if err := m.declare(ctx, name, &a); err != nil {
		return nil, fmt.Errorf("monitoring %q: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(m, pulumi.Map{
		"topicArn":      m.TopicArn,
		"dashboardName": m.DashboardName,
	}); err != nil {
		return nil, fmt.Errorf("monitoring %q: %w", name, err)
	}
	return m, nil
}

// alarm is one alarm before it is declared.
type alarm struct {
	role, description string
	metric            string
	namespace         string
	dimensions        pulumi.StringMap
	statistic         string // Sum, Average, Maximum, or a percentile like p99
	threshold         float64
	evaluationPeriods int
	period            int
	queries           cloudwatch.MetricAlarmMetricQueryArray
}

func (m *Monitoring) declare(ctx *pulumi.Context, name string, a *MonitoringArgs) error {
	parent := pulumi.Parent(m)
	topic, err := m.declareTopic(ctx, name, a)
	if err != nil {
		return err
	}
	actions := pulumi.Array{topic.Arn}
	for _, al := range alarms(a) {
		args := &cloudwatch.MetricAlarmArgs{
			Name:               pulumi.Sprintf("%s-%s", a.Prefix, al.role),
			AlarmDescription:   pulumi.String(al.description),
			ComparisonOperator: pulumi.String("GreaterThanOrEqualToThreshold"),
			Threshold:          pulumi.Float64(al.threshold),
			EvaluationPeriods:  pulumi.Int(al.evaluationPeriods),
			DatapointsToAlarm:  pulumi.Int(al.evaluationPeriods),
			TreatMissingData:   pulumi.String("notBreaching"),
			ActionsEnabled:     pulumi.Bool(true),
			AlarmActions:       actions,
			OkActions:          actions,
			Tags:               a.Tags,
		}
		if al.queries != nil {
			args.MetricQueries = al.queries
		} else {
			args.MetricName = pulumi.String(al.metric)
			args.Namespace = pulumi.String(al.namespace)
			args.Dimensions = al.dimensions
			args.Period = pulumi.Int(al.period)
			if len(al.statistic) > 1 && al.statistic[0] == 'p' {
				args.ExtendedStatistic = pulumi.String(al.statistic)
			} else {
				args.Statistic = pulumi.String(al.statistic)
			}
		}
		if _, err := cloudwatch.NewMetricAlarm(ctx, name+"-"+al.role, args, parent); err != nil {
			return err
		}
	}

	dashboard, err := cloudwatch.NewDashboard(ctx, name+"-dashboard", &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(a.Prefix),
		DashboardBody: dashboardBody(a),
	}, parent)
	if err != nil {
		return err
	}
	m.TopicArn = topic.Arn
	m.DashboardName = dashboard.DashboardName
	return nil
}

// declareTopic declares the alarm topic, encrypted with its own key: CloudWatch cannot
// publish to a topic encrypted with the AWS managed SNS key, so the key's policy must name it.
func (m *Monitoring) declareTopic(ctx *pulumi.Context, name string, a *MonitoringArgs) (*sns.Topic, error) {
	parent := pulumi.Parent(m)
	account := aws.GetCallerIdentityOutput(ctx, aws.GetCallerIdentityOutputArgs{}).AccountId()
	keyPolicy := iampolicy.Document(
		iampolicy.AccountAdministersKey(account),
		iampolicy.Statement{
			Sid:        "CloudWatchPublishesAlarms",
			Principal:  map[string][]string{"Service": {"cloudwatch.amazonaws.com"}},
			Actions:    []string{"kms:Decrypt", "kms:GenerateDataKey*"},
			Resources:  iampolicy.Strings("*"),
			Conditions: []iampolicy.Condition{{Test: "StringEquals", Variable: "aws:SourceAccount", Values: []pulumi.StringInput{account}}},
		},
	)
	key, err := kms.NewKey(ctx, name+"-key", &kms.KeyArgs{
		Description:          pulumi.Sprintf("%s alarm topic", a.Prefix),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(a.KeyDeletionDays),
		Policy:               keyPolicy,
		Tags:                 a.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := kms.NewAlias(ctx, name+"-key-alias", &kms.AliasArgs{
		Name:        pulumi.Sprintf("alias/%s-alarms", a.Prefix),
		TargetKeyId: key.KeyId,
	}, parent); err != nil {
		return nil, err
	}
	topic, err := sns.NewTopic(ctx, name+"-alarms", &sns.TopicArgs{
		Name:           pulumi.Sprintf("%s-alarms", a.Prefix),
		KmsMasterKeyId: key.Arn,
		Tags:           a.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	if a.AlarmEmail != nil {
		if _, err := sns.NewTopicSubscription(ctx, name+"-email", &sns.TopicSubscriptionArgs{
			Topic:    topic.Arn,
			Protocol: pulumi.String("email"),
			Endpoint: a.AlarmEmail,
		}, parent); err != nil {
			return nil, err
		}
	}
	return topic, nil
}

// alarms lists every alarm of the stack, in a fixed order.
func alarms(a *MonitoringArgs) []alarm {
	t := a.Thresholds
	var out []alarm
	for _, f := range a.Functions {
		dims := pulumi.StringMap{"FunctionName": f.FunctionName}
		out = append(out,
			alarm{role: "function-" + f.Key + "-errors", description: "function " + f.Key + " returned errors",
				namespace: "AWS/Lambda", metric: "Errors", dimensions: dims, statistic: "Sum", threshold: 1, evaluationPeriods: 1},
			alarm{role: "function-" + f.Key + "-throttles", description: "function " + f.Key + " was throttled",
				namespace: "AWS/Lambda", metric: "Throttles", dimensions: dims, statistic: "Sum", threshold: 1, evaluationPeriods: 1},
			alarm{role: "function-" + f.Key + "-duration", description: fmt.Sprintf("function %s p99 duration above %d%% of its timeout", f.Key, t.DurationPercentOfTimeout),
				namespace: "AWS/Lambda", metric: "Duration", dimensions: dims, statistic: "p99",
				threshold: float64(f.TimeoutSeconds*1000*t.DurationPercentOfTimeout) / 100, evaluationPeriods: 3},
		)
	}
	if api := a.API; api != nil {
		dims := pulumi.StringMap{"ApiId": api.APIID, "Stage": pulumi.String(api.Stage)}
		out = append(out,
			alarm{role: "api-5xx", description: "API answered server errors",
				namespace: "AWS/ApiGateway", metric: "5xx", dimensions: dims, statistic: "Sum", threshold: float64(t.API5xxCount), evaluationPeriods: 1},
			alarm{role: "api-latency", description: fmt.Sprintf("API p99 latency above %d ms", t.APILatencyP99Ms),
				namespace: "AWS/ApiGateway", metric: "Latency", dimensions: dims, statistic: "p99", threshold: float64(t.APILatencyP99Ms), evaluationPeriods: 3},
		)
	}
	for _, tb := range a.Tables {
		// A hot item past its partition's limits shows as throttle events of its table (reads
		// and writes apart), and as throttled transactions, which checkout retries and then
		// answers 503: any of them pages.
		dims := pulumi.StringMap{"TableName": tb.TableName}
		out = append(out,
			alarm{role: "table-" + tb.Key + "-read-throttles", description: "table " + tb.Key + " throttled reads",
				namespace: "AWS/DynamoDB", metric: "ReadThrottleEvents", dimensions: dims, statistic: "Sum", threshold: 1, evaluationPeriods: 1},
			alarm{role: "table-" + tb.Key + "-write-throttles", description: "table " + tb.Key + " throttled writes",
				namespace: "AWS/DynamoDB", metric: "WriteThrottleEvents", dimensions: dims, statistic: "Sum", threshold: 1, evaluationPeriods: 1},
			alarm{role: "table-" + tb.Key + "-transaction-throttles", description: "table " + tb.Key + " throttled transactions (TransactWriteItems)",
				namespace: "AWS/DynamoDB", metric: "ThrottledRequests", statistic: "Sum", threshold: 1, evaluationPeriods: 1,
				dimensions: pulumi.StringMap{"TableName": tb.TableName, "Operation": pulumi.String("TransactWriteItems")}},
		)
	}
	for _, q := range a.Queues {
		out = append(out, alarm{role: "queue-" + q.Key + "-depth", description: q.Description,
			namespace: "AWS/SQS", metric: "ApproximateNumberOfMessagesVisible", dimensions: pulumi.StringMap{"QueueName": q.QueueName},
			statistic: "Maximum", threshold: 1, evaluationPeriods: 1})
	}
	if c := a.Cache; c != nil {
		out = append(out, cacheAlarms(c, t)...)
	}
	for i := range out {
		if out[i].period == 0 {
			out[i].period = period
		}
	}
	return out
}

func cacheAlarms(c *Cache, t Thresholds) []alarm {
	const ns = "AWS/ElastiCache"
	if c.Serverless {
		dims := pulumi.StringMap{"clusterId": pulumi.String(c.CacheID)}
		out := []alarm{
			{role: "cache-evictions", description: "cache evicted keys", namespace: ns, metric: "Evictions",
				dimensions: dims, statistic: "Sum", threshold: float64(t.CacheEvictions), evaluationPeriods: 1},
			{role: "cache-throttled", description: "cache throttled commands at its limits", namespace: ns, metric: "ThrottledCmds",
				dimensions: dims, statistic: "Sum", threshold: 1, evaluationPeriods: 1},
		}
		if c.MaxECPUPerSecond > 0 {
			// ECPUs are summed per minute: the per-second limit times 60.
			out = append(out, alarm{role: "cache-ecpu", description: fmt.Sprintf("cache above %d%% of its ECPU limit", t.CacheCPUPercent),
				namespace: ns, metric: "ElastiCacheProcessingUnits", dimensions: dims, statistic: "Sum", period: 60,
				threshold: float64(c.MaxECPUPerSecond*60*t.CacheCPUPercent) / 100, evaluationPeriods: 5})
		}
		if c.MaxDataGB > 0 {
			out = append(out, alarm{role: "cache-memory", description: fmt.Sprintf("cache above %d%% of its data limit", t.CacheMemoryPercent),
				namespace: ns, metric: "BytesUsedForCache", dimensions: dims, statistic: "Maximum",
				threshold: float64(c.MaxDataGB) * (1 << 30) * float64(t.CacheMemoryPercent) / 100, evaluationPeriods: 1})
		}
		return out
	}
	var out []alarm
	for _, node := range c.NodeIDs {
		dims := pulumi.StringMap{"CacheClusterId": pulumi.String(node)}
		out = append(out,
			alarm{role: "cache-" + node + "-cpu", description: fmt.Sprintf("cache node %s engine CPU above %d%%", node, t.CacheCPUPercent),
				namespace: ns, metric: "EngineCPUUtilization", dimensions: dims, statistic: "Average", threshold: float64(t.CacheCPUPercent), evaluationPeriods: 3},
			alarm{role: "cache-" + node + "-memory", description: fmt.Sprintf("cache node %s memory above %d%%", node, t.CacheMemoryPercent),
				namespace: ns, metric: "DatabaseMemoryUsagePercentage", dimensions: dims, statistic: "Average", threshold: float64(t.CacheMemoryPercent), evaluationPeriods: 3},
			alarm{role: "cache-" + node + "-evictions", description: "cache node " + node + " evicted keys",
				namespace: ns, metric: "Evictions", dimensions: dims, statistic: "Sum", threshold: float64(t.CacheEvictions), evaluationPeriods: 1},
		)
	}
	return out
}

func (a *MonitoringArgs) validate() error {
	var errs []error
	if a.Prefix == "" || a.Region == "" {
		errs = append(errs, errors.New("prefix and region are required"))
	}
	// Keys name alarms within their kind: a function and a table may share one.
	keys := map[string]bool{}
	for _, f := range a.Functions {
		if f.Key == "" || keys[f.Key] || f.FunctionName == nil {
			errs = append(errs, fmt.Errorf("function %q: keys must be unique and names set", f.Key))
		}
		keys[f.Key] = true
		if f.TimeoutSeconds <= 0 {
			errs = append(errs, fmt.Errorf("function %q: timeout must be set", f.Key))
		}
	}
	keys = map[string]bool{}
	for _, tb := range a.Tables {
		if tb.Key == "" || keys[tb.Key] || tb.TableName == nil {
			errs = append(errs, fmt.Errorf("table %q: keys must be unique and names set", tb.Key))
		}
		keys[tb.Key] = true
	}
	keys = map[string]bool{}
	for _, q := range a.Queues {
		if q.Key == "" || keys[q.Key] || q.QueueName == nil {
			errs = append(errs, fmt.Errorf("queue %q: keys must be unique and names set", q.Key))
		}
		keys[q.Key] = true
	}
	if a.API != nil && a.API.APIID == nil {
		errs = append(errs, errors.New("API needs its id"))
	}
	if c := a.Cache; c != nil && c.Serverless == (len(c.NodeIDs) > 0) {
		errs = append(errs, errors.New("cache: a serverless cache has no node ids; a node-based one needs them"))
	}
	t := a.Thresholds
	for _, p := range []struct {
		what string
		pct  int
	}{{"duration", t.DurationPercentOfTimeout}, {"cache CPU", t.CacheCPUPercent}, {"cache memory", t.CacheMemoryPercent}} {
		if p.pct <= 0 || p.pct > 100 {
			errs = append(errs, fmt.Errorf("%s threshold %d%% must be 1..100", p.what, p.pct))
		}
	}
	if a.KeyDeletionDays < 7 || a.KeyDeletionDays > 30 {
		errs = append(errs, fmt.Errorf("key deletion window %d days must be 7..30", a.KeyDeletionDays))
	}
	return errors.Join(errs...)
}

func setDefault(v *int, def int) {
	if *v == 0 {
		*v = def
	}
}
