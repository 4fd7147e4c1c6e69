"""Business calendars: working hours and public holidays that the internal SLA clock counts on."""
