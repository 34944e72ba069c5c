package gofunc

import (
	"strings"
	"unicode"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/internal/iampolicy"
	"github.com/shop-serverless/shop/functions/manifest"
)

// Stream and VPC actions Lambda performs with the function's role.
var (
	// StreamReadActions are what the event source mapping's poller needs on the stream.
	StreamReadActions = []string{
		"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams",
	}
	// UnscopableActions support no resource-level permissions in IAM, so "*" is their only
	// possible resource.
	UnscopableActions = []string{
		"xray:PutTelemetryRecords", "xray:PutTraceSegments",
		"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
	}
	// VPCInterfaceActions are what Lambda needs of a VPC function's role to manage the
	// function's network interfaces, granted on "*" as AWSLambdaVPCAccessExecutionRole
	// does: the interfaces are Lambda's to create, and their ids are not known before.
	VPCInterfaceActions = []string{
		"ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
		"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:UnassignPrivateIpAddresses",
	}
)

// Statements derives the function's policy from its spec: logs into its own group, traces,
// then each of its table, index and bucket grants with exactly their actions, the stream,
// and the cache user, nothing else.
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
	for _, g := range s.Tables {
		out = append(out, tableStatement(g, a.Tables[g.Table.Name].Arn))
	}
	if st := s.StreamOf; st != nil {
		out = append(out, iampolicy.Statement{
			Sid:       "ReadStream" + sid(st.Name),
			Actions:   StreamReadActions,
			Resources: []pulumi.StringInput{a.Tables[st.Name].StreamArn()},
		})
	}
	for _, g := range s.Bucket {
		// Object actions are scoped by the key prefix in the ARN; s3:prefix would only
		// narrow ListBucket, which no function is granted.
		out = append(out, iampolicy.Statement{
			Sid:       "Images" + sid(g.Prefix),
			Actions:   actions(g.Actions),
			Resources: []pulumi.StringInput{pulumi.Sprintf("%s/%s*", a.BucketArn, g.Prefix)},
		})
	}
	if s.UsesCache() && a.Cache != nil {
		// IAM authentication checks both: the cache and the user the token names.
		resources := []pulumi.StringInput{a.Cache.Arn}
		for _, u := range []pulumi.StringInput{a.Cache.UserArn, a.Cache.LimiterUserArn} {
			if u != nil {
				resources = append(resources, u)
			}
		}
		out = append(out, iampolicy.Statement{
			Sid:       "ConnectCache",
			Actions:   []string{"elasticache:Connect"},
			Resources: resources,
		})
	}
	if a.VPC != nil {
		out = append(out, iampolicy.Statement{
			Sid:       "ManageVpcInterfaces",
			Actions:   VPCInterfaceActions,
			Resources: iampolicy.Strings("*"),
		})
	}
	return out
}

// tableStatement is one table grant: its actions on the table or its index. A grant limited
// to attributes allows only requests that name no others, and answers that return no others
// (ALL_OLD or ALL_NEW would return the whole item).
func tableStatement(g manifest.TableGrant, tableArn pulumi.StringInput) iampolicy.Statement {
	st := iampolicy.Statement{
		Sid:       "Table" + sid(g.Table.Name) + sid(g.Index),
		Actions:   actions(g.Actions),
		Resources: []pulumi.StringInput{tableArn},
	}
	if g.Index != "" {
		st.Resources = []pulumi.StringInput{pulumi.Sprintf("%s/index/%s", tableArn, g.Index)}
	}
	if len(g.Attributes) > 0 {
		st.Sid += "Attributes"
		st.Conditions = []iampolicy.Condition{
			{Test: "ForAllValues:StringEquals", Variable: "dynamodb:Attributes", Values: iampolicy.Strings(g.Attributes...)},
			{Test: "StringEqualsIfExists", Variable: "dynamodb:ReturnValues", Values: iampolicy.Strings("NONE", "UPDATED_OLD", "UPDATED_NEW")},
		}
	}
	return st
}

func actions(as []manifest.Action) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = string(a)
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
