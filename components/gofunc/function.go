// Package gofunc declares one Go Lambda function: the package built by Packager, its own log
// group, and its own IAM role allowed exactly the actions the function's entry in the shared
// function list (functions/manifest) says it uses, on exactly its resources.
package gofunc

import (
	"errors"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/internal/iampolicy"
	"github.com/shop-serverless/shop/functions/manifest"
)

// Lambda's fixed settings for a Go function.
const (
	Runtime      = "provided.al2023"
	Architecture = "arm64"
	Handler      = "bootstrap"
)

// TableRef points a function at one deployed table.
type TableRef struct {
	Arn pulumi.StringInput
	// Stream is the table's current stream ARN (the table's streamArn output, ending in the
	// stream's label); required for the table of Spec.StreamOf, whose mapping reads it.
	Stream pulumi.StringInput
}

// CacheRef points a function at the cache and its own RBAC users.
type CacheRef struct {
	Arn pulumi.StringInput
	// UserArn is the function's own user; required when Spec.Cache is set.
	UserArn pulumi.StringInput
	// LimiterUserArn is its limiter's user; required when Spec.LimiterAccess is set.
	LimiterUserArn pulumi.StringInput
}

// VPCConfig places a function in private subnets.
type VPCConfig struct {
	SubnetIDs        pulumi.StringArrayInput
	SecurityGroupIDs pulumi.StringArrayInput
}

// StreamConfig tunes the event source mapping of a stream-fed function.
type StreamConfig struct {
	// BatchSize is the records per invocation; 0: 100.
	BatchSize int
	// MaxRetries is how often a failing batch is retried before it goes to the failure
	// queue; 0: 5.
	MaxRetries int
	// FailureRetentionSeconds is how long the failure queue keeps a record; 0: 14 days, the
	// most SQS allows.
	FailureRetentionSeconds int
}

// StreamBatchingWindowSeconds is how long the event source mapping gathers records before
// it invokes the function with fewer than a batch.
const StreamBatchingWindowSeconds = 1

// WithDefaults fills the settings c leaves unset.
func (c StreamConfig) WithDefaults() StreamConfig {
	if c.BatchSize == 0 {
		c.BatchSize = 100
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 5
	}
	if c.FailureRetentionSeconds == 0 {
		c.FailureRetentionSeconds = maxQueueRetentionSeconds
	}
	return c
}

// Lambda's limits on a function's size.
const (
	MinMemoryMB       = 128
	MaxMemoryMB       = 10240
	MaxTimeoutSeconds = 900
)

// FunctionArgs configures a Function. Sizes are plain values: they are validated here and
// the API derives its integration timeout from TimeoutSeconds.
type FunctionArgs struct {
	// Spec is the function's entry in manifest.Functions: what it may touch.
	Spec manifest.Function
	// FunctionName is the deployed name; empty: Spec.Name.
	FunctionName string
	// Archive is the zip written by Packager (pulumi.NewFileArchive keeps its exec bit).
	Archive string
	// MemoryMB is MinMemoryMB..MaxMemoryMB; 0: 256.
	MemoryMB int
	// TimeoutSeconds is 1..MaxTimeoutSeconds; 0: 10.
	TimeoutSeconds int
	// ReservedConcurrency caps (and guarantees) concurrent executions; 0: unreserved.
	ReservedConcurrency int
	// LogRetentionDays is how long the function's log group keeps logs.
	LogRetentionDays int
	// LogKMSKeyArn encrypts the log group with a customer managed key; nil: CloudWatch
	// Logs' own encryption.
	LogKMSKeyArn pulumi.StringPtrInput
	// LogLevel is Lambda's application log level filter (TRACE..FATAL); empty: INFO.
	LogLevel    string
	Environment pulumi.StringMapInput
	// Tables holds one reference per table Spec's grants name (and Spec.StreamOf), by table name.
	Tables map[string]TableRef
	// BucketArn is the images bucket; required when Spec has bucket grants.
	BucketArn pulumi.StringInput
	// BucketName is the images bucket's name; required when Spec.UploadsOf is set, for its
	// event notification.
	BucketName pulumi.StringInput
	// Cache is required when Spec.Cache is set.
	Cache *CacheRef
	// VPC is required when Spec.Cache is set: the cache is reachable only inside the VPC.
	VPC *VPCConfig
	// Stream tunes the stream mapping when Spec.StreamOf is set.
	Stream StreamConfig
	// Tags are added to every resource that takes tags.
	Tags pulumi.StringMapInput
}

