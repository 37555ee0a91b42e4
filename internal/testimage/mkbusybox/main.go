// Command mkbusybox writes the busybox test image as an OCI archive, for
// trying lepton by hand without a registry:
//
//	go run ./internal/testimage/mkbusybox busybox.tar && ctr images import busybox.tar
package main

import (
	"fmt"
	"os"

	"github.com/lepton-project/lepton/internal/testimage"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mkbusybox OUTPUT.tar")
		os.Exit(2)
	}
	img, err := testimage.Busybox()
	if err == nil {
		err = testimage.WriteOCI(img, os.Args[1], testimage.LocalName)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkbusybox:", err)
		os.Exit(1)
	}
}
