package cli_test

import (
	"fmt"
	"strings"

	"github.com/lepton-project/lepton/common/cli"
)

// Docker's rule: values of one key are alternatives, different keys must
// all hold.
func ExampleFilters() {
	f, err := cli.ParseFilters([]string{"name=web", "name=db", "status=running"}, "name", "status")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range []struct{ name, status string }{{"web-1", "running"}, {"db", "exited"}, {"cache", "running"}} {
		ok := f.Match("name", func(v string) bool { return strings.Contains(c.name, v) }) &&
			f.Match("status", func(v string) bool { return v == c.status })
		fmt.Println(c.name, ok)
	}
	_, err = cli.ParseFilters([]string{"colour=red"}, "name", "status")
	fmt.Println(err)
	// Output:
	// web-1 true
	// db false
	// cache false
	// unknown filter "colour": use name= or status=
}
