//go:build !unix

package main

// lockFile is a no-op where advisory file locks are not available: concurrent commands
// of one profile may then race on refreshing its token.
func lockFile(path string) (unlock func(), err error) {
	return func() {}, nil
}
