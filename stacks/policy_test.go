package main

// Policy tests: rules every stack must satisfy, checked over the graph the program registers
// under mocks for each committed stack file. They read the same inputs the graph snapshots
// show, so a rule broken by a config or code change fails here before any review.

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/gofunc"
	"github.com/shop-serverless/shop/functions/routes"
	"github.com/shop-serverless/shop/functions/tables"
)

var (
	graphsOnce sync.Once
	graphs     map[string]*awsmock.Mocks
	exports    map[string]map[string]any
)

// graphOf runs every stack once per test binary and shares the recorded graphs.
func graphOf(t *testing.T, stack string) *awsmock.Mocks {
	t.Helper()
	graphsOnce.Do(func() {
		graphs, exports = map[string]*awsmock.Mocks{}, map[string]map[string]any{}
		for _, s := range stacks {
			graphs[s], exports[s] = runStack(t, s)
		}
	})
	m, ok := graphs[stack]
	if !ok {
		t.Fatalf("stack %s did not run", stack)
	}
	return m
}

// forEachStack runs check against every stack's graph.
func forEachStack(t *testing.T, check func(t *testing.T, stack string, m *awsmock.Mocks)) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) { check(t, stack, graphOf(t, stack)) })
	}
}

// policy is an IAM policy document as AWS receives it.
type policy struct {
	Version   string
	Statement []struct {
		Sid       string
		Effect    string
		Principal any
		Action    []string
		Resource  []string
		Condition map[string]map[string][]string
	}
}

func parsePolicy(t *testing.T, r awsmock.Resource, key string) policy {
	t.Helper()
	s, ok := r.Inputs[key].(string)
	if !ok {
		t.Fatalf("%s.%s is %T, want a JSON document", r.Name, key, r.Inputs[key])
	}
	var p policy
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatalf("%s.%s: %v", r.Name, key, err)
	}
	if p.Version != "2012-10-17" {
		t.Errorf("%s.%s: version %q", r.Name, key, p.Version)
	}
	return p
}

