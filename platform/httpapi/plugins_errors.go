package httpapi

// PluginError ties a failure to the plugin version that caused it, so the
// API answer carries details.plugin ("name@3") beside its code. The code
// comes from the wrapped error (plugins.ErrPluginFailed → plugin_failed,
// plugins.ErrInvalidModule → invalid_plugin, meta.ErrUnknownPlugin →
// unknown_plugin, ...). The message is the wrapped error's, which already
// names the plugin where the plugins package produced it.
type PluginError struct {
	// Plugin is "name@version" (or just "name" when no version resolved).
	Plugin string
	// Err is the failure.
	Err error
}

func (e *PluginError) Error() string { return e.Err.Error() }

// Unwrap returns the failure, for errors.Is and errors.As.
func (e *PluginError) Unwrap() error { return e.Err }
