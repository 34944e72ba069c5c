package main

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/shop-serverless/shop/components/awsmock"
)

// Shapes of the ids and ARNs AWS hands out, in the mocked region and account.
const (
	region      = awsmock.DefaultRegion
	account     = awsmock.DefaultAccount
	uuidShape   = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
	lambdaName  = `[A-Za-z0-9_-]{1,64}`
	functionArn = `arn:aws:lambda:` + region + `:` + account + `:function:` + lambdaName
	roleName    = `[\w+=,.@-]{1,64}`
	roleArn     = `arn:aws:iam::` + account + `:role/` + roleName
	logGroup    = `[\w/.#-]{1,512}`
	logGroupArn = `arn:aws:logs:` + region + `:` + account + `:log-group:` + logGroup
	topicArn    = `arn:aws:sns:` + region + `:` + account + `:[\w-]{1,256}`
	queueArn    = `arn:aws:sqs:` + region + `:` + account + `:[\w-]{1,80}`
	keyArn      = `arn:aws:kms:` + region + `:` + account + `:key/` + uuidShape
	bucketName  = `[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]`
	streamArn   = `arn:aws:dynamodb:` + region + `:` + account + `:table/[\w.-]{3,255}/stream/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}`
	userPoolID  = region + `_[A-Za-z0-9]{9}`
	cacheID     = `[a-z][a-z0-9-]{0,39}`
	// wafRegion is where CloudFront's web ACLs and their logs live.
	wafRegion = "us-east-1"
	webACLArn = `arn:aws:wafv2:` + wafRegion + `:` + account + `:global/webacl/[\w-]{1,128}/` + uuidShape
)

// referenceShapes are the input properties that name one resource, by property name (or
// "parent.property" where the name alone is ambiguous), and the shape of a value the service
// accepts there. A wildcard fits none of them.
var referenceShapes = map[string]string{
	"eventSourceArn":                        streamArn + `|` + queueArn,
	"functionName":                          functionArn + `|` + lambdaName,
	"function":                              lambdaName + `|` + functionArn,
	"role":                                  roleArn + `|` + roleName,
	"iamRoleArn":                            roleArn,
	"logDestination":                        logGroupArn + `|arn:aws:s3:::` + bucketName,
	"destinationArn":                        logGroupArn + `|` + queueArn + `|` + topicArn,
	"logDeliveryConfigurations.destination": logGroup,
	"loggingConfig.logGroup":                logGroup,
	"loggingConfig.bucket":                  bucketName + `\.s3\.amazonaws\.com`,
	"kmsMasterKeyId":                        keyArn,
	"kmsKeyArn":                             keyArn,
	"kmsKeyId":                              keyArn,
	"targetKeyId":                           uuidShape,
	"topic":                                 topicArn,
	"alarmActions":                          topicArn,
	"okActions":                             topicArn,
	"queueUrl":                              `https://sqs\.` + region + `\.amazonaws\.com/` + account + `/[\w-]{1,80}`,
	"apiId":                                 `[a-z0-9]{10}`,
	"authorizerId":                          `[a-z0-9]{6}`,
	"target":                                `integrations/[a-z0-9]{7}`,
	"integrationUri":                        `arn:aws:apigateway:` + region + `:lambda:path/2015-03-31/functions/` + functionArn + `/invocations`,
	"jwtConfiguration.issuer":               `https://cognito-idp\.` + region + `\.amazonaws\.com/` + userPoolID,
	"jwtConfiguration.audiences":            `[a-z0-9]{26}`,
	"userPoolId":                            userPoolID,
	"origins.domainName":                    bucketName + `\.s3\.` + region + `\.amazonaws\.com|[a-z0-9]{10}\.execute-api\.` + region + `\.amazonaws\.com`,
	"webAclId":                              webACLArn,
	"resourceArn":                           webACLArn,
	"logDestinationConfigs":                 `arn:aws:logs:` + wafRegion + `:` + account + `:log-group:aws-waf-logs-[\w/.#-]{1,499}`,
	"defaultCacheBehavior.originRequestPolicyId": uuidShape,
	"originAccessControlId":                      `E[A-Z0-9]{12,13}`,
	"defaultCacheBehavior.cachePolicyId":         uuidShape,
	"vpcId":                                      `vpc-[0-9a-f]{17}`,
	"subnetId":                                   `subnet-[0-9a-f]{17}`,
	"subnetIds":                                  `subnet-[0-9a-f]{17}`,
	"securityGroupId":                            `sg-[0-9a-f]{17}`,
	"securityGroupIds":                           `sg-[0-9a-f]{17}`,
	"sourceSecurityGroupId":                      `sg-[0-9a-f]{17}`,
	"routeTableId":                               `rtb-[0-9a-f]{17}`,
	"routeTableIds":                              `rtb-[0-9a-f]{17}`,
	"natGatewayId":                               `nat-[0-9a-f]{17}`,
	"gatewayId":                                  `igw-[0-9a-f]{17}`,
	"allocationId":                               `eipalloc-[0-9a-f]{17}`,
	"prefixListIds":                              `pl-[0-9a-f]{8}`,
	"bucket":                                     bucketName,
	"targetBucket":                               bucketName,
	"userGroupIds":                               cacheID,
	"userIds":                                    cacheID,
	"subnetGroupName":                            `[a-z0-9-]{1,255}`,
	"onFailure.destinationArn":                   queueArn + `|` + topicArn,
	"redrivePolicy.deadLetterTargetArn":          queueArn,
	"domainNameConfiguration.certificateArn":     `arn:aws:acm:` + region + `:\d{12}:certificate/` + uuidShape,
}

