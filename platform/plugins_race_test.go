//go:build race

package platform_test

// raceEnabled: under the race detector the plugin tests run modules in
// wazero's interpreter (Config.PluginInterpreter), since its compiler
// takes tens of seconds per Go module there. The compiler is exercised by
// the same tests without -race.
const raceEnabled = true
