"""groundswell: wiring, application services, CLI and (later) HTTP for the domain."""
