"""IVR flows (versioned data, validated on load) and the pure interpreter that runs a call through
one."""
