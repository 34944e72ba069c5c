package awsmock

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// StreamLabel is the label of every mocked DynamoDB stream: a stream ARN ends with the time
// the stream was enabled, as DynamoDB names it.
const StreamLabel = "2024-01-01T00:00:00.000"

// outputs answers a custom resource's id and state in region: its inputs plus the computed
// properties the shop's components read, shaped as AWS shapes them. A type without a shape here is an
// error, so no test runs against an id or ARN the real service would never return.
func (m *Mocks) outputs(typ, name, region string, inputs resource.PropertyMap) (string, resource.PropertyMap, error) {
	state := inputs.Copy()
	str := func(key string) string {
		if v, ok := inputs[resource.PropertyKey(key)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	set := func(key string, v any) { state[resource.PropertyKey(key)] = resource.NewPropertyValue(v) }
	// named returns the physical name: the input when given, else the resource name (a real
	// deployment would append a random suffix; the mock keeps names readable and stable).
	named := func(key string) string {
		if s := str(key); s != "" {
			return s
		}
		set(key, name)
		return name
	}
	arn := func(service, res string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, m.Account, res)
	}
	// Generated ids are derived from the type and name, so they are stable across runs.
	seed := typ + "/" + name
	ec2ID := func(prefix string) string { return prefix + "-" + hexOf(seed, 17) }

	var id string
	switch typ {
	case "aws:dynamodb/table:Table":
		id = named("name")
		set("arn", arn("dynamodb", "table/"+id))
		if v, ok := inputs["streamEnabled"]; ok && v.IsBool() && v.BoolValue() {
			set("streamArn", arn("dynamodb", "table/"+id+"/stream/"+StreamLabel))
			set("streamLabel", StreamLabel)
		}
	case "aws:s3/bucketV2:BucketV2":
		id = named("bucket")
		set("arn", "arn:aws:s3:::"+id)
		set("bucketDomainName", id+".s3.amazonaws.com")
		set("bucketRegionalDomainName", fmt.Sprintf("%s.s3.%s.amazonaws.com", id, region))
	case "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
		"aws:s3/bucketOwnershipControls:BucketOwnershipControls",
		"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
		"aws:s3/bucketVersioningV2:BucketVersioningV2",
		"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
		"aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2",
		"aws:s3/bucketLoggingV2:BucketLoggingV2",
		"aws:s3/bucketNotification:BucketNotification",
		"aws:s3/bucketPolicy:BucketPolicy":
		// A bucket's sub-resources are identified by the bucket's name.
		id = str("bucket")
	case "aws:lambda/function:Function":
		id = named("name")
		a := arn("lambda", "function:"+id)
		set("arn", a)
		set("qualifiedArn", a+":$LATEST")
		set("invokeArn", fmt.Sprintf("arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", region, a))
	case "aws:lambda/permission:Permission":
		id = named("statementId")
	case "aws:lambda/eventSourceMapping:EventSourceMapping":
		id = uuidOf(seed)
		set("uuid", id)
		set("arn", arn("lambda", "event-source-mapping:"+id))
	case "aws:iam/role:Role":
		id = named("name")
		set("arn", fmt.Sprintf("arn:aws:iam::%s:role/%s", m.Account, id))
		set("uniqueId", "AROA"+strings.ToUpper(alnumOf(seed, 17)))
	case "aws:iam/rolePolicy:RolePolicy":
		id = str("role") + ":" + named("name")
	case "aws:cloudwatch/logGroup:LogGroup":
		id = named("name")
		set("arn", arn("logs", "log-group:"+id))
	case "aws:cloudwatch/metricAlarm:MetricAlarm":
		id = named("name")
		set("arn", arn("cloudwatch", "alarm:"+id))
	case "aws:cloudwatch/dashboard:Dashboard":
		id = named("dashboardName")
		set("dashboardArn", fmt.Sprintf("arn:aws:cloudwatch::%s:dashboard/%s", m.Account, id))
	case "aws:sns/topic:Topic":
		id = arn("sns", named("name"))
		set("arn", id)
	case "aws:sns/topicSubscription:TopicSubscription":
		id = str("topic") + ":" + uuidOf(seed)
		set("arn", id)
	case "aws:sqs/queue:Queue":
		n := named("name")
		id = fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", region, m.Account, n)
		set("arn", arn("sqs", n))
		set("url", id)
	case "aws:sqs/queuePolicy:QueuePolicy":
		id = str("queueUrl")
	case "aws:kms/key:Key":
		id = uuidOf(seed)
		set("keyId", id)
		set("arn", arn("kms", "key/"+id))
	case "aws:kms/alias:Alias":
		id = str("name")
		set("arn", arn("kms", id))
		set("targetKeyArn", arn("kms", "key/"+str("targetKeyId")))
	case "aws:elasticache/replicationGroup:ReplicationGroup":
		id = named("replicationGroupId")
		set("arn", arn("elasticache", "replicationgroup:"+id))
		set("primaryEndpointAddress", fmt.Sprintf("master.%s.%s.%s.cache.amazonaws.com", id, alnumOf(seed, 6), regionCode(region)))
		set("readerEndpointAddress", fmt.Sprintf("replica.%s.%s.%s.cache.amazonaws.com", id, alnumOf(seed, 6), regionCode(region)))
		if _, ok := inputs["port"]; !ok {
			set("port", 6379)
		}
	case "aws:elasticache/serverlessCache:ServerlessCache":
		id = named("name")
		set("arn", arn("elasticache", "serverlesscache:"+id))
		host := fmt.Sprintf("%s-%s.serverless.%s.cache.amazonaws.com", id, alnumOf(seed, 6), regionCode(region))
		set("endpoints", []any{map[string]any{"address": host, "port": 6379}})
		set("readerEndpoints", []any{map[string]any{"address": host, "port": 6380}})
	case "aws:elasticache/user:User":
		id = str("userId")
		set("arn", arn("elasticache", "user:"+id))
	case "aws:elasticache/userGroup:UserGroup":
		id = str("userGroupId")
		set("arn", arn("elasticache", "usergroup:"+id))
	case "aws:elasticache/subnetGroup:SubnetGroup":
		id = named("name")
		set("arn", arn("elasticache", "subnetgroup:"+id))
	case "aws:apigatewayv2/api:Api":
		id = alnumOf(seed, 10)
		set("apiEndpoint", fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com", id, region))
		set("executionArn", arn("execute-api", id))
		set("arn", fmt.Sprintf("arn:aws:apigateway:%s::/apis/%s", region, id))
	case "aws:apigatewayv2/authorizer:Authorizer":
		id = alnumOf(seed, 6)
	case "aws:apigatewayv2/integration:Integration", "aws:apigatewayv2/route:Route":
		id = alnumOf(seed, 7)
	case "aws:apigatewayv2/stage:Stage":
		id = str("name")
		set("invokeUrl", fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com/", str("apiId"), region))
		set("executionArn", arn("execute-api", str("apiId")+"/"+id))
		set("arn", fmt.Sprintf("arn:aws:apigateway:%s::/apis/%s/stages/%s", region, str("apiId"), id))
	case "aws:apigatewayv2/domainName:DomainName":
		id = str("domainName")
		set("arn", fmt.Sprintf("arn:aws:apigateway:%s::/domainnames/%s", region, id))
		if v, ok := inputs["domainNameConfiguration"]; ok && v.IsObject() {
			cfg := v.ObjectValue().Copy()
			cfg["targetDomainName"] = resource.NewPropertyValue(fmt.Sprintf("d-%s.execute-api.%s.amazonaws.com", alnumOf(seed, 10), region))
			cfg["hostedZoneId"] = resource.NewPropertyValue("Z1U9ULNL0V5AJ3") // API Gateway's regional zone in eu-central-1
			state["domainNameConfiguration"] = resource.NewObjectProperty(cfg)
		}
	case "aws:apigatewayv2/apiMapping:ApiMapping":
		id = alnumOf(seed, 6)
	case "aws:route53/record:Record":
		id = str("zoneId") + "_" + str("name") + "_" + str("type")
	case "aws:cloudfront/distribution:Distribution":
		id = "E" + strings.ToUpper(alnumOf(seed, 13))
		set("domainName", "d"+alnumOf(seed+"/domain", 13)+".cloudfront.net")
		set("arn", fmt.Sprintf("arn:aws:cloudfront::%s:distribution/%s", m.Account, id))
		set("hostedZoneId", "Z2FDTNDATAQYW2") // CloudFront's one hosted zone
	case "aws:cloudfront/originAccessControl:OriginAccessControl":
		id = "E" + strings.ToUpper(alnumOf(seed, 13))
	case "aws:cloudfront/function:Function":
		id = named("name")
		set("arn", fmt.Sprintf("arn:aws:cloudfront::%s:function/%s", m.Account, id))
		set("liveStageEtag", "E"+strings.ToUpper(alnumOf(seed+"/etag", 12)))
	case "aws:cloudfront/keyValueStore:KeyValueStore":
		id = named("name")
		set("arn", fmt.Sprintf("arn:aws:cloudfront::%s:key-value-store/%s", m.Account, uuidOf(seed)))
	case "aws:cloudfront/keyvaluestoreKey:KeyvaluestoreKey":
		// The provider identifies a key by its store and name.
		id = str("keyValueStoreArn") + "," + str("key")
	case "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "aws:cloudfront/cachePolicy:CachePolicy":
		id = uuidOf(seed)
	case "aws:cognito/userPool:UserPool":
		id = region + "_" + alnumMixedOf(seed, 9)
		set("arn", arn("cognito-idp", "userpool/"+id))
		set("endpoint", fmt.Sprintf("cognito-idp.%s.amazonaws.com/%s", region, id))
	case "aws:cognito/userPoolClient:UserPoolClient":
		id = alnumOf(seed, 26)
	case "aws:cognito/userGroup:UserGroup":
		id = str("userPoolId") + "/" + str("name")
	case "aws:cognito/userPoolDomain:UserPoolDomain":
		id = str("domain")
		set("cloudfrontDistribution", "d"+alnumOf(seed+"/domain", 13)+".cloudfront.net")
		set("cloudfrontDistributionArn", fmt.Sprintf("arn:aws:cloudfront::%s:distribution/E%s", m.Account, strings.ToUpper(alnumOf(seed, 13))))
	case "aws:cognito/riskConfiguration:RiskConfiguration":
		id = str("userPoolId")
	case "aws:s3/bucketObjectv2:BucketObjectv2":
		id = str("key")
		set("arn", "arn:aws:s3:::"+str("bucket")+"/"+id)
	case "aws:iam/policy:Policy":
		n := named("name")
		id = fmt.Sprintf("arn:aws:iam::%s:policy/%s", m.Account, n)
		set("arn", id)
	case "aws:elasticache/userGroupAssociation:UserGroupAssociation":
		id = str("userGroupId") + "," + str("userId")
	case "aws:ec2/vpc:Vpc":
		id = ec2ID("vpc")
		set("arn", arn("ec2", "vpc/"+id))
	case "aws:ec2/subnet:Subnet":
		id = ec2ID("subnet")
		set("arn", arn("ec2", "subnet/"+id))
	case "aws:ec2/routeTable:RouteTable":
		id = ec2ID("rtb")
		set("arn", arn("ec2", "route-table/"+id))
	case "aws:ec2/routeTableAssociation:RouteTableAssociation":
		id = ec2ID("rtbassoc")
	case "aws:ec2/route:Route":
		// The provider's id for a route: "r-" + the route table's id + a hash of the destination.
		id = "r-" + str("routeTableId") + digitsOf(seed, 10)
	case "aws:ec2/internetGateway:InternetGateway":
		id = ec2ID("igw")
		set("arn", arn("ec2", "internet-gateway/"+id))
	case "aws:ec2/eip:Eip":
		id = ec2ID("eipalloc")
		set("allocationId", id)
		set("publicIp", "198.51.100."+fmt.Sprint(1+int(sha256.Sum256([]byte(seed))[0])%254))
	case "aws:ec2/natGateway:NatGateway":
		id = ec2ID("nat")
	case "aws:ec2/vpcEndpoint:VpcEndpoint":
		id = ec2ID("vpce")
		set("arn", arn("ec2", "vpc-endpoint/"+id))
		set("prefixListId", "pl-"+hexOf(seed+"/prefix-list", 8))
	case "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":
		id = ec2ID("sg")
		if typ == "aws:ec2/securityGroup:SecurityGroup" {
			named("name")
		}
		set("arn", arn("ec2", "security-group/"+id))
	case "aws:ec2/securityGroupRule:SecurityGroupRule":
		id = "sgrule-" + digitsOf(seed, 10)
	case "aws:ec2/flowLog:FlowLog":
		id = ec2ID("fl")
		set("arn", arn("ec2", "vpc-flow-log/"+id))
	case "pulumi:providers:aws":
		id = uuidOf(seed)
	case "aws:wafv2/webAcl:WebAcl":
		id = uuidOf(seed)
		scope := "regional"
		if str("scope") == "CLOUDFRONT" {
			scope = "global"
		}
		set("arn", arn("wafv2", scope+"/webacl/"+named("name")+"/"+id))
		set("capacity", 0)
		set("lockToken", uuidOf(seed+"/lock"))
	case "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration":
		// The provider identifies a logging configuration by its web ACL's ARN.
		id = str("resourceArn")
	case "aws:ssm/parameter:Parameter":
		id = named("name")
		set("arn", arn("ssm", "parameter/"+strings.TrimPrefix(id, "/")))
		set("version", 1)
	default:
		return "", nil, fmt.Errorf("awsmock: no id or ARN shape for %s (%s): add the real service's shape to outputs.go", typ, name)
	}
	return id, state, nil
}

// regionCode is the region's short form in ElastiCache endpoints: eu-central-1 -> euc1.
func regionCode(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) != 3 {
		return region
	}
	return parts[0] + parts[1][:1] + parts[2]
}

func hashOf(seed string) [32]byte { return sha256.Sum256([]byte(seed)) }

// hexOf is n lower-case hex digits derived from seed.
func hexOf(seed string, n int) string {
	h := hashOf(seed)
	return hex.EncodeToString(h[:])[:n]
}

// fromAlphabet is n characters of alphabet derived from seed.
func fromAlphabet(seed string, n int, alphabet string) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		h := hashOf(fmt.Sprintf("%s#%d", seed, i))
		for _, c := range h {
			if b.Len() == n {
				break
			}
			b.WriteByte(alphabet[int(c)%len(alphabet)])
		}
	}
	return b.String()
}

func alnumOf(seed string, n int) string {
	return fromAlphabet(seed, n, "abcdefghijklmnopqrstuvwxyz0123456789")
}

func alnumMixedOf(seed string, n int) string {
	return fromAlphabet(seed, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
}

func digitsOf(seed string, n int) string {
	return fromAlphabet(seed, n, "0123456789")
}

// uuidOf is a version-4-shaped UUID derived from seed.
func uuidOf(seed string) string {
	h := hexOf(seed, 32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}
