"""People who sign in: agents, supervisors, admins, field workers and department specialists."""
