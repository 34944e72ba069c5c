package main

// Policy tests: rules every stack must satisfy, checked over the graph the program registers
// under mocks for each committed stack file. They read the same inputs the graph snapshots
// show, so a rule broken by a config or code change fails here before any review.

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/gofunc"
	"github.com/shop-serverless/shop/functions/manifest"
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
type policy = awsmock.Policy

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
var get = awsmock.Get

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
			// The storefront redirects a typed http:// address; nothing is served over HTTP.
			if p := get(d.Inputs, "defaultCacheBehavior", "viewerProtocolPolicy"); p != "https-only" && p != "redirect-to-https" {
				t.Errorf("distribution %s: serves plain HTTP (%v)", d.Name, p)
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
			if _, usesCache := env[manifest.EnvRedisAddr]; usesCache && env[manifest.EnvRedisTLS] != "true" {
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

// trustSourceArns are the aws:SourceArn patterns of services that name the resource they
// assume a role for. Lambda names only the account for an execution role.
var trustSourceArns = map[string]string{
	"vpc-flow-logs.amazonaws.com": "arn:aws:ec2:" + awsmock.DefaultRegion + ":" + awsmock.DefaultAccount + ":vpc-flow-log/*",
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
			// Against the confused deputy: the service acts for this account only, and for
			// this account's resources of the kind that uses the role where it says which.
			if !slices.Equal(st.Condition["StringEquals"]["aws:SourceAccount"], []string{awsmock.DefaultAccount}) {
				t.Errorf("role %s: trust without aws:SourceAccount: %v", role.Name, st.Condition)
			}
			if arn, ok := trustSourceArns[want]; ok && !slices.Equal(st.Condition["ArnLike"]["aws:SourceArn"], []string{arn}) {
				t.Errorf("role %s: trust aws:SourceArn %v, want %s", role.Name, st.Condition["ArnLike"], arn)
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
						if !slices.Contains(gofunc.UnscopableActions, a) && !slices.Contains(gofunc.VPCInterfaceActions, a) {
							t.Errorf("%s/%s: %s on * although it can be scoped", p.Name, st.Sid, a)
						}
					}
				}
			}
		}
	})
}

