//go:build race

package main

// raceEnabled: under the race detector the test node runs plugins in
// wazero's interpreter, since its compiler takes tens of seconds per Go
// module there.
const raceEnabled = true
