"""The live call path: from a caller's INVITE (or a callback) through the IVR, the router's queue
and offers to agents' phones, to bridged audio, transfers, recordings and the last hang-up; and
`hotline serve`, which runs it. `service.CallService` is the entry point; each call is a
`call.LiveCall` actor; `legs` hides how a party is reached (SIP phones now, browsers next);
`events` are what the call layer writes in a contact's log. Importing this package opens nothing."""
