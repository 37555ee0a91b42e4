package text_test

import (
	"fmt"

	"github.com/lepton-project/lepton/common/text"
)

// Plain names print as they are; anything that could act on a terminal or
// blur where the name ends is quoted.
func ExampleQuote() {
	fmt.Println("no such container: " + text.Quote("web"))
	fmt.Println("no such container: " + text.Quote("web\x1b[2J"))
	fmt.Println("no such container: " + text.Quote("my web"))
	// Output:
	// no such container: web
	// no such container: "web\x1b[2J"
	// no such container: "my web"
}
