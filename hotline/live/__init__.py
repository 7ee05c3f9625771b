"""Live events for browsers and the supervisor's wallboard: the router's events turned into a
numbered, resumable stream per browser page, filtered by role, over a snapshot that the same
events keep up to date."""