// Function is a deployed Go Lambda function.
type Function struct {
	pulumi.ResourceState

	Arn pulumi.StringOutput `pulumi:"arn"`
	// Name is the deployed function name.
	Name pulumi.StringOutput `pulumi:"name"`
	// InvokeArn is what API Gateway integrations call.
	InvokeArn pulumi.StringOutput `pulumi:"invokeArn"`
	// RoleArn is the function's own execution role.
	RoleArn      pulumi.StringOutput `pulumi:"roleArn"`
	LogGroupName pulumi.StringOutput `pulumi:"logGroupName"`
	// FailureQueue holds the batches a stream-fed function failed for good; nil for the others.
	FailureQueue *FailureQueue

	// Spec is the function's entry in manifest.Functions.
	Spec           manifest.Function
	TimeoutSeconds int
}

// NewFunction declares the function, its log group, role and its event source: the stream
// mapping of a stream-fed function, the bucket notification of an upload-fed one.
func NewFunction(ctx *pulumi.Context, name string, args *FunctionArgs, opts ...pulumi.ResourceOption) (*Function, error) {
	if args == nil {
		return nil, fmt.Errorf("function %q: args are required", name)
	}
	a := *args
	if a.FunctionName == "" {
		a.FunctionName = a.Spec.Name
	}
	if a.MemoryMB == 0 {
		a.MemoryMB = 256
	}
	if a.TimeoutSeconds == 0 {
		a.TimeoutSeconds = 10
	}
	if a.LogLevel == "" {
		a.LogLevel = "INFO"
	}
	a.Stream = a.Stream.WithDefaults()
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("function %q: %w", name, err)
	}

	f := &Function{Spec: a.Spec, TimeoutSeconds: a.TimeoutSeconds}
	if err := ctx.RegisterComponentResource("shop:gofunc:Function", name, f, opts...); err != nil {
		return nil, fmt.Errorf("function %q: %w", name, err)
	}
	if err := f.declare(ctx, name, &a); err != nil {
		return nil, fmt.Errorf("function %q: %w", name, err)
	}
	outputs := pulumi.Map{
		"arn":          f.Arn,
		"name":         f.Name,
		"invokeArn":    f.InvokeArn,
		"roleArn":      f.RoleArn,
		"logGroupName": f.LogGroupName,
	}
	if q := f.FailureQueue; q != nil {
		outputs["failureQueueUrl"] = q.URL
	}
	if err := ctx.RegisterResourceOutputs(f, outputs); err != nil {
		return nil, fmt.Errorf("function %q: %w", name, err)
	}
	return f, nil
}

