package gofunc

import (
	"strings"
	"unicode"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/internal/iampolicy"
	"github.com/shop-serverless/shop/functions/routes"
)

// Actions granted per access level. Transactions need no actions of their own: IAM checks
// each item of a TransactWriteItems against PutItem, UpdateItem, DeleteItem or
// ConditionCheckItem, and each item of a TransactGetItems against GetItem.
var (
	TableReadActions = []string{
		"dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan",
	}
	TableWriteActions = []string{
		"dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
	}
	StreamReadActions = []string{
		"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams",
	}
	BucketReadActions      = []string{"s3:GetObject"}
	BucketReadWriteActions = []string{"s3:DeleteObject", "s3:GetObject", "s3:PutObject"}
	// UnscopableActions support no resource-level permissions in IAM, so "*" is their only
	// possible resource. Policy tests allow "*" for these and nothing else.
	UnscopableActions = []string{
		"xray:PutTelemetryRecords", "xray:PutTraceSegments",
		"ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
		"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:UnassignPrivateIpAddresses",
	}
)

// Statements derives the function's policy from its spec: logs into its own group, traces,
// then each table, stream, the bucket and the cache it uses, nothing else.
func Statements(a *FunctionArgs, logGroupArn pulumi.StringInput) []iampolicy.Statement {
	s := a.Spec
	out := []iampolicy.Statement{
		{
			Sid:       "WriteOwnLogs",
			Actions:   []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			Resources: []pulumi.StringInput{pulumi.Sprintf("%s:*", logGroupArn)},
		},
		{
			Sid:       "WriteTraces",
			Actions:   []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"},
			Resources: iampolicy.Strings("*"),
		},
	}
	for _, t := range s.Tables {
		arn := a.Tables[t.Table.Name].Arn
		read := []pulumi.StringInput{arn}
		for _, ix := range t.Table.Indexes {
			read = append(read, pulumi.Sprintf("%s/index/%s", arn, ix.Name))
		}
		out = append(out, iampolicy.Statement{Sid: "Read" + sid(t.Table.Name), Actions: TableReadActions, Resources: read})
		if t.Access == routes.ReadWrite {
			out = append(out, iampolicy.Statement{Sid: "Write" + sid(t.Table.Name), Actions: TableWriteActions, Resources: []pulumi.StringInput{arn}})
		}
	}
	if st := s.StreamOf; st != nil {
		out = append(out, iampolicy.Statement{
			Sid:       "ReadStream" + sid(st.Name),
			Actions:   StreamReadActions,
			Resources: []pulumi.StringInput{a.Tables[st.Name].StreamArn()},
		})
	}
	switch s.Bucket {
	case routes.Read:
		out = append(out, iampolicy.Statement{Sid: "ReadImages", Actions: BucketReadActions, Resources: []pulumi.StringInput{pulumi.Sprintf("%s/*", a.BucketArn)}})
	case routes.ReadWrite:
		out = append(out, iampolicy.Statement{Sid: "ReadWriteImages", Actions: BucketReadWriteActions, Resources: []pulumi.StringInput{pulumi.Sprintf("%s/*", a.BucketArn)}})
	}
	if s.Cache && a.Cache != nil {
		// IAM authentication checks both: the cache and the user the token names.
		out = append(out, iampolicy.Statement{
			Sid:       "ConnectCache",
			Actions:   []string{"elasticache:Connect"},
			Resources: []pulumi.StringInput{a.Cache.Arn, a.Cache.UserArn},
		})
	}
	if a.VPC != nil {
		// What AWSLambdaVPCAccessExecutionRole grants: Lambda manages the function's network
		// interfaces with the function's role; EC2 cannot scope these to resources.
		out = append(out, iampolicy.Statement{
			Sid: "ManageVpcInterfaces",
			Actions: []string{
				"ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
				"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:UnassignPrivateIpAddresses",
			},
			Resources: iampolicy.Strings("*"),
		})
	}
	return out
}

// sid turns a table name into a statement id part: "idempotency" -> "Idempotency".
func sid(name string) string {
	var b strings.Builder
	upper := true
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			upper = true
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
			upper = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