// Each function's role allows on tables, indexes and the bucket exactly the actions its
// entry in functions/manifest declares, none of the ones its code never calls, and it may
// connect to the cache only as its own user, whose access string is its declared one.
func TestPolicyGrantsAsDeclared(t *testing.T) {
	forbidden := map[string]map[string][]string{ // function -> resource suffix -> actions it must not have
		manifest.Orders: {
			"table/shop-STACK-products":    {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan"},
			"table/shop-STACK-orders":      {"dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:Scan"},
			"table/shop-STACK-idempotency": {"dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:Scan"},
		},
		manifest.Reviews: {"table/shop-STACK-reviews": {"dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:Scan"}},
		manifest.Cart:    {"table/shop-STACK-products": {"dynamodb:Scan"}},
	}
	forEachStack(t, func(t *testing.T, stack string, m *awsmock.Mocks) {
		users := map[string]awsmock.Resource{}
		for _, u := range m.OfType("aws:elasticache/user:User") {
			users[u.Inputs["userId"].(string)] = u
		}
		for _, spec := range manifest.Functions {
			pol, ok := m.Named("aws:iam/rolePolicy:RolePolicy", spec.Name+"-policy")
			if !ok {
				t.Fatalf("%s: no policy", spec.Name)
			}
			granted := map[string][]string{} // resource -> actions on it
			var connect []string
			for _, st := range parsePolicy(t, pol, "policy").Statement {
				for _, r := range st.Resource {
					switch {
					case strings.HasPrefix(r, "arn:aws:dynamodb:") && !strings.Contains(r, "/stream/"):
						granted[r] = append(granted[r], st.Action...)
					case strings.HasPrefix(r, "arn:aws:s3:"):
						// The bucket's name is Pulumi's auto-name; the key part is what counts.
						key, _ := strings.CutPrefix(r, "arn:aws:s3:::")
						_, key, _ = strings.Cut(key, "/")
						granted["images/"+key] = append(granted["images/"+key], st.Action...)
					}
				}
				if slices.Contains(st.Action, "elasticache:Connect") {
					connect = st.Resource
				}
			}
			want := map[string][]string{}
			for _, g := range spec.Tables {
				r := "arn:aws:dynamodb:" + awsmock.DefaultRegion + ":" + awsmock.DefaultAccount + ":table/shop-" + stack + "-" + g.Table.Name
				if g.Index != "" {
					r += "/index/" + g.Index
				}
				for _, a := range g.Actions {
					want[r] = append(want[r], string(a))
				}
			}
			for _, g := range spec.Bucket {
				for _, a := range g.Actions {
					r := "images/" + g.Prefix + "*"
					want[r] = append(want[r], string(a))
				}
			}
			for r, actions := range granted {
				slices.Sort(actions)
				w := slices.Sorted(slices.Values(want[r]))
				if !slices.Equal(actions, w) {
					t.Errorf("%s: %v on %s, declared %v", spec.Name, actions, r, w)
				}
				for suffix, bad := range forbidden[spec.Name] {
					if strings.HasSuffix(r, strings.ReplaceAll(suffix, "STACK", stack)) {
						for _, a := range bad {
							if slices.Contains(actions, a) {
								t.Errorf("%s may %s on %s", spec.Name, a, r)
							}
						}
					}
				}
			}
			for r := range want {
				if _, ok := granted[r]; !ok {
					t.Errorf("%s: declared %v on %s, not granted", spec.Name, want[r], r)
				}
			}

			// The function's own user and its limiter's, each exactly where the spec has one,
			// each with its declared access string, and Connect on the cache and those alone.
			wantConnect := []string{":" + "replicationgroup:shop-" + stack + "-cache"}
			for _, u := range []struct {
				name   string
				access *manifest.CacheAccess
			}{{spec.Name, spec.Cache}, {spec.LimiterUser(), spec.LimiterAccess()}} {
				userID := "shop-" + stack + "-cache-" + u.name
				user, hasUser := users[userID]
				switch {
				case u.access == nil && hasUser:
					t.Errorf("%s has cache user %s but declares no access for it", spec.Name, userID)
				case u.access == nil:
				case !hasUser:
					t.Errorf("%s: no cache user %s", spec.Name, userID)
				default:
					if user.Inputs["accessString"] != u.access.AccessString() || user.Inputs["userName"] != userID ||
						get(user.Inputs, "authenticationMode", "type") != "iam" {
						t.Errorf("%s: cache user %v", spec.Name, user.Inputs)
					}
					wantConnect = append(wantConnect, ":user:"+userID)
				}
			}
			switch {
			case !spec.UsesCache() && connect != nil:
				t.Errorf("%s uses no cache but may elasticache:Connect", spec.Name)
			case spec.UsesCache() && len(connect) != len(wantConnect):
				t.Errorf("%s: elasticache:Connect on %v, want the cache and its own users", spec.Name, connect)
			case spec.UsesCache():
				for i, r := range connect {
					if !strings.HasSuffix(r, wantConnect[i]) || strings.Contains(r, "*") {
						t.Errorf("%s: elasticache:Connect on %v, want the cache and its own users", spec.Name, connect)
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
		if len(fns) != len(manifest.Functions) {
			t.Errorf("%d functions, want %d", len(fns), len(manifest.Functions))
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
			authorizers[a.ID] = true
		}
		declared := map[string]map[string]any{}
		for _, r := range m.OfType("aws:apigatewayv2/route:Route") {
			declared[r.Inputs["routeKey"].(string)] = r.Inputs
		}
		if len(declared) != len(manifest.All) {
			t.Errorf("%d routes declared, the route table has %d", len(declared), len(manifest.All))
		}
		for _, r := range manifest.All {
			in, ok := declared[r.Key()]
			switch {
			case !ok:
				t.Errorf("route %s missing", r.Key())
			case r.Auth == manifest.Public && in["authorizationType"] != "NONE":
				t.Errorf("public route %s: %v", r.Key(), in["authorizationType"])
			case r.Auth != manifest.Public && (in["authorizationType"] != "JWT" || !authorizers[in["authorizerId"].(string)]):
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
		for _, r := range manifest.All {
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
		if b.Name == "site-bucket" {
			continue // the storefront's build, rewritten by every deployment: no data
		}
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
		// Per function 3, API 2, per table 3, the cache at least 3.
		if min := 3*len(manifest.Functions) + 2 + 3*len(tables.All) + 3; len(alarms) < min {
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

// TestPolicyTableThrottlingPages: a hot item past its partition's limits pages someone, for
// every table: throttled reads, throttled writes and throttled transactions each raise an
// alarm on the first event.
func TestPolicyTableThrottlingPages(t *testing.T) {
	forEachStack(t, func(t *testing.T, _ string, m *awsmock.Mocks) {
		for _, tb := range m.OfType("aws:dynamodb/table:Table") {
			for _, want := range []struct{ metric, operation string }{
				{"ReadThrottleEvents", ""}, {"WriteThrottleEvents", ""}, {"ThrottledRequests", "TransactWriteItems"},
			} {
				watched := false
				for _, a := range m.OfType("aws:cloudwatch/metricAlarm:MetricAlarm") {
					if a.Inputs["namespace"] == "AWS/DynamoDB" && a.Inputs["metricName"] == want.metric && a.Inputs["threshold"] == 1.0 &&
						a.Inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold" &&
						get(a.Inputs, "dimensions", "TableName") == tb.Inputs["name"] &&
						(want.operation == "" || get(a.Inputs, "dimensions", "Operation") == want.operation) {
						watched = true
					}
				}
				if !watched {
					t.Errorf("table %s: no alarm on %s %s", tb.Name, want.metric, want.operation)
				}
			}
		}
	})
}

// TestPolicyInvokePermissionsPerRoute: each function may be invoked by the API only through
// its own routes, each permission naming one route of the route table (a path parameter is
// "*" in a request's ARN, the only wildcard there).
func TestPolicyInvokePermissionsPerRoute(t *testing.T) {
	forEachStack(t, func(t *testing.T, stack string, m *awsmock.Mocks) {
		apis := m.OfType("aws:apigatewayv2/api:Api")
		if len(apis) != 1 {
			t.Fatalf("%d APIs", len(apis))
		}
		want := map[string]string{} // source ARN -> function name
		for _, r := range manifest.All {
			path := regexp.MustCompile(`\{[^/]+\}`).ReplaceAllString(r.Path, "*")
			want[apis[0].Outputs["executionArn"].(string)+"/$default/"+r.Method+path] = "shop-" + stack + "-" + r.Function
		}
		got := map[string]string{}
		for _, p := range m.OfType("aws:lambda/permission:Permission") {
			if p.Inputs["principal"] != "apigateway.amazonaws.com" {
				continue // the images bucket's notification; checked with the bucket
			}
			arn := p.Inputs["sourceArn"].(string)
			if _, dup := got[arn]; dup {
				t.Errorf("two permissions for %s", arn)
			}
			got[arn] = p.Inputs["function"].(string)
		}
		for arn, fn := range want {
			if got[arn] != fn {
				t.Errorf("%s may invoke %q, want %q", arn, got[arn], fn)
			}
		}
		for arn, fn := range got {
			if _, ok := want[arn]; !ok {
				t.Errorf("%s may invoke %s: no route of the table", arn, fn)
			}
		}
	})
}

// TestPolicyNoInternetEgress: without NAT the functions reach the gateway endpoints' prefix
// lists and the cache's security group, nothing else; neither stack has NAT by default.
func TestPolicyNoInternetEgress(t *testing.T) {
	forEachStack(t, func(t *testing.T, _ string, m *awsmock.Mocks) {
		if n := len(m.OfType("aws:ec2/natGateway:NatGateway")) + len(m.OfType("aws:ec2/internetGateway:InternetGateway")); n != 0 {
			t.Errorf("%d NAT or internet gateways", n)
		}
		prefixLists, groups := map[string]bool{}, map[string]string{}
		for _, ep := range m.OfType("aws:ec2/vpcEndpoint:VpcEndpoint") {
			prefixLists[ep.Outputs["prefixListId"].(string)] = true
		}
		for _, sg := range m.OfType("aws:ec2/securityGroup:SecurityGroup") {
			groups[sg.ID] = sg.Name
		}
		for _, r := range m.OfType("aws:ec2/securityGroupRule:SecurityGroupRule") {
			in := r.Inputs
			if in["type"] != "egress" {
				continue
			}
			if in["cidrBlocks"] != nil || in["ipv6CidrBlocks"] != nil {
				t.Errorf("egress rule %s opens %v %v", r.Name, in["cidrBlocks"], in["ipv6CidrBlocks"])
			}
			lists, _ := in["prefixListIds"].([]any)
			for _, pl := range lists {
				if !prefixLists[pl.(string)] {
					t.Errorf("egress rule %s to prefix list %v, not a gateway endpoint's", r.Name, pl)
				}
			}
			if sg, _ := in["sourceSecurityGroupId"].(string); sg != "" && groups[sg] != "network-cache-sg" {
				t.Errorf("egress rule %s to security group %s (%s), not the cache's", r.Name, sg, groups[sg])
			}
			if len(lists) == 0 && in["sourceSecurityGroupId"] == nil {
				t.Errorf("egress rule %s has no destination of the VPC: %v", r.Name, in)
			}
		}
	})
}

// TestPolicyEndpointsScoped: the gateway endpoints reach the stack's tables (and their
// indexes) and buckets only.
func TestPolicyEndpointsScoped(t *testing.T) {
	forEachStack(t, func(t *testing.T, _ string, m *awsmock.Mocks) {
		allowed := map[string]bool{}
		for _, tbl := range m.OfType("aws:dynamodb/table:Table") {
			allowed[tbl.Outputs["arn"].(string)] = true
			allowed[tbl.Outputs["arn"].(string)+"/index/*"] = true
		}
		for _, b := range m.OfType("aws:s3/bucketV2:BucketV2") {
			allowed[b.Outputs["arn"].(string)+"/*"] = true
		}
		endpoints := m.OfType("aws:ec2/vpcEndpoint:VpcEndpoint")
		if len(endpoints) != 2 {
			t.Fatalf("%d endpoints", len(endpoints))
		}
		for _, ep := range endpoints {
			if ep.Inputs["policy"] == nil {
				t.Errorf("endpoint %s has no policy: any table or bucket of any account", ep.Name)
				continue
			}
			for _, st := range parsePolicy(t, ep, "policy").Statement {
				if st.Effect != "Allow" || len(st.Resource) == 0 {
					t.Errorf("endpoint %s: %+v", ep.Name, st)
				}
				for _, r := range st.Resource {
					if !allowed[r] {
						t.Errorf("endpoint %s reaches %s, not the stack's", ep.Name, r)
					}
				}
				for _, a := range st.Action {
					if strings.Contains(a, "*") {
						t.Errorf("endpoint %s: wildcard action %s", ep.Name, a)
					}
				}
			}
		}
	})
}

// TestPolicyAccessLogs: every distribution keeps standard logs and every other bucket server
// access logs, in the stack's log bucket, which is private (policy tests above), keeps ACLs
// for CloudFront's log delivery, lets S3 log delivery write for this account only, and
// expires what it holds.
func TestPolicyAccessLogs(t *testing.T) {
	forEachStack(t, func(t *testing.T, _ string, m *awsmock.Mocks) {
		byDomain := map[string]awsmock.Resource{}
		for _, b := range m.OfType("aws:s3/bucketV2:BucketV2") {
			byDomain[b.Outputs["bucketDomainName"].(string)] = b
		}
		dists := m.OfType("aws:cloudfront/distribution:Distribution")
		if len(dists) == 0 {
			t.Fatal("no distribution")
		}
		var logBucket awsmock.Resource
		for _, d := range dists {
			domain, _ := get(d.Inputs, "loggingConfig", "bucket").(string)
			b, ok := byDomain[domain]
			if !ok {
				t.Errorf("distribution %s keeps no access logs (logging bucket %q)", d.Name, domain)
				continue
			}
			logBucket = b
			if get(d.Inputs, "loggingConfig", "includeCookies") != false {
				t.Errorf("distribution %s logs cookies", d.Name)
			}
		}
		if logBucket.URN == "" {
			return
		}
		logged := map[string]string{} // source bucket -> target bucket
		for _, l := range m.OfType("aws:s3/bucketLoggingV2:BucketLoggingV2") {
			logged[l.Inputs["bucket"].(string)] = l.Inputs["targetBucket"].(string)
		}
		for _, b := range m.OfType("aws:s3/bucketV2:BucketV2") {
			if b.URN != logBucket.URN && logged[b.ID] != logBucket.ID {
				t.Errorf("bucket %s keeps no server access logs in %s (%q)", b.Name, logBucket.ID, logged[b.ID])
			}
		}
		own := siblings(m, logBucket, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
		if len(own) != 1 || get(own[0].Inputs, "rule", "objectOwnership") != "BucketOwnerPreferred" {
			t.Errorf("log bucket ownership %v: CloudFront standard logging needs ACLs, the bucket owning the objects", own)
		}
		lc := siblings(m, logBucket, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")
		if len(lc) != 1 || !strings.Contains(mustJSON(t, lc[0].Inputs), `"expiration":{"days":`) {
			t.Errorf("log bucket keeps logs forever: %v", lc)
		}
		delivery := false
		for _, st := range parsePolicy(t, siblings(m, logBucket, "aws:s3/bucketPolicy:BucketPolicy")[0], "policy").Statement {
			if st.Effect == "Allow" && mustJSON(t, st.Principal) == `{"Service":["logging.s3.amazonaws.com"]}` &&
				slices.Equal(st.Action, []string{"s3:PutObject"}) &&
				slices.Equal(st.Condition["StringEquals"]["aws:SourceAccount"], []string{awsmock.DefaultAccount}) {
				delivery = true
			}
		}
		if !delivery {
			t.Error("log bucket policy does not let S3 log delivery write for this account only")
		}
	})
}

// TestPolicyCustomerDataKey: prod encrypts the customer-data tables and every log group with
// the stack's own rotating key, whose policy lets CloudWatch Logs use it for this account's
// log groups and the account use it through DynamoDB only; dev keeps AWS managed keys.
func TestPolicyCustomerDataKey(t *testing.T) {
	forEachStack(t, func(t *testing.T, stack string, m *awsmock.Mocks) {
		// A key serves its own region: the stack's, and us-east-1 for the WAF's logs.
		keys := map[string]string{}
		for _, k := range m.OfType("aws:kms/key:Key") {
			if strings.Contains(k.Parent, "shop:datakey:DataKey") {
				keys[k.Region] = k.Outputs["arn"].(string)
				checkDataKeyPolicy(t, k.Region, parsePolicy(t, k, "policy"))
			}
		}
		keyArn := keys[awsmock.DefaultRegion]
		if (keyArn != "") != (stack == "prod") || (keys[wafRegion] != "") != (stack == "prod") {
			t.Fatalf("stack %s: data keys %v", stack, keys)
		}
		for _, def := range tables.All {
			tbl, _ := m.Named("aws:dynamodb/table:Table", def.Name+"-table")
			got, _ := get(tbl.Inputs, "serverSideEncryption", "kmsKeyArn").(string)
			if def.CustomerData && got != keyArn {
				t.Errorf("table %s (customer data) encrypted with %q, want %q", def.Name, got, keyArn)
			}
		}
		for _, lg := range m.OfType("aws:cloudwatch/logGroup:LogGroup") {
			if got, _ := lg.Inputs["kmsKeyId"].(string); got != keys[lg.Region] {
				t.Errorf("log group %s in %s encrypted with %q, want %q", lg.Inputs["name"], lg.Region, got, keys[lg.Region])
			}
		}
	})
}

func checkDataKeyPolicy(t *testing.T, region string, p policy) {
	t.Helper()
	logs, dynamo := false, false
	for _, st := range p.Statement {
		switch mustJSON(t, st.Principal) {
		case `{"Service":["logs.` + region + `.amazonaws.com"]}`:
			logs = slices.Equal(st.Condition["ArnLike"]["kms:EncryptionContext:aws:logs:arn"],
				[]string{"arn:aws:logs:" + region + ":" + awsmock.DefaultAccount + ":log-group:*"})
		case `"*"`:
			dynamo = slices.Equal(st.Condition["StringEquals"]["kms:CallerAccount"], []string{awsmock.DefaultAccount}) &&
				slices.Equal(st.Condition["StringEquals"]["kms:ViaService"], []string{"dynamodb." + region + ".amazonaws.com"})
		}
		for _, a := range st.Action {
			if strings.Contains(a, "*") && st.Sid != "AccountAdministersKeyThroughIAM" {
				t.Errorf("key policy %s: wildcard action %s", st.Sid, a)
			}
		}
	}
	if !logs || !dynamo {
		t.Errorf("key policy: CloudWatch Logs scoped by encryption context %v, DynamoDB via the account %v", logs, dynamo)
	}
}

// TestPolicyNoFailureDropped: a stream batch that fails every retry lands in an encrypted
// queue of the stack that keeps it long enough to replay, and a message there raises an alarm.
func TestPolicyNoFailureDropped(t *testing.T) {
	forEachStack(t, func(t *testing.T, _ string, m *awsmock.Mocks) {
		queues := map[string]awsmock.Resource{} // ARN -> queue
		for _, q := range m.OfType("aws:sqs/queue:Queue") {
			queues[q.Outputs["arn"].(string)] = q
		}
		mappings := m.OfType("aws:lambda/eventSourceMapping:EventSourceMapping")
		if len(mappings) == 0 {
			t.Fatal("no event source mapping")
		}
		for _, e := range mappings {
			dest, _ := get(e.Inputs, "destinationConfig", "onFailure", "destinationArn").(string)
			q, ok := queues[dest]
			if !ok {
				t.Errorf("mapping %s drops failed batches (on-failure destination %q)", e.Name, dest)
				continue
			}
			if q.Inputs["sqsManagedSseEnabled"] != true && q.Inputs["kmsMasterKeyId"] == nil {
				t.Errorf("queue %s not encrypted", q.Name)
			}
			if days, _ := q.Inputs["messageRetentionSeconds"].(float64); days < 4*24*3600 {
				t.Errorf("queue %s keeps failures only %v s", q.Name, days)
			}
			watched := false
			for _, a := range m.OfType("aws:cloudwatch/metricAlarm:MetricAlarm") {
				if a.Inputs["namespace"] == "AWS/SQS" && a.Inputs["metricName"] == "ApproximateNumberOfMessagesVisible" &&
					get(a.Inputs, "dimensions", "QueueName") == q.Inputs["name"] && a.Inputs["threshold"] == 1.0 {
					watched = true
				}
			}
			if !watched {
				t.Errorf("no alarm on the depth of %s", q.Name)
			}
		}
	})
}

// TestDevIsCheaper pins what makes dev cheap, so a config change that quietly adds a NAT
// gateway or a large cache to dev shows up as a failing test, not a bill.
func TestDevIsCheaper(t *testing.T) {
	dev := graphOf(t, "dev")
	if n := len(dev.OfType("aws:ec2/natGateway:NatGateway")); n != 0 {
		t.Errorf("dev has %d NAT gateways", n)
	}
	if n := len(dev.OfType("aws:ec2/eip:Eip")) + len(dev.OfType("aws:ec2/internetGateway:InternetGateway")); n != 0 {
		t.Errorf("dev has %d public addresses or gateways", n)
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

// The actions the policies may grant on "*" are checked against what AWS documents, kept
// here as data: a wrong entry in gofunc's lists would otherwise let "*" through unnoticed.
func TestPolicyWildcardActionsAsDocumented(t *testing.T) {
	// The Service Authorization Reference lists no resource type for these actions: "*" is
	// their only resource (AWS X-Ray: PutTelemetryRecords, PutTraceSegments; Amazon EC2:
	// the Describe actions).
	noResourceLevel := []string{
		"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
		"xray:PutTelemetryRecords", "xray:PutTraceSegments",
	}
	// The Lambda Developer Guide's permissions for a function attached to a VPC, which
	// AWSLambdaVPCAccessExecutionRole grants on "*".
	lambdaVPCExecution := []string{
		"ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
		"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:UnassignPrivateIpAddresses",
	}
	for _, tt := range []struct {
		name       string
		got, known []string
	}{
		{"UnscopableActions", gofunc.UnscopableActions, noResourceLevel},
		{"VPCInterfaceActions", gofunc.VPCInterfaceActions, lambdaVPCExecution},
	} {
		for _, a := range tt.got {
			if !slices.Contains(tt.known, a) {
				t.Errorf("gofunc.%s lists %s, which AWS does not document as such", tt.name, a)
			}
		}
		if len(tt.got) == 0 {
			t.Errorf("gofunc.%s is empty", tt.name)
		}
	}
}