func (f *Function) declare(ctx *pulumi.Context, name string, a *FunctionArgs) error {
	parent := pulumi.Parent(f)
	logs, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/aws/lambda/" + a.FunctionName),
		RetentionInDays: pulumi.Int(a.LogRetentionDays),
		KmsKeyId:        a.LogKMSKeyArn,
		Tags:            a.Tags,
	}, parent)
	if err != nil {
		return err
	}
	// Lambda names the account it assumes the role for, not the function (aws:SourceArn is
	// not set on the execution role's AssumeRole), so the account is the condition.
	account := aws.GetCallerIdentityOutput(ctx, aws.GetCallerIdentityOutputArgs{}).AccountId()
	role, err := iam.NewRole(ctx, name+"-role", &iam.RoleArgs{
		Description:      pulumi.String("execution role of the " + a.Spec.Name + " function"),
		AssumeRolePolicy: iampolicy.AssumeRole("lambda.amazonaws.com", iampolicy.SourceAccount(account)),
		Tags:             a.Tags,
	}, parent)
	if err != nil {
		return err
	}
	policy, err := iam.NewRolePolicy(ctx, name+"-policy", &iam.RolePolicyArgs{
		Role:   role.ID(),
		Policy: iampolicy.Document(Statements(a, logs.Arn)...),
	}, parent)
	if err != nil {
		return err
	}

	fnArgs := &lambda.FunctionArgs{
		Name:          pulumi.String(a.FunctionName),
		Description:   pulumi.String(a.Spec.Description),
		Runtime:       pulumi.String(Runtime),
		Architectures: pulumi.ToStringArray([]string{Architecture}),
		Handler:       pulumi.String(Handler),
		Code:          pulumi.NewFileArchive(a.Archive),
		Role:          role.Arn,
		MemorySize:    pulumi.Int(a.MemoryMB),
		Timeout:       pulumi.Int(a.TimeoutSeconds),
		TracingConfig: &lambda.FunctionTracingConfigArgs{Mode: pulumi.String("Active")},
		LoggingConfig: &lambda.FunctionLoggingConfigArgs{
			LogFormat:           pulumi.String("JSON"),
			LogGroup:            logs.Name,
			ApplicationLogLevel: pulumi.String(a.LogLevel),
			SystemLogLevel:      pulumi.String("WARN"),
		},
		Tags: a.Tags,
	}
	if a.Environment != nil {
		fnArgs.Environment = &lambda.FunctionEnvironmentArgs{Variables: a.Environment}
	}
	if a.ReservedConcurrency > 0 {
		fnArgs.ReservedConcurrentExecutions = pulumi.Int(a.ReservedConcurrency)
	}
	if a.VPC != nil {
		fnArgs.VpcConfig = &lambda.FunctionVpcConfigArgs{
			SubnetIds:        a.VPC.SubnetIDs,
			SecurityGroupIds: a.VPC.SecurityGroupIDs,
		}
	}
	// The function waits for its permissions (Lambda creates VPC interfaces with them) and its
	// log group (else Lambda would create one without retention).
	fn, err := lambda.NewFunction(ctx, name+"-function", fnArgs, parent,
		pulumi.DependsOn([]pulumi.Resource{policy, logs}))
	if err != nil {
		return err
	}

	if a.Spec.StreamOf != nil {
		if err := f.declareStream(ctx, name, a, fn, role, policy); err != nil {
			return err
		}
	}

	if a.Spec.UploadsOf {
		if err := notifyOnUploads(ctx, name, a, fn, parent); err != nil {
			return err
		}
	}

	f.Arn = fn.Arn
	f.Name = fn.Name
	f.InvokeArn = fn.InvokeArn
	f.RoleArn = role.Arn
	f.LogGroupName = logs.Name
	return nil
}

// notifyOnUploads lets the images bucket, of this account only, invoke fn, and sends it the
// bucket's object-created events under the upload prefix. S3 keeps one notification
// configuration per bucket: this function owns it.
func notifyOnUploads(ctx *pulumi.Context, name string, a *FunctionArgs, fn *lambda.Function, parent pulumi.ResourceOption) error {
	account := aws.GetCallerIdentityOutput(ctx, aws.GetCallerIdentityOutputArgs{}).AccountId()
	permission, err := lambda.NewPermission(ctx, name+"-uploads-permission", &lambda.PermissionArgs{
		Action:        pulumi.String("lambda:InvokeFunction"),
		Function:      fn.Name,
		Principal:     pulumi.String("s3.amazonaws.com"),
		SourceArn:     a.BucketArn,
		SourceAccount: account,
	}, parent)
	if err != nil {
		return err
	}
	_, err = s3.NewBucketNotification(ctx, name+"-uploads", &s3.BucketNotificationArgs{
		Bucket: a.BucketName,
		LambdaFunctions: s3.BucketNotificationLambdaFunctionArray{
			&s3.BucketNotificationLambdaFunctionArgs{
				Id:                pulumi.String(a.Spec.Name + "-uploads"),
				LambdaFunctionArn: fn.Arn,
				Events:            pulumi.ToStringArray([]string{"s3:ObjectCreated:*"}),
				FilterPrefix:      pulumi.String(manifest.UploadPrefix),
			},
		},
	}, parent, pulumi.DependsOn([]pulumi.Resource{permission}))
	return err
}