// referencePrefixes come before the referenced value: a route's target is
// "integrations/<id>", an issuer "https://<user pool endpoint>".
var referencePrefixes = map[string]string{"target": "integrations/", "jwtConfiguration.issuer": "https://"}

// externalReferences name resources outside the stack: AWS managed ones.
var externalReferences = map[string]bool{"defaultCacheBehavior.cachePolicyId": true, "defaultCacheBehavior.originRequestPolicyId": true}

// policyDocuments hold IAM policy language, where a wildcard may be what IAM requires; the
// policy tests check them. A Lambda permission's source ARN is a condition of the function's
// resource policy (ArnLike), checked per route by TestPolicyInvokePermissionsPerRoute.
var policyDocuments = map[string]bool{"policy": true, "assumeRolePolicy": true}

// concreteArnIn matches an ARN of one resource: partition, service, the region (or none for
// global services) and account (or none), and a resource part without wildcards.
func concreteArnIn(region string) *regexp.Regexp {
	return regexp.MustCompile(`^arn:aws:[a-z0-9-]+:(` + region + `)?:(` + account + `)?:[A-Za-z0-9/_.:$@+=,#-]+$`)
}

// TestReferencesAreConcrete: every input that names one resource (event sources, targets,
// destinations, origins, log destinations, subscriptions, authorizer issuers, keys, network
// ids) is a value of the shape the service accepts, without wildcards, and is the id, ARN or
// address of a resource of the stack; every ARN outside IAM policy documents is concrete.
func TestReferencesAreConcrete(t *testing.T) {
	forEachStack(t, func(t *testing.T, _ string, m *awsmock.Mocks) {
		known := map[string]map[string]bool{} // value -> URNs that answer it
		for _, r := range m.Resources() {
			if !r.Custom {
				continue
			}
			answers := []any{r.ID}
			for _, v := range r.Outputs {
				answers = append(answers, v)
			}
			for _, v := range answers {
				if s, ok := v.(string); ok && s != "" {
					// A URL's host names the resource too (a custom origin's domain name).
					for _, s := range []string{s, strings.TrimPrefix(s, "https://")} {
						if known[s] == nil {
							known[s] = map[string]bool{}
						}
						known[s][r.URN] = true
					}
				}
			}
		}
		checked := 0
		for _, r := range m.Resources() {
			if !r.Custom {
				continue
			}
			walkStrings(r.Inputs, nil, func(path []string, v string) {
				key := path[len(path)-1]
				if policyDocuments[key] || (r.Type == "aws:lambda/permission:Permission" && key == "sourceArn") {
					return
				}
				ref := key
				if len(path) > 1 {
					if _, ok := referenceShapes[path[len(path)-2]+"."+key]; ok {
						ref = path[len(path)-2] + "." + key
					}
				}
				shape, ok := referenceShapes[ref]
				// A resource of another region (through an explicit provider) names that
				// region's resources.
				shape = strings.ReplaceAll(shape, region, r.Region)
				if !ok {
					if strings.HasPrefix(v, "arn:") && !concreteArnIn(r.Region).MatchString(v) {
						t.Errorf("%s.%s = %q is not a concrete ARN of %s/%s", r.Name, strings.Join(path, "."), v, region, account)
					}
					return
				}
				checked++
				if !regexp.MustCompile(`^(` + shape + `)$`).MatchString(v) {
					t.Errorf("%s.%s = %q does not name one resource (want %s)", r.Name, strings.Join(path, "."), v, shape)
					return
				}
				if externalReferences[ref] {
					return
				}
				target := strings.TrimPrefix(v, referencePrefixes[ref])
				if others := without(known[target], r.URN); len(others) == 0 {
					t.Errorf("%s.%s = %q is no resource of the stack", r.Name, strings.Join(path, "."), v)
				}
			})
		}
		if checked < 100 {
			t.Errorf("only %d references checked; the walk missed the graph", checked)
		}
	})
}

// walkStrings calls fn for every string in v with its property path (array elements take
// their array's name).
func walkStrings(v any, path []string, fn func(path []string, v string)) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walkStrings(x[k], append(append([]string(nil), path...), k), fn)
		}
	case []any:
		for _, e := range x {
			walkStrings(e, path, fn)
		}
	case string:
		if len(path) > 0 {
			fn(path, x)
		}
	}
}

func without(set map[string]bool, urn string) []string {
	var out []string
	for k := range set {
		if k != urn {
			out = append(out, k)
		}
	}
	return out
}
