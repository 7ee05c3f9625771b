"""Business hours and holidays: calendars with a time zone, used by lines and queues."""