func (a *FunctionArgs) validate() error {
	var errs []error
	s := a.Spec
	if s.Name == "" {
		errs = append(errs, errors.New("spec needs a name"))
	}
	if a.Archive == "" {
		errs = append(errs, errors.New("archive is required (see Packager)"))
	}
	if a.MemoryMB < MinMemoryMB || a.MemoryMB > MaxMemoryMB {
		errs = append(errs, fmt.Errorf("memory %d MB must be %d..%d", a.MemoryMB, MinMemoryMB, MaxMemoryMB))
	}
	if a.TimeoutSeconds < 1 || a.TimeoutSeconds > MaxTimeoutSeconds {
		errs = append(errs, fmt.Errorf("timeout %d s must be 1..%d", a.TimeoutSeconds, MaxTimeoutSeconds))
	}
	if a.ReservedConcurrency < 0 {
		errs = append(errs, fmt.Errorf("reserved concurrency %d must not be negative", a.ReservedConcurrency))
	}
	if a.LogRetentionDays <= 0 {
		errs = append(errs, errors.New("log retention days must be set"))
	}
	if r := a.Stream.FailureRetentionSeconds; r < 60 || r > maxQueueRetentionSeconds {
		errs = append(errs, fmt.Errorf("failure queue retention %d s must be 60..%d", r, maxQueueRetentionSeconds))
	}
	switch a.LogLevel {
	case "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL":
	default:
		errs = append(errs, fmt.Errorf("log level %q must be TRACE, DEBUG, INFO, WARN, ERROR or FATAL", a.LogLevel))
	}
	for _, g := range s.Tables {
		if ref, ok := a.Tables[g.Table.Name]; !ok || ref.Arn == nil {
			errs = append(errs, fmt.Errorf("table %q is used but not passed in Tables", g.Table.Name))
		}
		if len(g.Actions) == 0 {
			errs = append(errs, fmt.Errorf("table %q: a grant without actions", g.Table.Name))
		}
	}
	if s.StreamOf != nil {
		if ref, ok := a.Tables[s.StreamOf.Name]; !ok || ref.Arn == nil || ref.Stream == nil {
			errs = append(errs, fmt.Errorf("stream of table %q: table and its stream ARN not passed in Tables", s.StreamOf.Name))
		}
		if s.StreamOf.Stream == "" {
			errs = append(errs, fmt.Errorf("table %q has no stream", s.StreamOf.Name))
		}
	}
	if len(s.Bucket) > 0 && a.BucketArn == nil {
		errs = append(errs, errors.New("bucket grants need BucketArn"))
	}
	for _, g := range s.Bucket {
		if g.Prefix == "" || len(g.Actions) == 0 {
			errs = append(errs, fmt.Errorf("bucket grant %q needs a key prefix and actions", g.Prefix))
		}
	}
	if s.UploadsOf && (len(s.Bucket) == 0 || a.BucketArn == nil || a.BucketName == nil) {
		errs = append(errs, errors.New("uploads need bucket access, BucketArn and BucketName"))
	}
	if s.UploadsOf && s.StreamOf != nil {
		errs = append(errs, errors.New("a function is fed by a stream or by uploads, not both"))
	}
	if s.UsesCache() && (a.Cache == nil || a.VPC == nil) {
		errs = append(errs, errors.New("cache access needs Cache and VPC"))
	}
	if !s.UsesCache() && a.Cache != nil {
		errs = append(errs, errors.New("Cache given to a function whose spec does not use the cache"))
	}
	if a.Cache != nil && (s.Cache != nil) != (a.Cache.UserArn != nil) {
		errs = append(errs, errors.New("Cache.UserArn is given exactly when the spec has a cache user"))
	}
	if a.Cache != nil && (s.LimiterAccess() != nil) != (a.Cache.LimiterUserArn != nil) {
		errs = append(errs, errors.New("Cache.LimiterUserArn is given exactly when the spec limits routes"))
	}
	return errors.Join(errs...)
}

// StreamArn is the table's streams, as DynamoDB's documentation scopes stream readers: every
// stream of the table, so re-enabling the stream needs no policy change. It is for IAM
// policies only; a mapping needs the one current stream (TableRef.Stream).
func (r TableRef) StreamArn() pulumi.StringOutput {
	return pulumi.Sprintf("%s/stream/*", r.Arn)
}
