package iampolicy_test

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/internal/iampolicy"
)

func TestDocument(t *testing.T) {
	tests := []struct {
		name string
		doc  func() pulumi.StringOutput
		want string
	}{
		{
			name: "trust policy",
			doc:  func() pulumi.StringOutput { return iampolicy.AssumeRole("lambda.amazonaws.com") },
			want: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com"]},"Action":["sts:AssumeRole"]}]}`,
		},
		{
			name: "trust policy against the confused deputy",
			doc: func() pulumi.StringOutput {
				return iampolicy.AssumeRole("vpc-flow-logs.amazonaws.com",
					iampolicy.SourceAccount(pulumi.String("123456789012")),
					iampolicy.SourceArnLike(pulumi.String("arn:aws:ec2:eu-central-1:123456789012:vpc-flow-log/*")))
			},
			want: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["vpc-flow-logs.amazonaws.com"]},"Action":["sts:AssumeRole"],` +
				`"Condition":{"ArnLike":{"aws:SourceArn":["arn:aws:ec2:eu-central-1:123456789012:vpc-flow-log/*"]},"StringEquals":{"aws:SourceAccount":["123456789012"]}}}]}`,
		},
		{
			name: "outputs, conditions, any principal, deny",
			doc: func() pulumi.StringOutput {
				arn := pulumi.String("arn:aws:s3:::b").ToStringOutput()
				return iampolicy.Document(
					iampolicy.Statement{
						Sid: "Deny", Effect: "Deny", AnyPrincipal: true, Actions: []string{"s3:*"},
						Resources:  []pulumi.StringInput{arn, pulumi.Sprintf("%s/*", arn)},
						Conditions: []iampolicy.Condition{{Test: "Bool", Variable: "aws:SecureTransport", Values: iampolicy.Strings("false")}},
					},
					iampolicy.Statement{
						Sid: "Root", AWSPrincipals: []pulumi.StringInput{pulumi.String("arn:aws:iam::1:root")},
						Principal: map[string][]string{"Service": {"x.amazonaws.com"}},
						Actions:   []string{"kms:Decrypt"}, Resources: iampolicy.Strings("*"),
					},
				)
			},
			want: `{"Version":"2012-10-17","Statement":[` +
				`{"Sid":"Deny","Effect":"Deny","Principal":"*","Action":["s3:*"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":["false"]}}},` +
				`{"Sid":"Root","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:root"],"Service":["x.amazonaws.com"]},"Action":["kms:Decrypt"],"Resource":["*"]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			if err := awsmock.New("shop", "test").Run(func(ctx *pulumi.Context) error {
				awsmock.Capture(ctx, "doc", tt.doc(), &got)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
