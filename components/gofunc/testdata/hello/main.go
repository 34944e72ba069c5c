// Command hello is the gofunc tests' stand-in function: a tiny main package that builds fast.
package main

import "fmt"

func main() { fmt.Println("hello from bootstrap") }
