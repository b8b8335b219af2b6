//go:build race

package server_test

// raceEnabled: the test binary runs with the race detector.
const raceEnabled = true
