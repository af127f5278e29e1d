"""Application services: load aggregates, call the domain, save in one transaction."""
