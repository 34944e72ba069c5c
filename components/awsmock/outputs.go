package awsmock

import (
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// outputs answers a custom resource's id and state: its inputs plus the computed properties
// the shop's components read, shaped as AWS shapes them.
func (m *Mocks) outputs(typ, name string, inputs resource.PropertyMap) (string, resource.PropertyMap) {
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
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, m.Region, m.Account, res)
	}
	id := name + "-id"

	switch typ {
	case "aws:dynamodb/table:Table":
		n := named("name")
		id = n
		set("arn", arn("dynamodb", "table/"+n))
		if v, ok := inputs["streamEnabled"]; ok && v.IsBool() && v.BoolValue() {
			set("streamArn", arn("dynamodb", "table/"+n+"/stream/2025-01-01T00:00:00.000"))
			set("streamLabel", "2025-01-01T00:00:00.000")
		}
	case "aws:s3/bucketV2:BucketV2":
		n := named("bucket")
		id = n
		set("arn", "arn:aws:s3:::"+n)
		set("bucketDomainName", n+".s3.amazonaws.com")
		set("bucketRegionalDomainName", fmt.Sprintf("%s.s3.%s.amazonaws.com", n, m.Region))
	case "aws:lambda/function:Function":
		n := named("name")
		id = n
		a := arn("lambda", "function:"+n)
		set("arn", a)
		set("qualifiedArn", a+":$LATEST")
		set("invokeArn", fmt.Sprintf("arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", m.Region, a))
	case "aws:iam/role:Role":
		n := named("name")
		id = n
		set("arn", fmt.Sprintf("arn:aws:iam::%s:role/%s", m.Account, n))
	case "aws:cloudwatch/logGroup:LogGroup":
		n := named("name")
		id = n
		set("arn", arn("logs", "log-group:"+n))
	case "aws:sns/topic:Topic":
		n := named("name")
		id = arn("sns", n)
		set("arn", id)
	case "aws:kms/key:Key":
		set("keyId", id)
		set("arn", arn("kms", "key/"+id))
	case "aws:kms/alias:Alias":
		set("arn", arn("kms", str("name")))
	case "aws:elasticache/replicationGroup:ReplicationGroup":
		n := named("replicationGroupId")
		id = n
		set("arn", arn("elasticache", "replicationgroup:"+n))
		set("primaryEndpointAddress", fmt.Sprintf("master.%s.mock01.%s.cache.amazonaws.com", n, m.Region))
		set("readerEndpointAddress", fmt.Sprintf("replica.%s.mock01.%s.cache.amazonaws.com", n, m.Region))
		if _, ok := inputs["port"]; !ok {
			set("port", 6379)
		}
	case "aws:elasticache/serverlessCache:ServerlessCache":
		n := named("name")
		id = n
		set("arn", arn("elasticache", "serverlesscache:"+n))
		host := fmt.Sprintf("%s-mock01.serverless.%s.cache.amazonaws.com", n, m.Region)
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
	case "aws:apigatewayv2/api:Api":
		set("apiEndpoint", fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com", id, m.Region))
		set("executionArn", arn("execute-api", id))
		set("arn", fmt.Sprintf("arn:aws:apigateway:%s::/apis/%s", m.Region, id))
	case "aws:apigatewayv2/stage:Stage":
		set("invokeUrl", fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com/", str("apiId"), m.Region))
		set("executionArn", arn("execute-api", str("apiId")+"/"+str("name")))
	case "aws:apigatewayv2/domainName:DomainName":
		id = str("domainName")
		if v, ok := inputs["domainNameConfiguration"]; ok && v.IsObject() {
			cfg := v.ObjectValue().Copy()
			cfg["targetDomainName"] = resource.NewPropertyValue(fmt.Sprintf("d-mock01.execute-api.%s.amazonaws.com", m.Region))
			cfg["hostedZoneId"] = resource.NewPropertyValue("ZMOCKREGIONAL")
			state["domainNameConfiguration"] = resource.NewObjectProperty(cfg)
		}
	case "aws:cloudfront/distribution:Distribution":
		id = strings.ToUpper(strings.ReplaceAll(name, "-", ""))
		set("domainName", strings.ToLower(id)+".cloudfront.net")
		set("arn", fmt.Sprintf("arn:aws:cloudfront::%s:distribution/%s", m.Account, id))
		set("hostedZoneId", "Z2FDTNDATAQYW2")
	case "aws:cloudfront/function:Function":
		n := named("name")
		id = n
		set("arn", fmt.Sprintf("arn:aws:cloudfront::%s:function/%s", m.Account, n))
		set("liveStageEtag", "ETVPDKIKX0DER")
	case "aws:cloudfront/keyValueStore:KeyValueStore":
		n := named("name")
		id = n
		set("arn", fmt.Sprintf("arn:aws:cloudfront::%s:key-value-store/%s", m.Account, uuidOf(name)))
	case "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy":
		id = uuidOf(name)
	case "aws:s3/bucketObjectv2:BucketObjectv2":
		id = str("key")
		set("arn", "arn:aws:s3:::"+str("bucket")+"/"+id)
	case "aws:cognito/userPoolDomain:UserPoolDomain":
		id = str("domain")
		set("cloudfrontDistribution", "d1mock0123abcd.cloudfront.net")
		set("cloudfrontDistributionArn", fmt.Sprintf("arn:aws:cloudfront::%s:distribution/E1MOCK0123ABCD", m.Account))
	case "aws:cognito/userPool:UserPool":
		id = m.Region + "_" + strings.ReplaceAll(name, "-", "")
		set("arn", arn("cognito-idp", "userpool/"+id))
		set("endpoint", fmt.Sprintf("cognito-idp.%s.amazonaws.com/%s", m.Region, id))
	case "aws:ec2/vpcEndpoint:VpcEndpoint":
		set("prefixListId", "pl-"+name)
	case "aws:ec2/securityGroup:SecurityGroup":
		named("name")
		set("arn", arn("ec2", "security-group/"+id))
	case "aws:ec2/vpc:Vpc":
		set("arn", arn("ec2", "vpc/"+id))
	default:
		if _, ok := inputs["arn"]; !ok {
			service := strings.SplitN(strings.TrimPrefix(typ, "aws:"), "/", 2)[0]
			set("arn", arn(service, name))
		}
	}
	return id, state
}

// uuidOf is a UUID-shaped id derived from a resource name, for services whose ids are UUIDs.
func uuidOf(name string) string {
	h := fmt.Sprintf("%x", sha256.Sum256([]byte(name)))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
