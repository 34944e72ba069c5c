// Command probe is a function for the pool's tests: it sleeps, crashes or answers with its
// process id and when it started and ended the request.
package main

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	SleepMs int  `json:"sleepMs"`
	Crash   bool `json:"crash"`
	// Headers are an HTTP event's: x-sleep-ms sleeps too.
	Headers map[string]string `json:"headers"`
}

type answer struct {
	Pid   int       `json:"pid"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Env   string    `json:"env"`
}

func main() {
	lambda.Start(func(_ context.Context, ev event) (answer, error) {
		a := answer{Pid: os.Getpid(), Start: time.Now(), Env: os.Getenv("PROBE")}
		if ev.Crash {
			os.Exit(2)
		}
		if ms, err := strconv.Atoi(ev.Headers["x-sleep-ms"]); err == nil {
			ev.SleepMs = ms
		}
		time.Sleep(time.Duration(ev.SleepMs) * time.Millisecond)
		a.End = time.Now()
		return a, nil
	})
}
