"""Pure transforms: bytes and records in, Arrow tables out. No I/O, no clock, no environment."""
