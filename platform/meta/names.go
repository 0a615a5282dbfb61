package meta

// Limits on names and counts that Apply enforces.
const (
	// MaxTopicNameLen is Kafka's limit.
	MaxTopicNameLen = 249
	// MaxPluginNameLen bounds plugin names.
	MaxPluginNameLen = 128
	// MaxPartitions bounds a topic's partition count.
	MaxPartitions = 10000
	// MaxTopicIDLen bounds a topic id.
	MaxTopicIDLen = 64
)

// ValidTopicID reports whether id matches [a-zA-Z0-9_-]{1,64}: a topic id
// is part of a directory name, so it never holds a '.' or a separator.
func ValidTopicID(id string) bool {
	if len(id) == 0 || len(id) > MaxTopicIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ValidTopicName reports whether name matches [a-zA-Z0-9._-]{1,249} and is
// not "." or "..".
func ValidTopicName(name string) bool {
	return validName(name, MaxTopicNameLen) && name != "." && name != ".."
}

func validPluginName(name string) bool {
	return validName(name, MaxPluginNameLen) && name != "." && name != ".."
}

func validName(name string, max int) bool {
	if len(name) == 0 || len(name) > max {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
