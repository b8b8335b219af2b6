//go:build race

package login_test

// raceEnabled: the test binary runs with the race detector.
const raceEnabled = true
