"""Channel adapters: each translates its platform to and from the core's neutral messages."""
