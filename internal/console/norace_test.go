//go:build !race

package console_test

// raceEnabled: the test binary runs with the race detector.
const raceEnabled = false
