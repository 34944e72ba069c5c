package servers

import (
	"context"
	"fmt"
	"net"
	"testing"
)

// A port another process holds makes each server fail in words portTaken knows.
func TestServersReportATakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	bin, err := needCommand("redis-server", "apt-get install redis-server")
	if err != nil {
		t.Fatal(err)
	}
	p, err := startRedis(context.Background(), bin, RedisOptions{}, port)
	if err == nil {
		p.Stop()
		t.Fatal("redis-server started on a port another process holds")
	}
	if !portTaken(err) {
		t.Errorf("not recognised as a taken port: %v", err)
	}
}

// startOnFreePort starts again on another port when the port was taken, and gives up on
// any other failure at once.
func TestStartOnFreePortTriesAnotherPort(t *testing.T) {
	var ports []int
	p, err := startOnFreePort(func(port int) (*Process, error) {
		ports = append(ports, port)
		if len(ports) < 3 {
			return nil, fmt.Errorf("bind: Address already in use")
		}
		return &Process{Name: "fake", Addr: fmt.Sprintf("127.0.0.1:%d", port)}, nil
	})
	if err != nil || p == nil || len(ports) != 3 {
		t.Fatalf("process %v, err %v after ports %v; want a start on the third", p, err, ports)
	}
	calls := 0
	_, err = startOnFreePort(func(int) (*Process, error) { calls++; return nil, fmt.Errorf("no such file") })
	if err == nil || calls != 1 {
		t.Errorf("err %v after %d calls, want the failure after one", err, calls)
	}
}
