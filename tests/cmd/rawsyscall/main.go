// Command rawsyscall makes one system call by number and prints its
// errno ("errno 38") or "ok", for the seccomp tests: `rawsyscall NR
// [ARG...]`, arguments in decimal or 0x hex.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) < 2 || len(os.Args) > 8 {
		fmt.Fprintln(os.Stderr, "usage: rawsyscall NR [ARG...]")
		os.Exit(2)
	}
	var v [7]uintptr
	for i, s := range os.Args[1:] {
		n, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rawsyscall:", err)
			os.Exit(2)
		}
		v[i] = uintptr(n)
	}
	_, _, errno := syscall.Syscall6(v[0], v[1], v[2], v[3], v[4], v[5], v[6])
	if errno != 0 {
		fmt.Printf("errno %d\n", int(errno))
		return
	}
	fmt.Println("ok")
}
