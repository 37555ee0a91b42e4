//go:build linux && !cgo

package rootless

// canEnter is false: without cgo there is no constructor to join a user
// namespace before Go's runtime starts its threads (see nsenter_cgo.go).
const canEnter = false
