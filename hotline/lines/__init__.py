"""Lines: the hotline's numbers (DIDs), public or departmental."""
