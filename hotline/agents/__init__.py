"""The agent desktop's server side: agents' state and phone, call control, wrap-up, screen pop."""
