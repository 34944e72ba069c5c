package gofunc

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/internal/iampolicy"
)

// maxQueueRetentionSeconds is the longest SQS keeps a message: 14 days.
const maxQueueRetentionSeconds = 14 * 24 * 3600

// FailureQueue is where Lambda sends the record of a stream batch that failed every retry:
// the batch's shard and sequence numbers, not its records (see stacks/README.md to replay).
type FailureQueue struct {
	Arn pulumi.StringOutput
	// URL is the queue's URL (its id).
	URL pulumi.StringOutput
	// Name is the queue's name (the QueueName metric dimension).
	Name pulumi.StringOutput
}

// declareStream maps the table's stream to the function. A batch that fails every retry is
// not dropped: its record goes to the failure queue, which the role may send to and nothing
// else.
func (f *Function) declareStream(ctx *pulumi.Context, name string, a *FunctionArgs, fn *lambda.Function, role *iam.Role, policy *iam.RolePolicy) error {
	parent := pulumi.Parent(f)
	queue, err := sqs.NewQueue(ctx, name+"-failures", &sqs.QueueArgs{
		Name:                    pulumi.String(a.FunctionName + "-failures"),
		MessageRetentionSeconds: pulumi.Int(a.Stream.FailureRetentionSeconds),
		SqsManagedSseEnabled:    pulumi.Bool(true),
		Tags:                    a.Tags,
	}, parent)
	if err != nil {
		return err
	}
	if _, err := sqs.NewQueuePolicy(ctx, name+"-failures-policy", &sqs.QueuePolicyArgs{
		QueueUrl: queue.Url,
		Policy: iampolicy.Document(iampolicy.Statement{
			Sid:          "DenyInsecureTransport",
			Effect:       "Deny",
			AnyPrincipal: true,
			Actions:      []string{"sqs:*"},
			Resources:    []pulumi.StringInput{queue.Arn},
			Conditions:   []iampolicy.Condition{{Test: "Bool", Variable: "aws:SecureTransport", Values: iampolicy.Strings("false")}},
		}),
	}, parent); err != nil {
		return err
	}
	send, err := iam.NewRolePolicy(ctx, name+"-failures-send", &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: iampolicy.Document(iampolicy.Statement{
			Sid:       "SendFailedBatches",
			Actions:   []string{"sqs:SendMessage"},
			Resources: []pulumi.StringInput{queue.Arn},
		}),
	}, parent)
	if err != nil {
		return err
	}

	// Lambda checks the role's permissions when the mapping is created: both policies first.
	if _, err := lambda.NewEventSourceMapping(ctx, name+"-stream", &lambda.EventSourceMappingArgs{
		EventSourceArn:                 a.Tables[a.Spec.StreamOf.Name].Stream,
		FunctionName:                   fn.Arn,
		StartingPosition:               pulumi.String("LATEST"),
		BatchSize:                      pulumi.Int(a.Stream.BatchSize),
		MaximumBatchingWindowInSeconds: pulumi.Int(StreamBatchingWindowSeconds),
		MaximumRetryAttempts:           pulumi.Int(a.Stream.MaxRetries),
		BisectBatchOnFunctionError:     pulumi.Bool(true),
		FunctionResponseTypes:          pulumi.ToStringArray([]string{"ReportBatchItemFailures"}),
		DestinationConfig: &lambda.EventSourceMappingDestinationConfigArgs{
			OnFailure: &lambda.EventSourceMappingDestinationConfigOnFailureArgs{DestinationArn: queue.Arn},
		},
	}, parent, pulumi.DependsOn([]pulumi.Resource{policy, send})); err != nil {
		return err
	}
	f.FailureQueue = &FailureQueue{Arn: queue.Arn, URL: queue.Url, Name: queue.Name}
	return nil
}
