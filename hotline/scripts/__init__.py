"""Agent scripts and forms: the guided steps an agent follows for a topic (a pure runner), the
topic's form (a JSON Schema), both versioned, and what each contact's agents answered in them."""