// get walks nested inputs: get(in, "a", "b") is in["a"]["b"].
func get(in map[string]any, path ...string) any {
	var v any = in
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// siblings returns the resources of a type that share r's parent component.
func siblings(m *awsmock.Mocks, r awsmock.Resource, typ string) []awsmock.Resource {
	var out []awsmock.Resource
	for _, s := range m.ChildrenOf(r.Parent) {
		if s.Type == typ {
			out = append(out, s)
		}
	}
	return out
}

func TestPolicyEncryptionAtRest(t *testing.T) {
	forEachStack(t, func(t *testing.T, _ string, m *awsmock.Mocks) {
		for _, r := range m.OfType("aws:dynamodb/table:Table") {
			if get(r.Inputs, "serverSideEncryption", "enabled") != true {
				t.Errorf("table %s: no KMS encryption", r.Name)
			}
		}
		buckets := m.OfType("aws:s3/bucketV2:BucketV2")
		if len(buckets) == 0 {
			t.Fatal("no bucket")
		}
		for _, b := range buckets {
			sse := siblings(m, b, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
			if len(sse) != 1 || !strings.Contains(mustJSON(t, sse[0].Inputs), `"sseAlgorithm"`) {
				t.Errorf("bucket %s: no default encryption", b.Name)
			}
		}
		for _, r := range m.OfType("aws:elasticache/replicationGroup:ReplicationGroup") {
			if r.Inputs["atRestEncryptionEnabled"] != true {
				t.Errorf("cache %s: not encrypted at rest", r.Name)
			}
		}
		for _, r := range m.OfType("aws:sns/topic:Topic") {
			if s, _ := r.Inputs["kmsMasterKeyId"].(string); s == "" {
				t.Errorf("topic %s: not encrypted", r.Name)
			}
		}
		for _, r := range m.OfType("aws:kms/key:Key") {
			if r.Inputs["enableKeyRotation"] != true {
				t.Errorf("key %s: no rotation", r.Name)
			}
		}
	})
}

func TestPolicyEncryptionInTransit(t *testing.T) {
	forEachStack(t, func(t *testing.T, _ string, m *awsmock.Mocks) {
		for _, b := range m.OfType("aws:s3/bucketV2:BucketV2") {
			policies := siblings(m, b, "aws:s3/bucketPolicy:BucketPolicy")
			if len(policies) != 1 {
				t.Errorf("bucket %s: %d policies", b.Name, len(policies))
				continue
			}
			tlsOnly := false
			for _, st := range parsePolicy(t, policies[0], "policy").Statement {
				if st.Effect == "Deny" && st.Principal == "*" && slices.Contains(st.Action, "s3:*") &&
					slices.Equal(st.Condition["Bool"]["aws:SecureTransport"], []string{"false"}) && len(st.Resource) == 2 {
					tlsOnly = true
				}
			}
			if !tlsOnly {
				t.Errorf("bucket %s: plain HTTP not denied", b.Name)
			}
		}
		for _, d := range m.OfType("aws:cloudfront/distribution:Distribution") {
			if get(d.Inputs, "defaultCacheBehavior", "viewerProtocolPolicy") != "https-only" {
				t.Errorf("distribution %s: not HTTPS only", d.Name)
			}
		}
		for _, r := range m.OfType("aws:elasticache/replicationGroup:ReplicationGroup") {
			if r.Inputs["transitEncryptionEnabled"] != true || r.Inputs["transitEncryptionMode"] != "required" {
				t.Errorf("cache %s: TLS not required", r.Name)
			}
			if r.Inputs["authToken"] != nil {
				t.Errorf("cache %s: static auth token", r.Name)
			}
		}
		for _, u := range m.OfType("aws:elasticache/user:User") {
			mode := get(u.Inputs, "authenticationMode", "type")
			if u.Inputs["passwords"] != nil || mode == "password" {
				t.Errorf("cache user %s has a password", u.Name)
			}
			if u.Inputs["userName"] != "default" && mode != "iam" {
				t.Errorf("cache user %s does not use IAM", u.Name)
			}
			if u.Inputs["userName"] == "default" && !strings.HasPrefix(u.Inputs["accessString"].(string), "off") {
				t.Errorf("default cache user is enabled")
			}
		}
		for _, d := range m.OfType("aws:apigatewayv2/domainName:DomainName") {
			if get(d.Inputs, "domainNameConfiguration", "securityPolicy") != "TLS_1_2" {
				t.Errorf("domain %s: not TLS 1.2", d.Name)
			}
		}
		for _, f := range m.OfType("aws:lambda/function:Function") {
			env, _ := get(f.Inputs, "environment", "variables").(map[string]any)
			if _, usesCache := env[routes.EnvRedisAddr]; usesCache && env[routes.EnvRedisTLS] != "true" {
				t.Errorf("function %s reaches the cache without TLS", f.Name)
			}
		}
	})
}

func TestPolicyNothingPublic(t *testing.T) {
	forEachStack(t, func(t *testing.T, _ string, m *awsmock.Mocks) {
		for _, b := range m.OfType("aws:s3/bucketV2:BucketV2") {
			pab := siblings(m, b, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
			if len(pab) != 1 {
				t.Errorf("bucket %s: no public access block", b.Name)
				continue
			}
			for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
				if pab[0].Inputs[k] != true {
					t.Errorf("bucket %s: %s off", b.Name, k)
				}
			}
			if b.Inputs["acl"] != nil {
				t.Errorf("bucket %s has an ACL", b.Name)
			}
		}
		for _, p := range m.OfType("aws:s3/bucketPolicy:BucketPolicy") {
			for _, st := range parsePolicy(t, p, "policy").Statement {
				if st.Effect == "Allow" && (st.Principal == "*" || strings.Contains(mustJSON(t, st.Principal), `"*"`)) {
					t.Errorf("bucket policy %s allows anyone: %s", p.Name, st.Sid)
				}
			}
		}
		open := func(in map[string]any) bool {
			for _, key := range []string{"cidrBlocks", "ipv6CidrBlocks"} {
				cidrs, _ := in[key].([]any)
				for _, c := range cidrs {
					if c == "0.0.0.0/0" || c == "::/0" {
						return true
					}
				}
			}
			return false
		}
		for _, r := range m.OfType("aws:ec2/securityGroupRule:SecurityGroupRule") {
			if r.Inputs["type"] == "ingress" && open(r.Inputs) {
				t.Errorf("rule %s admits the internet", r.Name)
			}
		}
		for _, sg := range m.OfType("aws:ec2/securityGroup:SecurityGroup") {
			if sg.Inputs["ingress"] != nil || sg.Inputs["egress"] != nil {
				t.Errorf("security group %s has inline rules; rules are separate resources", sg.Name)
			}
		}
		for _, s := range m.OfType("aws:ec2/subnet:Subnet") {
			if s.Inputs["mapPublicIpOnLaunch"] != false {
				t.Errorf("subnet %s hands out public addresses", s.Name)
			}
		}
		// The stack's own buckets (the mocks name a bucket after its resource).
		buckets := map[string]bool{}
		for _, b := range m.OfType("aws:s3/bucketV2:BucketV2") {
			buckets["arn:aws:s3:::"+b.Name] = true
		}
		for _, p := range m.OfType("aws:lambda/permission:Permission") {
			source, _ := p.Inputs["sourceArn"].(string)
			switch p.Inputs["principal"] {
			case "apigateway.amazonaws.com":
				if strings.HasPrefix(source, "arn:aws:execute-api:") {
					continue
				}
			case "s3.amazonaws.com":
				// A bucket ARN names no account: the permission must, against a confused deputy.
				if buckets[source] && p.Inputs["sourceAccount"] == awsmock.DefaultAccount {
					continue
				}
			}
			t.Errorf("permission %s: %v", p.Name, p.Inputs)
		}
		for _, typ := range []string{"aws:lambda/functionUrl:FunctionUrl", "aws:ec2/instance:Instance", "aws:s3/bucketAclV2:BucketAclV2"} {
			if n := len(m.OfType(typ)); n > 0 {
				t.Errorf("%d resources of %s", n, typ)
			}
		}
	})
}

func TestPolicyLeastPrivilege(t *testing.T) {
	forEachStack(t, func(t *testing.T, _ string, m *awsmock.Mocks) {
		for _, role := range m.OfType("aws:iam/role:Role") {
			trust := parsePolicy(t, role, "assumeRolePolicy")
			if len(trust.Statement) != 1 {
				t.Errorf("role %s: %d trust statements", role.Name, len(trust.Statement))
				continue
			}
			st := trust.Statement[0]
			want := "vpc-flow-logs.amazonaws.com"
			if strings.Contains(role.Parent, "shop:gofunc:Function") {
				want = "lambda.amazonaws.com"
			}
			if st.Effect != "Allow" || !slices.Equal(st.Action, []string{"sts:AssumeRole"}) ||
				mustJSON(t, st.Principal) != `{"Service":["`+want+`"]}` {
				t.Errorf("role %s trusts %s, want only %s", role.Name, mustJSON(t, st.Principal), want)
			}
			if role.Inputs["managedPolicyArns"] != nil || role.Inputs["inlinePolicies"] != nil {
				t.Errorf("role %s: policies outside its role policy", role.Name)
			}
		}
		if n := len(m.OfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")); n > 0 {
			t.Errorf("%d managed policy attachments", n)
		}
		for _, p := range m.OfType("aws:iam/rolePolicy:RolePolicy") {
			for _, st := range parsePolicy(t, p, "policy").Statement {
				if st.Effect != "Allow" {
					t.Errorf("%s/%s: effect %s", p.Name, st.Sid, st.Effect)
				}
				for _, a := range st.Action {
					if strings.Contains(a, "*") {
						t.Errorf("%s/%s: wildcard action %s", p.Name, st.Sid, a)
					}
				}
				if len(st.Resource) == 0 {
					t.Errorf("%s/%s: no resource", p.Name, st.Sid)
				}
				for _, r := range st.Resource {
					if r != "*" {
						continue
					}
					for _, a := range st.Action {
						if !slices.Contains(gofunc.UnscopableActions, a) {
							t.Errorf("%s/%s: %s on * although it can be scoped", p.Name, st.Sid, a)
						}
					}
				}
			}
		}
	})
}

func TestPolicyFunctionsTracedAndLogged(t *testing.T) {
	forEachStack(t, func(t *testing.T, _ string, m *awsmock.Mocks) {
		retention := map[string]float64{}
		for _, lg := range m.OfType("aws:cloudwatch/logGroup:LogGroup") {
			days, _ := lg.Inputs["retentionInDays"].(float64)
			if days <= 0 {
				t.Errorf("log group %s keeps logs forever", lg.Name)
			}
			retention[lg.Inputs["name"].(string)] = days
		}
		fns := m.OfType("aws:lambda/function:Function")
		if len(fns) != len(routes.Functions) {
			t.Errorf("%d functions, want %d", len(fns), len(routes.Functions))
		}
		for _, f := range fns {
			if get(f.Inputs, "tracingConfig", "mode") != "Active" {
				t.Errorf("function %s not traced", f.Name)
			}
			if get(f.Inputs, "loggingConfig", "logFormat") != "JSON" {
				t.Errorf("function %s does not log JSON", f.Name)
			}
			group, _ := get(f.Inputs, "loggingConfig", "logGroup").(string)
			if retention[group] <= 0 {
				t.Errorf("function %s logs into %q, not a log group with retention", f.Name, group)
			}
			if f.Inputs["runtime"] != "provided.al2023" || mustJSON(t, f.Inputs["architectures"]) != `["arm64"]` {
				t.Errorf("function %s: %v %v", f.Name, f.Inputs["runtime"], f.Inputs["architectures"])
			}
		}
		stage := m.OfType("aws:apigatewayv2/stage:Stage")
		if len(stage) != 1 || get(stage[0].Inputs, "accessLogSettings", "format") == nil {
			t.Error("API stage without access logs")
		}
	})
}

func TestPolicyProtectedRoutesBehindAuthorizer(t *testing.T) {
	forEachStack(t, func(t *testing.T, _ string, m *awsmock.Mocks) {
		authorizers := map[string]bool{}
		for _, a := range m.OfType("aws:apigatewayv2/authorizer:Authorizer") {
			if a.Inputs["authorizerType"] != "JWT" || get(a.Inputs, "jwtConfiguration", "issuer") == nil {
				t.Errorf("authorizer %s: %v", a.Name, a.Inputs)
			}
			authorizers[a.Name+"-id"] = true // the mocked id
		}
		declared := map[string]map[string]any{}
		for _, r := range m.OfType("aws:apigatewayv2/route:Route") {
			declared[r.Inputs["routeKey"].(string)] = r.Inputs
		}
		if len(declared) != len(routes.All) {
			t.Errorf("%d routes declared, the route table has %d", len(declared), len(routes.All))
		}
		for _, r := range routes.All {
			in, ok := declared[r.Key()]
			switch {
			case !ok:
				t.Errorf("route %s missing", r.Key())
			case r.Auth == routes.Public && in["authorizationType"] != "NONE":
				t.Errorf("public route %s: %v", r.Key(), in["authorizationType"])
			case r.Auth != routes.Public && (in["authorizationType"] != "JWT" || !authorizers[in["authorizerId"].(string)]):
				t.Errorf("%s route %s is not behind the JWT authorizer: %v", r.Auth, r.Key(), in)
			}
		}
	})
}

func TestPolicyThrottling(t *testing.T) {
	forEachStack(t, func(t *testing.T, _ string, m *awsmock.Mocks) {
		stages := m.OfType("aws:apigatewayv2/stage:Stage")
		if len(stages) != 1 {
			t.Fatalf("%d stages", len(stages))
		}
		in := stages[0].Inputs
		rate, _ := get(in, "defaultRouteSettings", "throttlingRateLimit").(float64)
		burst, _ := get(in, "defaultRouteSettings", "throttlingBurstLimit").(float64)
		if rate <= 0 || burst <= 0 {
			t.Errorf("stage throttle %v/%v", rate, burst)
		}
		throttled := map[string]bool{}
		settings, _ := in["routeSettings"].([]any)
		for _, s := range settings {
			s := s.(map[string]any)
			if r, _ := s["throttlingRateLimit"].(float64); r <= 0 {
				t.Errorf("route %v without a rate", s["routeKey"])
			}
			throttled[s["routeKey"].(string)] = true
		}
		for _, r := range routes.All {
			if r.Throttle != nil && !throttled[r.Key()] {
				t.Errorf("route %s lost its throttle", r.Key())
			}
		}
	})
}

func TestPolicyProdDataProtected(t *testing.T) {
	m := graphOf(t, "prod")
	for _, r := range m.OfType("aws:dynamodb/table:Table") {
		if !r.Protect || !r.RetainOnDelete {
			t.Errorf("table %s not protected", r.Name)
		}
		if get(r.Inputs, "pointInTimeRecovery", "enabled") != true || r.Inputs["deletionProtectionEnabled"] != true {
			t.Errorf("table %s: no PITR or deletion protection", r.Name)
		}
	}
	if n := len(m.OfType("aws:dynamodb/table:Table")); n != len(tables.All) {
		t.Errorf("%d tables", n)
	}
	for _, b := range m.OfType("aws:s3/bucketV2:BucketV2") {
		if !b.Protect || !b.RetainOnDelete || b.Inputs["forceDestroy"] == true {
			t.Errorf("bucket %s not protected", b.Name)
		}
		v := siblings(m, b, "aws:s3/bucketVersioningV2:BucketVersioningV2")
		if len(v) != 1 || get(v[0].Inputs, "versioningConfiguration", "status") != "Enabled" {
			t.Errorf("bucket %s not versioned", b.Name)
		}
	}
	for _, p := range m.OfType("aws:cognito/userPool:UserPool") {
		if !p.Protect || p.Inputs["deletionProtection"] != "ACTIVE" {
			t.Errorf("user pool %s not protected", p.Name)
		}
	}
	caches := append(m.OfType("aws:elasticache/replicationGroup:ReplicationGroup"), m.OfType("aws:elasticache/serverlessCache:ServerlessCache")...)
	if len(caches) != 1 {
		t.Fatalf("%d caches", len(caches))
	}
	c := caches[0]
	if n, _ := c.Inputs["snapshotRetentionLimit"].(float64); n <= 0 {
		t.Error("cache without snapshots")
	}
	if c.Type == "aws:elasticache/replicationGroup:ReplicationGroup" {
		if n, _ := c.Inputs["numCacheClusters"].(float64); n < 2 || c.Inputs["multiAzEnabled"] != true || c.Inputs["automaticFailoverEnabled"] != true {
			t.Errorf("prod cache is not Multi-AZ with failover: %v", c.Inputs)
		}
	}
	if len(m.OfType("aws:ec2/flowLog:FlowLog")) != 1 {
		t.Error("no flow logs")
	}
}

func TestPolicyAlarmsHaveActions(t *testing.T) {
	forEachStack(t, func(t *testing.T, stack string, m *awsmock.Mocks) {
		topics := m.OfType("aws:sns/topic:Topic")
		if len(topics) != 1 {
			t.Fatalf("%d topics", len(topics))
		}
		topicArn := "arn:aws:sns:" + awsmock.DefaultRegion + ":" + awsmock.DefaultAccount + ":" + topics[0].Inputs["name"].(string)
		alarms := m.OfType("aws:cloudwatch/metricAlarm:MetricAlarm")
		// Per function 3, API 2, per table 1, the cache at least 3.
		if min := 3*len(routes.Functions) + 2 + len(tables.All) + 3; len(alarms) < min {
			t.Errorf("%d alarms, want at least %d", len(alarms), min)
		}
		for _, a := range alarms {
			actions, _ := a.Inputs["alarmActions"].([]any)
			if len(actions) == 0 || actions[0] != topicArn || a.Inputs["actionsEnabled"] != true {
				t.Errorf("alarm %s notifies nobody: %v", a.Name, a.Inputs["alarmActions"])
			}
		}
		if stack == "prod" {
			subs := m.OfType("aws:sns/topicSubscription:TopicSubscription")
			if len(subs) != 1 || subs[0].Inputs["endpoint"] != awsmock.Secret {
				t.Errorf("prod alarm e-mail: %v", subs)
			}
		}
		if len(m.OfType("aws:cloudwatch/dashboard:Dashboard")) != 1 {
			t.Error("no dashboard")
		}
	})
}

// TestDevIsCheaper pins what makes dev cheap, so a config change that quietly adds a NAT
// gateway or a large cache to dev shows up as a failing test, not a bill.
func TestDevIsCheaper(t *testing.T) {
	dev, prod := graphOf(t, "dev"), graphOf(t, "prod")
	if n := len(dev.OfType("aws:ec2/natGateway:NatGateway")); n != 0 {
		t.Errorf("dev has %d NAT gateways", n)
	}
	if n := len(dev.OfType("aws:ec2/eip:Eip")) + len(dev.OfType("aws:ec2/internetGateway:InternetGateway")); n != 0 {
		t.Errorf("dev has %d public addresses or gateways", n)
	}
	if n := len(prod.OfType("aws:ec2/natGateway:NatGateway")); n == 0 {
		t.Error("prod has no NAT gateway; if intended, drop this check")
	}
	rg := dev.OfType("aws:elasticache/replicationGroup:ReplicationGroup")
	if len(rg) != 1 || rg[0].Inputs["numCacheClusters"] != 1.0 || rg[0].Inputs["nodeType"] != "cache.t4g.micro" {
		t.Errorf("dev cache is not one cache.t4g.micro node: %v", rg)
	}
	for _, tbl := range dev.OfType("aws:dynamodb/table:Table") {
		if tbl.Inputs["billingMode"] != "PAY_PER_REQUEST" || tbl.Protect {
			t.Errorf("dev table %s: %v protect=%v", tbl.Name, tbl.Inputs["billingMode"], tbl.Protect)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
