package servers

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"
)

// StartDynamoDB starts DynamoDB Local (the official jar shipped in the npm package
// amplify-dynamodb-simulator) in memory and waits until it answers HTTP.
func StartDynamoDB(ctx context.Context) (*Process, error) {
	java, err := needCommand("java", "DynamoDB Local needs Java 17 or later (apt-get install openjdk-17-jre-headless)")
	if err != nil {
		return nil, err
	}
	tools, err := ToolsDir()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(tools, "node_modules", "amplify-dynamodb-simulator", "emulator")
	if err := needFile(filepath.Join(dir, "DynamoDBLocal.jar"), "run `make tools` to install the npm package amplify-dynamodb-simulator"); err != nil {
		return nil, err
	}
	return startOnFreePort(func(port int) (*Process, error) { return startDynamoDB(ctx, java, dir, port) })
}

func startDynamoDB(ctx context.Context, java, dir string, port int) (*Process, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	argv := []string{java,
		"-Xms64m", "-Xmx1g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", filepath.Join(dir, "DynamoDBLocal.jar"),
		"-inMemory", "-sharedDb", "-disableTelemetry", "-port", strconv.Itoa(port),
	}
	p, err := start("dynamodb-local", addr, argv, dir)
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(ctx, 3*startTimeout, httpAnswers(p.URL())); err != nil {
		return nil, err
	}
	return p, nil
}

// httpAnswers succeeds once the server sends any HTTP response.
func httpAnswers(url string) func(context.Context) error {
	client := &http.Client{Timeout: time.Second}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
}

// StartS3 starts s3rver (npm) with its data in a new temporary directory.
func StartS3(ctx context.Context, dataDir string) (*Process, error) {
	node, err := needCommand("node", "s3rver needs Node.js 18 or later")
	if err != nil {
		return nil, err
	}
	tools, err := ToolsDir()
	if err != nil {
		return nil, err
	}
	script := filepath.Join(tools, "node_modules", "s3rver", "bin", "s3rver.js")
	if err := needFile(script, "run `make tools` to install the npm package s3rver"); err != nil {
		return nil, err
	}
	return startOnFreePort(func(port int) (*Process, error) { return startS3(ctx, node, script, dataDir, port) })
}

func startS3(ctx context.Context, node, script, dataDir string, port int) (*Process, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	argv := []string{node, script, "--directory", dataDir, "--address", "127.0.0.1",
		"--port", strconv.Itoa(port), "--silent", "--no-vhost-buckets"}
	p, err := start("s3rver", addr, argv, dataDir)
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(ctx, startTimeout, httpAnswers(p.URL())); err != nil {
		return nil, err
	}
	return p, nil
}
