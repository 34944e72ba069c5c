package stage_test

import "time"

func sleepBriefly() { time.Sleep(100 * time.Millisecond) }
