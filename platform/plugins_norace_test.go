//go:build !race

package platform_test

// raceEnabled is false: the plugin tests compile modules, as nodes do.
const raceEnabled = false
