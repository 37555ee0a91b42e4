// Package check is the vocabulary of lepton's consistency checks: each
// package that owns state (containers, networks, volumes, images) has a
// Check function that walks what it owns and returns Problems, repairing
// them when asked. lepton-system's "check" puts them together.
//
// A repair never touches a running container, an object another lepton is
// still working on (its worker process lives), or anything lepton did not
// make; each decision to remove is taken again under the lock that the
// commands creating that object hold.
package check

import "fmt"

// Problem is one inconsistency.
type Problem struct {
	Area   string `json:"area"`   // containers, networks, volumes, images
	Kind   string `json:"kind"`   // a short stable word: stale-claim, orphan-dir, ...
	Object string `json:"object"` // what it is about: a name, an ID, a path
	Detail string `json:"detail"` // what is wrong, and what the repair does
	// Repaired is set when a repair was asked for and done; Error when it
	// was asked for and failed.
	Repaired bool   `json:"repaired"`
	Error    string `json:"error,omitempty"`
}

// String is the one-line form: "containers: stale-claim web: ...".
func (p Problem) String() string {
	s := fmt.Sprintf("%s: %s %s: %s", p.Area, p.Kind, p.Object, p.Detail)
	switch {
	case p.Error != "":
		s += " (repair failed: " + p.Error + ")"
	case p.Repaired:
		s += " (repaired)"
	}
	return s
}

// Report collects problems for one area.
type Report struct {
	Area     string
	Repair   bool
	Problems []Problem
}

// Add records a problem; when the report repairs, it runs fix and records
// the outcome. fix may be nil for problems that are only reported.
func (r *Report) Add(kind, object, detail string, fix func() error) {
	p := Problem{Area: r.Area, Kind: kind, Object: object, Detail: detail}
	if r.Repair && fix != nil {
		if err := fix(); err != nil {
			p.Error = err.Error()
		} else {
			p.Repaired = true
		}
	}
	r.Problems = append(r.Problems, p)
}
