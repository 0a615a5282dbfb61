//go:build !race

package main

// raceEnabled is false: the test node compiles plugins, as nodes do.
const raceEnabled = false
